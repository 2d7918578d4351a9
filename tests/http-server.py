#!/usr/bin/env python3
"""A small HTTP server for the fetch tests: good files and misbehaving ones.

usage: http-server.py ROOT [CERT KEY]

Binds 127.0.0.1 on a free port (https with CERT and KEY, PEM files), prints
the port on one line, then serves files under ROOT:

  /ok/NAME            the file
  /long/NAME          the file and 1000 bytes more (Content-Length says so)
  /endless/NAME       the file, then bytes without end (no Content-Length)
  /wrong/NAME         as many bytes as the file, its first byte changed
  /short/NAME         the file without its last byte (Content-Length says so)
  /drop/NAME          Content-Length of the file, half of it, connection closed
  /drop-once/NAME     like /drop the first time, then the file
  /reset-once/NAME    half the file then a TCP reset the first time, then the file
  /flaky/N/NAME       503 for the first N requests of this path, then the file
  /busy/NAME          the first time 503 with "Retry-After: 1", then the file
  /stall/NAME         half the file, then nothing for 30 s
  /slow/NAME          the file, after a second's wait
  /status/CODE        that status, empty body
  /redirect?to=URL    302 to URL
  /count/PATH         how many requests PATH has had so far (text)
"""
import http.server
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

ROOT = sys.argv[1]
counts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: bats captures stderr
        pass

    def body(self, name):
        path = os.path.join(ROOT, urllib.parse.unquote(name))
        with open(path, "rb") as f:
            return f.read()

    def send(self, code, data, length=None, close=False):
        self.send_response(code)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        with lock:
            counts[path] = counts.get(path, 0) + 1
            seen = counts[path]
        kind, _, rest = path.lstrip("/").partition("/")
        try:
            if kind == "ok":
                self.send(200, self.body(rest))
            elif kind == "long":
                self.send(200, self.body(rest) + b"x" * 1000)
            elif kind == "endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(self.body(rest))
                chunk = b"y" * 65536
                while True:  # until the client hangs up
                    self.wfile.write(chunk)
                self.close_connection = True
            elif kind == "wrong":
                data = bytearray(self.body(rest))
                data[0] ^= 0xFF
                self.send(200, bytes(data))
            elif kind == "short":
                data = self.body(rest)
                self.send(200, data[:-1])
            elif kind == "drop" or (kind == "drop-once" and seen == 1):
                data = self.body(rest)
                self.send(200, data[: len(data) // 2], length=len(data), close=True)
                self.close_connection = True
            elif kind == "drop-once":
                self.send(200, self.body(rest))
            elif kind == "reset-once" and seen == 1:
                data = self.body(rest)
                self.send(200, data[: len(data) // 2], length=len(data))
                # SO_LINGER with a zero timeout: close sends RST, not FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
            elif kind == "reset-once":
                self.send(200, self.body(rest))
            elif kind == "flaky":
                n, _, name = rest.partition("/")
                if seen <= int(n):
                    self.send(503, b"")
                else:
                    self.send(200, self.body(name))
            elif kind == "stall":
                data = self.body(rest)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                time.sleep(30)
                self.close_connection = True
            elif kind == "busy" and seen == 1:
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "busy":
                self.send(200, self.body(rest))
            elif kind == "slow":
                time.sleep(1)
                self.send(200, self.body(rest))
            elif kind == "status":
                self.send(int(rest), b"")
            elif kind == "redirect":
                to = urllib.parse.parse_qs(url.query)["to"][0]
                self.send_response(302)
                self.send_header("Location", to)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "count":
                with lock:
                    n = counts.get("/" + rest, 0)
                self.send(200, b"%d\n" % n)
            else:
                self.send(404, b"")
        except FileNotFoundError:
            self.send(404, b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
if len(sys.argv) > 3:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
