#!/bin/sh
# Makes the HTTP stream captures in testdata/corpus/http from real peers on
# loopback (needs root for tcpdump): Python's HTTP/1.1 server, a client that
# pipelines 40 requests in one write, and curl fetching 60 URLs over one
# keep-alive connection. Check them with:
#   tshark -r testdata/corpus/http/pipelined.pcap -Y http.request | wc -l   (40)
#   tshark -r testdata/corpus/http/keepalive.pcap -Y http.response | wc -l  (60)
set -eu
out=${1:-testdata/corpus/http}
port=18081
mkdir -p "$out"
python3 - "$port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = (self.path * 200).encode()[:3000]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
sleep 1
cap() { # name, command
	tcpdump -i lo -U -s 0 -w "$out/$1.pcap" "tcp port $port" 2>/dev/null &
	td=$!
	sleep 1
	sh -c "$2"
	sleep 1
	kill -INT $td
	wait $td || true
}
cap pipelined "python3 -c '
import socket
s = socket.create_connection((\"127.0.0.1\", $port))
s.sendall(b\"\".join(b\"GET /p%d HTTP/1.1\\r\\nHost: lab\\r\\nUser-Agent: pipe\\r\\n\\r\\n\" % i for i in range(40)))
got = b\"\"
while got.count(b\"HTTP/1.1 200\") < 40 or not got.endswith(b\"/p39\"[-1:]):
    d = s.recv(65536)
    if not d: break
    got += d
    if got.count(b\"HTTP/1.1 200\") == 40 and len(got) > 40 * 3000: break
s.close()
'"
cap keepalive "curl -s -o /dev/null -o /dev/null 'http://127.0.0.1:$port/k[1-60]' -o '/dev/null'"
