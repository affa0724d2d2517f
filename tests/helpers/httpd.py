#!/usr/bin/python3
"""httpd.py - a loopback HTTP(S) server for jobrun's tests (reports and job tarballs by URL).

Listens on 127.0.0.1 only. Started and stopped by the tests (kill by the PID it writes).

  --port-file F        the bound port is written there once the server listens
  --port N             the port (default 0: any free one)
  --pid-file F         its PID
  --tls-cert C --tls-key K   HTTPS with that certificate
  --log F              one JSON line per request: t, method, path, status, idempotency_key,
                       authorization, body_len, body_sha256, client_cert (subject CN or null)
  --bodies DIR         each POST body saved as DIR/<n>.json
  --root DIR           GET /files/NAME serves DIR/NAME
  --responses LIST     statuses answered to POSTs in turn, e.g. 500,500,500,200; the last one
                       repeats (default 200)
  --delay S            seconds to wait before answering a POST
  --hang               accept POSTs and never answer them
  --client-ca F        ask for a client certificate signed by F (required)

GET paths: /files/NAME; /zero/N (N zero bytes, Content-Length N); /zero/N?chunked=1 (no
Content-Length); /zero/N?lie=M (declares M); /redirect?to=URL (302); /hang (never answers).
"""
import argparse
import hashlib
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATE = {"posts": 0}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSON log says what happened
        pass

    def record(self, status, body=b""):
        if not ARGS.log:
            return
        cert = None
        try:
            peer = self.connection.getpeercert()
            if peer:
                for rdn in peer.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cert = v
        except (AttributeError, ValueError):
            pass
        line = {
            "t": time.time(), "method": self.command, "path": self.path, "status": status,
            "idempotency_key": self.headers.get("Idempotency-Key"),
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
            "client_cert": cert,
        }
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(line) + "\n")

    def hang(self):
        while True:
            time.sleep(3600)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with LOCK:
            k = STATE["posts"]
            STATE["posts"] += 1
        if ARGS.hang:
            self.record(0, body)
            self.hang()
        if ARGS.delay:
            time.sleep(ARGS.delay)
        seq = ARGS.responses
        status = seq[min(k, len(seq) - 1)]
        if ARGS.bodies and 200 <= status < 300:
            with open(os.path.join(ARGS.bodies, "%d.json" % k), "wb") as f:
                f.write(body)
        self.record(status, body)
        reply = b'{"ok":true}\n' if status < 300 else b'{"ok":false}\n'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        parts = u.path.split("/")
        if u.path == "/hang":
            self.record(0)
            self.hang()
        if u.path == "/redirect" and "to" in q:
            self.record(302)
            self.send_response(302)
            self.send_header("Location", q["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if len(parts) == 3 and parts[1] == "zero" and parts[2].isdigit():
            n = int(parts[2])
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            chunked = "chunked" in q
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", q["lie"][0] if "lie" in q else str(n))
            self.end_headers()
            block = bytes(65536)
            try:
                while n > 0:
                    b = block[:min(n, len(block))]
                    if chunked:
                        self.wfile.write(b"%x\r\n" % len(b) + b + b"\r\n")
                    else:
                        self.wfile.write(b)
                    n -= len(b)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            self.close_connection = True
            return
        if len(parts) == 3 and parts[1] == "files" and ARGS.root and parts[2] not in ("", ".", ".."):
            try:
                with open(os.path.join(ARGS.root, parts[2]), "rb") as f:
                    data = f.read()
            except OSError:
                data = None
            if data is not None:
                self.record(200)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        self.record(404)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--pid-file")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca")
    p.add_argument("--log")
    p.add_argument("--bodies")
    p.add_argument("--root")
    p.add_argument("--responses", default="200")
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--hang", action="store_true")
    ARGS = p.parse_args()
    ARGS.responses = [int(x) for x in ARGS.responses.split(",")]
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        if ARGS.client_ca:
            ctx.load_verify_locations(ARGS.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if ARGS.pid_file:
        with open(ARGS.pid_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(ARGS.pid_file + ".tmp", ARGS.pid_file)
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
