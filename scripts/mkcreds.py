#!/usr/bin/env python3
"""Make testdata/corpus/creds/*.pcap: logins in clear by real clients, and
the PostgreSQL SSLRequest and LDAP StartTLS upgrades, on loopback.

Clients: Python's poplib and imaplib (AUTH XOAUTH2, AUTH PLAIN,
AUTHENTICATE XOAUTH2), smtplib (AUTH PLAIN, AUTH LOGIN), curl -d and --json (HTTP form and JSON logins), curl -x socks5://
(RFC 1929), redis-cli (AUTH), ldapsearch -x (simple bind) and -ZZ
(StartTLS), psql (cleartext password; sslmode=require). Servers: small
ones here that answer as the real ones do (accept one secret, refuse the
rest) and, for the upgrades, wrap the socket in TLS with a throwaway
self-signed certificate. tcpdump records each (needs root).
Needs: tcpdump curl ldap-utils redis-tools postgresql-client openssl.
Check with: tshark -r FILE -V (tshark dissects POP, IMAP, HTTP urlencoded
forms, SOCKS, LDAP, RESP and PGSQL).
hydra (-t 1, four passwords, the last one right) brute-forces the HTTP
form, Redis, LDAP and SOCKS5 servers.
usage: [MKCREDS_ONLY="name ..."] scripts/mkcreds.py [OUTDIR]
"""
import base64, http.server, os, socket, struct, subprocess, sys, threading
import imaplib, poplib, smtplib

from looplab import capture, lines, serve, tls_tail, tmp

out = sys.argv[1] if len(sys.argv) > 1 else "testdata/corpus/creds"
os.makedirs(out, exist_ok=True)

TOKEN = "ya29.lab-token-0123456789"


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


# --- POP3 and IMAP: SASL XOAUTH2 and PLAIN ------------------------------

def sasl_ok(resp):
    d = base64.b64decode(resp)
    return TOKEN.encode() in d or d.endswith(b"\0secret")


def pop3(s):
    s.sendall(b"+OK POP3 ready\r\n")
    it = lines(s)
    for l in it:
        f = l.split(" ")
        if f[0].upper() == "AUTH" and len(f) >= 2:
            resp = f[2] if len(f) > 2 else None
            if resp is None:
                s.sendall(b"+ \r\n")
                resp = next(it)
            if sasl_ok(resp):
                s.sendall(b"+OK Logged in.\r\n")
            elif f[1].upper() == "XOAUTH2":
                # As Gmail and Dovecot: an error challenge, then -ERR
                # after the client's empty response.
                s.sendall(b"+ " + base64.b64encode(b'{"status":"401","schemes":"bearer"}') + b"\r\n")
                next(it)
                s.sendall(b"-ERR [AUTH] Authentication failed.\r\n")
            else:
                s.sendall(b"-ERR [AUTH] Authentication failed.\r\n")
        elif f[0].upper() == "QUIT":
            s.sendall(b"+OK Bye\r\n")
            return
        else:
            s.sendall(b"-ERR ?\r\n")


