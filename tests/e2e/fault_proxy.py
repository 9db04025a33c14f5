#!/usr/bin/env python3
"""An HTTP proxy for the remote tests, standard library only, in front of an S3 server.

usage: fault_proxy.py UPSTREAM_PORT STATE_DIR MODE

Listens on a free loopback port, written to STATE_DIR/port once ready. Every request is forwarded
unchanged (the Host header too, so SigV4 signatures stay valid) unless MODE says otherwise:
  fail:N     every Nth request fails, alternately with a 503 SlowDown and a dropped connection
  corrupt    object downloads (GET .../objects/...) arrive with their first byte changed
  delay:S    every request waits S seconds first (to interrupt a transfer half-way)
  pass       nothing injected
STATE_DIR/faults and STATE_DIR/puts count injected faults and forwarded PUTs.
"""
import http.client
import http.server
import os
import sys
import threading
import time

upstream_port = int(sys.argv[1])
state_dir = sys.argv[2]
mode = sys.argv[3]
lock = threading.Lock()
counters = {"requests": 0, "faults": 0, "puts": 0}


def bump(name):
    with lock:
        counters[name] += 1
        value = counters[name]
        if name != "requests":
            with open(os.path.join(state_dir, name + ".tmp"), "w") as f:
                f.write(str(value))
            os.replace(os.path.join(state_dir, name + ".tmp"), os.path.join(state_dir, name))
        return value


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        n = bump("requests")
        if mode.startswith("delay:"):
            time.sleep(float(mode.split(":")[1]))
        if mode.startswith("fail:") and n % int(mode.split(":")[1]) == 0:
            faults = bump("faults")
            if faults % 2 == 0:
                self.close_connection = True  # no response at all: a dropped connection
                return
            payload = b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return
        if self.command == "PUT":
            bump("puts")
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        conn.request(self.command, self.path, body=body if self.command in ("PUT", "POST") else None,
                     headers=headers)
        response = conn.getresponse()
        data = response.read()
        if mode == "corrupt" and self.command == "GET" and "/objects/" in self.path and response.status == 200 and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
            bump("faults")
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(os.path.join(state_dir, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.replace(os.path.join(state_dir, "port.tmp"), os.path.join(state_dir, "port"))
server.serve_forever()
