"""Shared parts of the scripts that record real clients against small
servers on loopback (mkcreds.py, mkstarttls.py): a throwaway self-signed
certificate, a threaded accept loop, line reading, the TLS tail of an
upgrade and the tcpdump recording around one client run (needs root).
"""
import os, socket, ssl, subprocess, tempfile, threading, time

tmp = tempfile.mkdtemp()
_crt, _key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", _key, "-out", _crt,
                "-days", "2", "-subj", "/CN=lab.test"], check=True, capture_output=True)
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(_crt, _key)
# The clients' side of an upgrade: the certificate is throwaway, so unchecked.
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cctx.check_hostname = False
cctx.verify_mode = ssl.CERT_NONE


def serve(port, handler):
    """Accept on 127.0.0.1:port forever, each connection in a thread."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen()

    def loop():
        while True:
            s, _ = ls.accept()
            threading.Thread(target=_guard, args=(handler, s), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def _guard(handler, s):
    try:
        handler(s)
    except Exception:
        pass
    finally:
        s.close()


def lines(s):
    f = s.makefile("rb")
    for line in f:
        yield line.decode().rstrip("\r\n")


def tls_tail(s):
    """Answer the client's ClientHello after an upgrade, then close."""
    t = sctx.wrap_socket(s, server_side=True)
    try:
        t.recv(100)
    except Exception:
        pass
    t.close()


def capture(out, name, port, client):
    """Record client(port) on lo into out/name.pcap with tcpdump."""
    td = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", os.path.join(out, name + ".pcap"),
                           "tcp port %d" % port], stderr=subprocess.DEVNULL)
    time.sleep(1)
    try:
        client(port)
    except Exception as e:
        print(name, "client:", e)
    time.sleep(1)
    td.terminate()
    td.wait()
