#!/usr/bin/python3
"""raw_ws.py - a WebSocket client that misbehaves on purpose, on a raw socket.

Libraries answer PINGs and read as fast as they can; to test the adapter's
idle timeout and slow-consumer handling a client must do neither. This one
does the HTTP upgrade itself (standard library only), sends the given text
frames (masked, as a client must), then:

  --mode idle   reads frames but never answers a PING; prints one line per
                frame ("ping", "text ...", "close CODE REASON") with the
                seconds since the upgrade, and "eof" when the server hangs up.
  --mode stall  reads until a text frame contains --until, prints "ready",
                then never reads again (its small receive buffer fills, so
                the server's send queue grows) and holds the socket for
                --hold seconds.

  raw_ws.py URL --mode idle|stall [--send TEXT]... [--until S] [--hold S]
            [--rcvbuf BYTES] [--timeout S]
"""
import argparse
import base64
import os
import socket
import struct
import sys
import time
from urllib.parse import urlsplit


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--mode", choices=["idle", "stall"], required=True)
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--until", default="subscribed")
    p.add_argument("--hold", type=float, default=10.0)
    p.add_argument("--rcvbuf", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0)
    return p.parse_args()


def out(start, text):
    print("%.2f %s" % (time.monotonic() - start, text), flush=True)


def upgrade(url, rcvbuf):
    u = urlsplit(url)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((u.hostname, u.port or 80))
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n"
               % (path, u.hostname, u.port or 80, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("no upgrade: connection closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit("no upgrade: " + head.split(b"\r\n")[0].decode())
    return s, rest


def send_text(s, text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


class Reader:
    """Server frames (unmasked) from the socket, one at a time."""

    def __init__(self, s, rest):
        self.s, self.buf = s, rest

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def frame(self):
        if not self.need(2):
            return None
        op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        hlen = 2 + (2 if n == 126 else 8 if n == 127 else 0)
        if not self.need(hlen):
            return None
        if n == 126:
            n = struct.unpack("!H", self.buf[2:4])[0]
        elif n == 127:
            n = struct.unpack("!Q", self.buf[2:10])[0]
        if not self.need(hlen + n):
            return None
        payload, self.buf = self.buf[hlen:hlen + n], self.buf[hlen + n:]
        return op, payload


def describe(op, payload):
    if op == 0x9:
        return "ping"
    if op == 0x1:
        return "text " + payload.decode(errors="replace")
    if op == 0x8:
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 0
        return "close %d %s" % (code, payload[2:].decode(errors="replace"))
    return "op %d" % op


def main():
    args = parse_args()
    start = time.monotonic()
    s, rest = upgrade(args.url, args.rcvbuf)
    s.settimeout(args.timeout)
    for text in args.send:
        send_text(s, text)
    reader = Reader(s, rest)
    while True:
        try:
            f = reader.frame()
        except (socket.timeout, ConnectionError):
            f = None
        if f is None:
            out(start, "eof")
            return
        out(start, describe(*f))
        if args.mode == "stall" and f[0] == 0x1 and args.until in f[1].decode(errors="replace"):
            out(start, "ready")
            time.sleep(args.hold)
            return


main()
