#!/usr/bin/env python3
"""Make testdata/corpus/starttls/*.pcap: real TLS upgrades on loopback.

Python's own clients (smtplib.starttls, imaplib.starttls, poplib.stls,
ftplib.FTP_TLS.auth, http.client through a CONNECT tunnel) against small
servers here that answer the upgrade and wrap the socket in TLS with a
throwaway self-signed certificate; tcpdump records each (needs root).
Check with: tshark -r FILE -Y tls.handshake.type==1 -T fields -e tls.handshake.extensions_server_name
usage: scripts/mkstarttls.py [OUTDIR]
"""
import os, socket, sys
import smtplib, imaplib, poplib, ftplib

from looplab import capture, cctx, lines, serve, tls_tail

out = sys.argv[1] if len(sys.argv) > 1 else "testdata/corpus/starttls"
os.makedirs(out, exist_ok=True)


def smtp(s):
    s.sendall(b"220 mail.lab ESMTP\r\n")
    for l in lines(s):
        v = l.split(" ")[0].upper()
        if v in ("EHLO", "HELO"):
            s.sendall(b"250-mail.lab\r\n250 STARTTLS\r\n")
        elif v == "STARTTLS":
            s.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            return tls_tail(s)


def imap(s):
    s.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
    for l in lines(s):
        tag, cmd = (l.split(" ") + [""])[:2]
        if cmd.upper() == "CAPABILITY":
            s.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag.encode() + b" OK done\r\n")
        elif cmd.upper() == "STARTTLS":
            s.sendall(tag.encode() + b" OK Begin TLS negotiation now\r\n")
            return tls_tail(s)


def pop3(s):
    s.sendall(b"+OK POP3 ready\r\n")
    for l in lines(s):
        if l.upper() == "STLS":
            s.sendall(b"+OK Begin TLS\r\n")
            return tls_tail(s)
        if l.upper() == "CAPA":
            s.sendall(b"+OK\r\nSTLS\r\n.\r\n")
        else:
            s.sendall(b"-ERR\r\n")


def ftp(s):
    s.sendall(b"220 FTP ready\r\n")
    for l in lines(s):
        if l.upper().startswith("AUTH"):
            s.sendall(b"234 AUTH TLS successful\r\n")
            return tls_tail(s)
        s.sendall(b"500 ?\r\n")


def proxy(s):
    for l in lines(s):
        if l == "":
            s.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            return tls_tail(s)


def c_smtp(p):
    c = smtplib.SMTP("127.0.0.1", p, local_hostname="client.lab")
    c.starttls(context=cctx)


def c_imap(p):
    c = imaplib.IMAP4("127.0.0.1", p)
    c.starttls(ssl_context=cctx)


def c_pop3(p):
    c = poplib.POP3("127.0.0.1", p)
    c.stls(context=cctx)


def c_ftp(p):
    c = ftplib.FTP_TLS(context=cctx)
    c.connect("127.0.0.1", p)
    c.auth()


def c_connect(p):
    s = socket.create_connection(("127.0.0.1", p))
    s.sendall(b"CONNECT www.lab.test:443 HTTP/1.1\r\nHost: www.lab.test:443\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(100)
    cctx.wrap_socket(s, server_hostname="www.lab.test").close()


# The server name each client sends, for the ClientHello's SNI.
for name, port, srv, cli in [("smtp", 18025, smtp, c_smtp), ("imap", 18143, imap, c_imap),
                             ("pop3", 18110, pop3, c_pop3), ("ftp", 18021, ftp, c_ftp),
                             ("connect", 18080, proxy, c_connect)]:
    serve(port, srv)
    capture(out, name + "-starttls", port, cli)
