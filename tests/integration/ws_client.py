#!/usr/bin/python3
"""ws_client.py - an independent WebSocket client for the integration tests.

Debian's python3-websockets (not our libwebsockets code) talks to the
adapter, so a test can show the protocol works with a third-party client.
Prints every text message received as one line; on a close by the server it
prints {"type":"_closed","code":N,"reason":"..."}. Exits after --count
messages (status 0), on --timeout (status 27 if --count was not reached),
or when the server closes (status 0 if --count was reached or not given,
else 4). With --flood it also keeps sending TEXT (every --flood-interval
seconds) until the connection closes.

  ws_client.py URL [--send JSON]... [--send-after N JSON]... [--count N]
               [--timeout S] [--header 'Name: value']... [--raw-bytes N]
               [--delay S] [--rcvbuf BYTES] [--flood TEXT [--flood-interval S]]

--delay and --rcvbuf make a slow reader: it sleeps S after each message, and
its socket's receive buffer is BYTES (set before connecting, so the TCP
window stays small and the server's send queue grows instead).
"""
import argparse
import asyncio
import json
import socket
import sys
from urllib.parse import urlsplit

import websockets


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--send", action="append", default=[],
                   help="a text message to send once connected (in order)")
    p.add_argument("--send-after", nargs=2, action="append", default=[],
                   metavar=("N", "TEXT"),
                   help="send TEXT once N messages have been received")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--rcvbuf", type=int, default=0)
    p.add_argument("--raw-bytes", type=int, default=0,
                   help="also send one text frame of N bytes (size limits)")
    p.add_argument("--flood", default=None,
                   help="keep sending TEXT until the connection closes")
    p.add_argument("--flood-interval", type=float, default=0.0)
    return p.parse_args()


def emit(obj_or_text):
    if isinstance(obj_or_text, str):
        print(obj_or_text, flush=True)
    else:
        print(json.dumps(obj_or_text), flush=True)


async def flood(ws, text, interval):
    try:
        while True:
            await ws.send(text)
            await asyncio.sleep(interval)
    except websockets.exceptions.ConnectionClosed:
        pass


async def run(args):
    headers = []
    for h in args.header:
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    got = 0
    pending = [(int(n), text) for n, text in args.send_after]
    extra = {}
    if args.rcvbuf:
        u = urlsplit(args.url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        sock.connect((u.hostname, u.port))
        extra = {"sock": sock, "max_queue": 1}
    flooder = None
    try:
        async with websockets.connect(args.url, extra_headers=headers,
                                      max_size=2 ** 24, open_timeout=args.timeout,
                                      ping_interval=None, **extra) as ws:
            for text in args.send:
                await ws.send(text)
            if args.raw_bytes:
                await ws.send("x" * args.raw_bytes)
            if args.flood:
                flooder = asyncio.create_task(flood(ws, args.flood, args.flood_interval))
            while True:
                msg = await ws.recv()
                got += 1
                if args.delay:
                    await asyncio.sleep(args.delay)
                emit(msg if isinstance(msg, str) else msg.decode("utf-8", "replace"))
                for item in [p for p in pending if p[0] == got]:
                    await ws.send(item[1])
                    pending.remove(item)
                if args.count and got >= args.count:
                    return 0
    except websockets.exceptions.ConnectionClosed as e:
        code = e.rcvd.code if e.rcvd else 1006
        reason = e.rcvd.reason if e.rcvd else ""
        emit({"type": "_closed", "code": code, "reason": reason})
        return 0 if (not args.count or got >= args.count) else 4
    except (OSError, websockets.exceptions.InvalidHandshake) as e:
        emit({"type": "_connect_failed", "error": str(e)})
        return 1
    finally:
        if flooder:
            flooder.cancel()


def main():
    args = parse_args()
    try:
        return asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except asyncio.TimeoutError:
        return 27 if args.count else 0


if __name__ == "__main__":
    sys.exit(main())
