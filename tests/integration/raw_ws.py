#!/usr/bin/python3
"""raw_ws.py - a WebSocket client that misbehaves on purpose, on a raw socket.

Libraries answer PINGs and read as fast as they can; to test the adapter's
idle timeout, slow-consumer handling and closes a client must do neither.
This one does the HTTP upgrade itself (standard library only), sends the
given text frames (masked, as a client must), then:

  --mode idle   reads frames but never answers a PING; prints one line per
                frame ("ping", "text ...", "close CODE REASON") with the
                seconds since the upgrade, and "eof" when the server hangs up.
  --mode stall  reads until a text frame contains --until, prints "ready",
                then never reads again (its small receive buffer fills, so
                the server's send queue grows) and holds the socket for
                --hold seconds.
  --mode flood  keeps sending --flood TEXT (--batch frames in one write, every
                --interval seconds, from a thread) while it reads. When a text frame contains --until it
                prints "ready" and, with --stall, stops reading for that many
                seconds (still sending); with --trickle it then reads 512
                bytes every that many seconds. Text frames containing --mute are
                not printed. On a close frame it prints "close CODE REASON",
                stops sending and answers with a close frame of its own, as a
                client should (with --no-echo it never answers and never stops
                sending), then reads until the server hangs up: "eof" for a
                FIN, "reset" for a reset; "send failed ERROR" when a send
                fails (the server has closed the socket).

  raw_ws.py URL --mode idle|stall|flood [--send TEXT]... [--until S] [--hold S]
            [--rcvbuf BYTES] [--timeout S] [--flood TEXT] [--interval S]
            [--batch N] [--stall S] [--trickle S] [--mute S] [--no-echo]
"""
import argparse
import base64
import os
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlsplit


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--mode", choices=["idle", "stall", "flood"], required=True)
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--until", default="subscribed")
    p.add_argument("--hold", type=float, default=10.0)
    p.add_argument("--rcvbuf", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--flood", default='{"type":"ping"}')
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--stall", type=float, default=0.0)
    p.add_argument("--trickle", type=float, default=0.0)
    p.add_argument("--mute", default=None)
    p.add_argument("--no-echo", action="store_true")
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


def frame(op, data):
    """One masked client frame."""
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | op, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def send_text(s, text):
    s.sendall(frame(0x1, text.encode()))


class Reader:
    """Server frames (unmasked) from the socket, one at a time."""

    def __init__(self, s, rest):
        self.s, self.buf = s, rest
        self.chunk, self.delay = 65536, 0.0

    def need(self, n):
        while len(self.buf) < n:
            if self.delay:
                time.sleep(self.delay)
            chunk = self.s.recv(self.chunk)
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


class Flooder(threading.Thread):
    """Sends text frames until stopped or the socket fails; the lock keeps frames whole."""

    def __init__(self, s, text, interval, batch):
        super().__init__(daemon=True)
        self.s, self.interval = s, interval
        self.data = frame(0x1, text.encode()) * batch
        self.lock, self.stopped, self.failed = threading.Lock(), False, None

    def run(self):
        while True:
            with self.lock:
                if self.stopped:
                    return
                try:
                    self.s.sendall(self.data)
                except OSError as e:
                    self.failed = (time.monotonic(), e.__class__.__name__)
                    return
            if self.interval:
                time.sleep(self.interval)

    def stop_and_close(self, payload):
        """Stops the flood, then answers a close frame with one of its own."""
        with self.lock:
            self.stopped = True
            try:
                self.s.sendall(frame(0x8, payload[:2]))
            except OSError:
                pass


def flood(args, start, s, reader):
    sender = Flooder(s, args.flood, args.interval, args.batch)
    sender.start()
    read_frames(args, start, reader, sender)
    # a FIN ends the reading, not the sending: how long until the server is gone?
    sender.join(args.timeout)
    if sender.failed:
        print("%.2f send failed %s" % (sender.failed[0] - start, sender.failed[1]), flush=True)


def read_frames(args, start, reader, sender):
    closed = ready = False
    while True:
        try:
            f = reader.frame()
        except ConnectionResetError:
            out(start, "reset")
            return
        except (socket.timeout, OSError) as e:
            out(start, "error %s" % e)
            return
        if f is None:
            out(start, "eof")
            return
        op, payload = f
        if op == 0x8 and not closed:
            closed = True
            out(start, describe(op, payload))
            if not args.no_echo:
                sender.stop_and_close(payload)
            continue
        if closed or op != 0x1:
            continue
        text = payload.decode(errors="replace")
        if not args.mute or args.mute not in text:
            out(start, "text " + text)
        if args.until in text and not ready:
            ready = True
            out(start, "ready")
            if args.stall:
                time.sleep(args.stall)
            if args.trickle:
                reader.chunk, reader.delay = 512, args.trickle


def main():
    args = parse_args()
    start = time.monotonic()
    s, rest = upgrade(args.url, args.rcvbuf)
    s.settimeout(args.timeout)
    for text in args.send:
        send_text(s, text)
    reader = Reader(s, rest)
    if args.mode == "flood":
        flood(args, start, s, reader)
        return
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