def imap(s):
    s.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN] ready\r\n")
    it = lines(s)
    for l in it:
        f = l.split(" ")
        tag, cmd = f[0].encode(), f[1].upper() if len(f) > 1 else ""
        if cmd == "CAPABILITY":
            s.sendall(b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        elif cmd == "AUTHENTICATE":
            s.sendall(b"+ \r\n")
            resp = next(it)
            if sasl_ok(resp):
                s.sendall(tag + b" OK Logged in\r\n")
            else:
                s.sendall(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
        elif cmd == "LOGOUT":
            s.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
            return
        else:
            s.sendall(tag + b" BAD ?\r\n")


def xoauth2(user, token):
    return "user=%s\x01auth=Bearer %s\x01\x01" % (user, token)


def c_pop3(p):
    c = poplib.POP3("127.0.0.1", p)
    c._shortcmd("AUTH XOAUTH2 " + base64.b64encode(xoauth2("alice@lab.test", TOKEN).encode()).decode())
    c.quit()
    c = poplib.POP3("127.0.0.1", p)
    c._putcmd("AUTH XOAUTH2 " + base64.b64encode(xoauth2("bob@lab.test", "ya29.expired").encode()).decode())
    c._getline()  # the error challenge
    c._putcmd("")
    try:
        c._getresp()
    except poplib.error_proto:
        pass
    c.quit()
    c = poplib.POP3("127.0.0.1", p)
    c._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0carol\0secret").decode())
    c.quit()


def c_imap(p):
    c = imaplib.IMAP4("127.0.0.1", p)
    c.authenticate("XOAUTH2", lambda _: xoauth2("dave@lab.test", TOKEN).encode())
    c.logout()
    c = imaplib.IMAP4("127.0.0.1", p)
    try:
        c.authenticate("XOAUTH2", lambda _: xoauth2("erin@lab.test", "ya29.revoked").encode())
    except imaplib.IMAP4.error:
        pass
    c.logout()


# --- SMTP: AUTH PLAIN and AUTH LOGIN -------------------------------------

def smtp(s):
    s.sendall(b"220 mx.lab.test ESMTP ready\r\n")
    it = lines(s)
    for l in it:
        f = l.split(" ")
        cmd = f[0].upper()
        if cmd in ("EHLO", "HELO"):
            s.sendall(b"250-mx.lab.test\r\n250 AUTH PLAIN LOGIN\r\n")
        elif cmd == "AUTH" and len(f) >= 2 and f[1].upper() == "PLAIN":
            resp = f[2] if len(f) > 2 else None
            if resp is None:
                s.sendall(b"334 \r\n")
                resp = next(it)
            ok = base64.b64decode(resp).endswith(b"\0secret")
            s.sendall(b"235 2.7.0 Authentication successful\r\n" if ok else b"535 5.7.8 Authentication failed\r\n")
        elif cmd == "AUTH" and len(f) >= 2 and f[1].upper() == "LOGIN":
            s.sendall(b"334 VXNlcm5hbWU6\r\n")
            next(it)
            s.sendall(b"334 UGFzc3dvcmQ6\r\n")
            ok = base64.b64decode(next(it)) == b"secret"
            s.sendall(b"235 2.7.0 Authentication successful\r\n" if ok else b"535 5.7.8 Authentication failed\r\n")
        elif cmd == "QUIT":
            s.sendall(b"221 2.0.0 Bye\r\n")
            return
        else:
            s.sendall(b"502 5.5.2 ?\r\n")


def c_smtp(p):
    # Python's smtplib, as a mail client or a script sends: AUTH PLAIN
    # with the wrong password, then AUTH LOGIN with the right one.
    for mech, user, pw in [("PLAIN", "frank@lab.test", "wrong"), ("LOGIN", "frank@lab.test", "secret")]:
        c = smtplib.SMTP("127.0.0.1", p)
        c.ehlo("client.lab.test")
        c.user, c.password = user, pw
        try:
            c.auth(mech, getattr(c, "auth_" + mech.lower()), initial_response_ok=mech == "PLAIN")
        except smtplib.SMTPAuthenticationError:
            pass
        c.quit()


# --- HTTP form logins ----------------------------------------------------

class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(200, b"<form method=post><input name=username><input type=password name=password></form>")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if b"secret" in body:
            self.reply(302, extra=[("Location", "/home"), ("Set-Cookie", "sid=1")])
        elif self.path.startswith("/api"):
            self.reply(401, b"denied")
        else:
            self.reply(200, b"<p>Invalid login</p><form method=post></form>")


def c_http(p):
    base = "http://127.0.0.1:%d" % p
    for args in (["-d", "username=admin&password=secret", base + "/login"],
                 ["-d", "log=admin&pwd=hunter2&wp-submit=Log+In&redirect_to=%2Fwp-admin%2F", base + "/wp-login.php"],
                 ["--data-urlencode", "login[email]=eve@lab.test", "--data-urlencode", "login[password]=p&ss w=rd",
                  base + "/api/session"],
                 ["--json", '{"user":{"email":"api@lab.test","password":"secret"},"remember":true}', base + "/api/login"],
                 ["-d", "q=password+reset&page=2", base + "/search"],
                 ["-F", "username=admin", "-F", "password=secret", base + "/upload"]):
        subprocess.run(["curl", "-s", "-o", "/dev/null"] + args, check=True)


# --- SOCKS5 with username/password (RFC 1929) ----------------------------

def socks(s):
    n = recvn(s, 2)[1]
    methods = recvn(s, n)
    if 2 not in methods:
        s.sendall(b"\x05\xff")
        return
    s.sendall(b"\x05\x02")
    ul = recvn(s, 2)[1]
    user = recvn(s, ul)
    pw = recvn(s, recvn(s, 1)[0])
    if pw != b"s3cret":
        s.sendall(b"\x01\x01")
        return
    s.sendall(b"\x01\x00")
    ver, cmd, _, atyp = recvn(s, 4)
    if atyp == 1:
        host = socket.inet_ntoa(recvn(s, 4))
    elif atyp == 3:
        host = recvn(s, recvn(s, 1)[0]).decode()
    else:
        host = socket.inet_ntop(socket.AF_INET6, recvn(s, 16))
    port = struct.unpack(">H", recvn(s, 2))[0]
    up = socket.create_connection(("127.0.0.1" if host == "localhost" else host, port))
    s.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", up.getsockname()[1]))

    def pipe(a, b):
        try:
            while True:
                d = a.recv(4096)
                if not d:
                    break
                b.sendall(d)
        except Exception:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except Exception:
            pass
    t = threading.Thread(target=pipe, args=(up, s), daemon=True)
    t.start()
    pipe(s, up)
    t.join(5)
    up.close()


def c_socks(p):
    web = "http://127.0.0.1:18081/"
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-x", "socks5://lab:s3cret@127.0.0.1:%d" % p, web], check=True)
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-x", "socks5h://lab:wrong@127.0.0.1:%d" % p,
                    "http://localhost:18081/"])


# --- Redis AUTH ------------------------------------------------------------

def resp_cmds(s):
    f = s.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            return
        if line[:1] == b"*":
            args = []
            for _ in range(int(line[1:])):
                n = int(f.readline()[1:])
                args.append(f.read(n + 2)[:-2].decode())
            yield args
        else:
            yield line.decode().split()


def redis(s):
    authed = False
    for args in resp_cmds(s):
        cmd = args[0].upper()
        if cmd == "AUTH":
            if args[-1] == "secret":
                authed = True
                s.sendall(b"+OK\r\n")
            else:
                s.sendall(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        elif not authed:
            s.sendall(b"-NOAUTH Authentication required.\r\n")
        elif cmd == "PING":
            s.sendall(b"+PONG\r\n")
        else:
            s.sendall(b"$5\r\nvalue\r\n")


def c_redis(p):
    env = dict(os.environ, REDISCLI_AUTH="")
    for args in (["-a", "secret", "--no-auth-warning", "PING"],
                 ["--user", "bob", "--pass", "wrong", "--no-auth-warning", "GET", "k"]):
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(p)] + args, env=env, capture_output=True)


# --- LDAP simple bind and StartTLS -----------------------------------------

def ber(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(nb)]) + nb + content


def ber_read(s):
    tag, l = recvn(s, 2)
    if l & 0x80:
        l = int.from_bytes(recvn(s, l & 0x7f), "big")
    return tag, recvn(s, l)


def ber_elems(b):
    out = []
    while b:
        tag, l, i = b[0], b[1], 2
        if l & 0x80:
            k = l & 0x7f
            l, i = int.from_bytes(b[2:2 + k], "big"), 2 + k
        out.append((tag, b[i:i + l]))
        b = b[i + l:]
    return out


def ldap_result(op, msgid, code, extra=b""):
    res = ber(0x0a, bytes([code])) + ber(0x04, b"") + ber(0x04, b"" if code == 0 else b"invalid credentials")
    return ber(0x30, ber(0x02, bytes([msgid])) + ber(op, res + extra))


def ldap(s):
    while True:
        _, msg = ber_read(s)
        (_, mid), (op, body) = ber_elems(msg)[:2]
        mid = mid[-1]
        if op == 0x60:
            _, name, (atag, auth) = ber_elems(body)
            ok = atag == 0x80 and (auth == b"secret" or auth == b"")
            s.sendall(ldap_result(0x61, mid, 0 if ok else 49))
        elif op == 0x77:
            s.sendall(ldap_result(0x78, mid, 0, ber(0x8a, b"1.3.6.1.4.1.1466.20037")))
            return tls_tail(s)
        elif op == 0x63:
            s.sendall(ldap_result(0x65, mid, 0))
        else:
            return


def c_ldap(p):
    base = ["ldapsearch", "-x", "-H", "ldap://127.0.0.1:%d" % p, "-b", "dc=lab,dc=test", "-LLL"]
    subprocess.run(base + ["-D", "cn=admin,dc=lab,dc=test", "-w", "secret", "(uid=alice)"], capture_output=True)
    subprocess.run(base + ["-D", "cn=admin,dc=lab,dc=test", "-w", "guess1"], capture_output=True)
    subprocess.run(base, capture_output=True)  # anonymous: no credential


def c_ldaps(p):
    env = dict(os.environ, LDAPTLS_REQCERT="never")
    subprocess.run(["ldapsearch", "-x", "-ZZ", "-H", "ldap://127.0.0.1:%d" % p, "-b", "dc=lab,dc=test",
                    "-D", "cn=admin,dc=lab,dc=test", "-w", "secret"], env=env, capture_output=True)


# --- PostgreSQL: SSLRequest and a cleartext password --------------------------

def pg_msg(t, body):
    return t + struct.pack(">I", len(body) + 4) + body


def pgsql(s):
    l, code = struct.unpack(">II", recvn(s, 8))
    if code == 80877103:
        s.sendall(b"S")
        return tls_tail(s)
    recvn(s, l - 8)  # the rest of the StartupMessage
    s.sendall(pg_msg(b"R", struct.pack(">I", 3)))  # AuthenticationCleartextPassword
    t = recvn(s, 1)
    n = struct.unpack(">I", recvn(s, 4))[0]
    pw = recvn(s, n - 4).rstrip(b"\0")
    if pw == b"secret":
        s.sendall(pg_msg(b"R", struct.pack(">I", 0)) + pg_msg(b"Z", b"I"))
        return
    s.sendall(pg_msg(b"E", b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"app\"\0\0"))


def c_pgsql(p):
    for sslmode, pw in (("disable", "secret"), ("disable", "wrong")):
        env = dict(os.environ, PGPASSWORD=pw, PGCONNECT_TIMEOUT="5")
        subprocess.run(["psql", "host=127.0.0.1 port=%d user=app dbname=app sslmode=%s" % (p, sslmode), "-c", "select 1"],
                       env=env, capture_output=True, timeout=20)


def c_pgssl(p):
    env = dict(os.environ, PGPASSWORD="secret", PGCONNECT_TIMEOUT="5")
    subprocess.run(["psql", "host=127.0.0.1 port=%d user=app dbname=app sslmode=require" % p, "-c", "select 1"],
                   env=env, capture_output=True, timeout=20)


# --- hydra: the brute-force tool against the same servers --------------------

WORDS = ["123456", "password", "letmein", "secret"]


def hydra(service, *extra, login="admin"):
    def run(p):
        wl = os.path.join(tmp, "words")
        with open(wl, "w") as f:
            f.write("\n".join(WORDS) + "\n")
        user = ["-l", login] if login else []
        subprocess.run(["hydra"] + user + ["-P", wl, "-t", "1", "-f", "-I", "-s", str(p), "127.0.0.1", service]
                       + list(extra), capture_output=True, timeout=120)
    return run


only = os.environ.get("MKCREDS_ONLY", "").split()
web = http.server.ThreadingHTTPServer(("127.0.0.1", 18081), Web)
threading.Thread(target=web.serve_forever, daemon=True).start()
for name, port, srv, cli in [("pop3-xoauth2", 18110, pop3, c_pop3), ("imap-xoauth2", 18143, imap, c_imap),
                             ("smtp-auth", 18025, smtp, c_smtp),
                             ("http-form", 18081, None, c_http), ("socks5-auth", 18108, socks, c_socks),
                             ("redis-auth", 18379, redis, c_redis), ("ldap-bind", 18389, ldap, c_ldap),
                             ("ldap-starttls", 18390, ldap, c_ldaps), ("pgsql-cleartext", 18432, pgsql, c_pgsql),
                             ("pgsql-sslrequest", 18433, pgsql, c_pgssl),
                             ("hydra-http-form", 18081, None,
                              hydra("http-post-form", "/login:username=^USER^&password=^PASS^:F=Invalid login")),
                             ("hydra-redis", 18380, redis, hydra("redis", login=None)),
                             ("hydra-ldap", 18391, ldap, hydra("ldap2", login="cn=admin,dc=lab,dc=test")),
                             ("hydra-socks5", 18109, socks, hydra("socks5", login="lab"))]:
    if only and name not in only:
        continue
    if srv:
        serve(port, srv)
    capture(out, name, port, cli)
