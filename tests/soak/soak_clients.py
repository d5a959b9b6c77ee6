#!/usr/bin/python3
"""soak_clients.py - the client side of `make soak`.

Runs hundreds of concurrent clients against a running rtg-adapter, in one
asyncio loop (Debian's python3-websockets for WebSocket, raw asyncio streams
for SSE and for frames the websockets library refuses to send):

  well-behaved  WebSocket and SSE clients that subscribe to a few
                market/<ticker> topics and check that every topic's seq grows
                by exactly one (no holes, no duplicates, no epoch change);
  firehose      a few of them subscribe to market/+ (every message);
  churners      connect, subscribe, read a little, then drop the TCP
                connection without a close frame (or mid-handshake), in a loop;
  hostile       malformed JSON, non-objects, unknown types, missing fields,
                binary frames, oversized (also fragmented) messages, floods
                beyond the rate limit, bad/expired/forged tokens, forbidden
                and invalid topics, invalid UTF-8, unmasked frames, truncated
                frames, HTTP garbage, SSE with bad tokens or forbidden topics.

Timeline: a warm-up with the whole population (fills histories and the
allocator), every client leaves, the adapter's RSS is the baseline; then the
soak proper for --seconds while RSS is sampled; every client leaves again and
the end RSS is compared with the baseline. The adapter's /api/stats (readable
from loopback) is read before and after the soak proper and its counters are
checked against what the clients saw.

Prints a summary block and writes every figure as JSON to --out. Exit status:
0 when every check passed, 1 with the failed checks listed, 2 on a bad
command line or when the adapter is unreachable.
"""
import argparse
import asyncio
import base64
import collections
import json
import os
import random
import struct
import sys
import time
import urllib.error
import urllib.request

import jwt
import websockets

# Close codes the adapter documents (docs/protocol.md).
CLOSE_AUTH = 4001
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
CLOSE_SLOW = 1013
CLOSE_AWAY = 1001
CLOSE_BAD_DATA = 1007
CLOSE_PROTOCOL = 1002

# A well-behaved client closed by the adapter for one of these reasons is
# excluded from the seq check and counted, not failed.
LEGIT_CLOSES = {CLOSE_SLOW: "slow consumer (1013)", CLOSE_AWAY: "adapter going away (1001)"}

WS_KW = dict(max_size=2 ** 24, open_timeout=20, close_timeout=5, ping_interval=None,
             compression=None)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True, help="the adapter's port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--adapter-pid", type=int, required=True)
    p.add_argument("--secret-file", required=True, help="the adapter's HS256 secret")
    p.add_argument("--other-secret-file", required=True, help="a secret it does not know")
    p.add_argument("--tickers", required=True, help="comma list the simulator publishes")
    p.add_argument("--seconds", type=float, default=180, help="length of the soak proper")
    p.add_argument("--warmup", type=float, default=10)
    p.add_argument("--wb-ws", type=int, default=200, help="well-behaved WebSocket clients")
    p.add_argument("--wb-sse", type=int, default=50, help="well-behaved SSE clients")
    p.add_argument("--firehose", type=int, default=1, help="of them on market/+ (WS and SSE)")
    p.add_argument("--topics-per-client", type=int, default=2)
    p.add_argument("--churn-ws", type=int, default=40, help="WebSocket churner loops")
    p.add_argument("--churn-sse", type=int, default=20, help="SSE churner loops")
    p.add_argument("--hostile", type=int, default=40, help="hostile loops")
    p.add_argument("--max-message-size", type=int, default=65536)
    p.add_argument("--rss-slack-pct", type=float, default=20.0)
    p.add_argument("--rss-slack-mib", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write every figure here as JSON")
    return p.parse_args()


# ---- shared state ------------------------------------------------------------------------

class Run:
    """What every client adds to: counters, anomalies, the stop flag."""

    def __init__(self, args):
        self.args = args
        self.c = collections.Counter()  # figures, by name
        self.unexpected = collections.Counter()  # "attack: what happened" -> times
        self.unexpected_example = {}
        self.wb_excluded = collections.Counter()  # legit close reason -> clients
        self.wb_failed = collections.Counter()  # unexpected end of a well-behaved client
        self.holes = []  # (client, topic, epoch, after seq, got seq, s since connect)
        self.epoch_changes = []  # (client, topic, epoch, seq, new epoch, seq, s)
        self.stop = asyncio.Event()
        secret = open(args.secret_file, "rb").read()
        other = open(args.other_secret_file, "rb").read()
        self.secret = _strip_nl(secret)
        self.other_secret = _strip_nl(other)
        self.tickers = args.tickers.split(",")
        self.base_ws = f"ws://{args.host}:{args.port}"

    def token(self, sub, ttl=86400, secret=None, **claims):
        now = int(time.time())
        body = {"sub": sub, "iat": now, "exp": now + ttl}
        body.update(claims)
        return jwt.encode(body, secret or self.secret, algorithm="HS256")

    def odd(self, attack, what, detail=""):
        key = f"{attack}: {what}"
        self.unexpected[key] += 1
        self.unexpected_example.setdefault(key, detail[:200])


def _strip_nl(b):
    """The adapter drops one trailing newline (or CRLF) of a secret file."""
    if b.endswith(b"\r\n"):
        return b[:-2]
    if b.endswith(b"\n"):
        return b[:-1]
    return b


class SeqTrack:
    """Per-topic epoch and last seq of one client; counts holes and duplicates."""

    def __init__(self, run, name, strict=False):
        self.run = run
        self.name = name
        self.strict = strict  # policy "queue": the adapter may not conflate
        self.t0 = time.monotonic()
        self.topics = {}
        self.holes = 0
        self.missing = 0
        self.hole_list = []
        self.dups = 0
        self.gaps = 0  # gap notices: runs the adapter dropped and said so
        self.gap_missing = 0
        self.misplaced = 0  # notices for seq already read

    def gap(self, topic, epoch, frm, to):
        """A gap notice: seq frm..to of topic will not come. Announced, so not a hole."""
        t = self.topics.get(topic)
        if t is None or t[0] != epoch:
            self.topics[topic] = [epoch, to]
        else:
            if frm > t[1] + 1:  # something missing before the run, unannounced
                self.holes += 1
                self.missing += frm - t[1] - 1
            elif frm <= t[1]:
                self.misplaced += 1
            t[1] = max(t[1], to)
        self.gaps += 1
        self.gap_missing += to - frm + 1

    def history(self, topic, epoch, last_seq):
        t = self.topics.get(topic)
        if t is None or t[0] != epoch or last_seq > t[1]:
            self.topics[topic] = [epoch, last_seq]

    def message(self, topic, epoch, seq):
        self.run.c["wb_messages"] += 1
        t = self.topics.get(topic)
        if t is None:
            self.topics[topic] = [epoch, seq]
            return
        if t[0] != epoch:
            # The adapter's documented restart: a topic it had stopped
            # following (every client left) replays its old history, then new
            # messages come under a new epoch from seq 1. Counted, not failed;
            # a new epoch that starts past seq 1 missed its first messages,
            # which is a hole like any other.
            self.run.c["wb_epoch_restarts"] += 1
            if len(self.run.epoch_changes) < 20:
                self.run.epoch_changes.append((self.name, topic, t[0], t[1], epoch, seq,
                                               round(time.monotonic() - self.t0, 2)))
            t[0], t[1] = epoch, 0
        if seq == t[1] + 1:
            t[1] = seq
        elif seq <= t[1]:
            self.dups += 1
        else:
            self.holes += 1
            self.missing += seq - t[1] - 1
            if len(self.hole_list) < 5:
                self.hole_list.append((self.name, topic, epoch, t[1], seq,
                                       round(time.monotonic() - self.t0, 2)))
            t[1] = seq

    def add_to(self, run):
        """Adds this client's findings to the run's (not for an excluded client)."""
        run.c["wb_holes"] += self.holes
        run.c["wb_missing_messages"] += self.missing
        if self.strict:
            run.c["wb_holes_queue_policy"] += self.holes
        run.c["wb_duplicates"] += self.dups
        run.c["wb_gaps"] += self.gaps
        run.c["wb_gap_missing"] += self.gap_missing
        run.c["wb_gaps_misplaced"] += self.misplaced
        run.holes += self.hole_list[:max(0, 50 - len(run.holes))]


# ---- raw transports: SSE and hand-made WebSocket frames -----------------------------------

async def http_request(run, path, headers=(), method="GET", body=b""):
    """Opens a connection and sends one request; returns (reader, writer)."""
    r, w = await asyncio.wait_for(asyncio.open_connection(run.args.host, run.args.port), 10)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {run.args.host}:{run.args.port}"]
    lines += list(headers)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    w.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return r, w


async def http_status(r):
    """Reads the status line and headers; returns the status code."""
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)
    return int(head.split(b" ", 2)[1])


def ws_frame(opcode, payload, fin=True, mask=True):
    """A client WebSocket frame (RFC 6455 5.2)."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return head + key + masked


async def raw_ws_open(run, token):
    """A WebSocket upgrade by hand; returns (reader, writer) after the 101."""
    key = base64.b64encode(os.urandom(16)).decode()
    r, w = await http_request(run, f"/ws?token={token}", [
        "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13"])
    status = await http_status(r)
    if status != 101:
        w.transport.abort()
        raise ConnectionError(f"upgrade answered {status}")
    return r, w


async def raw_ws_read_close(r, timeout=10):
    """Reads server frames until a close frame; returns its code (1006: none)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            h = await asyncio.wait_for(r.readexactly(2), left)
        except asyncio.TimeoutError:
            return None
        except (asyncio.IncompleteReadError, ConnectionError):
            return 1006
        try:
            n = h[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await r.readexactly(8))[0]
            payload = await r.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError):
            return 1006
        if h[0] & 0x0F == 0x8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


def abort(w):
    """Drops a connection: no close frame, no FIN handshake to wait for."""
    try:
        w.transport.abort()
    except Exception:
        pass


def close_code(e):
    """The close code a websockets ConnectionClosed carries (1006: none received)."""
    return e.rcvd.code if e.rcvd else 1006


# ---- well-behaved clients ----------------------------------------------------------------

def subscribe_forms(topic):
    """Every seed form that means market/<ticker>, to exercise them all."""
    t = topic.split("/", 1)[1]
    return [{"type": "subscribe", "topic": topic},
            {"type": "subscribe", "channel": "ticker", "ticker": t},
            {"type": "subscribe_symbol", "symbol": t}]


async def wb_ws(run, i, topics):
    """A WebSocket client that subscribes, reads everything and checks seq."""
    name = f"wb-ws-{i}"
    strict = i % 2 == 1  # every other one asks for policy "queue": no conflation
    trk = SeqTrack(run, name, strict)
    url = f"{run.base_ws}/ws?token={run.token(name)}"
    try:
        async with websockets.connect(url, **WS_KW) as ws:
            run.c["ws_accepted"] += 1
            for k, topic in enumerate(topics):
                sub = subscribe_forms(topic)[0 if "+" in topic else (i + k) % 3]
                if strict:
                    sub["policy"] = "queue"
                await ws.send(json.dumps(sub))
                run.c["client_requests"] += 1
            next_ping = time.monotonic() + 15
            while not run.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1)
                except asyncio.TimeoutError:
                    raw = None
                if raw is not None:
                    run.c["ws_frames_in"] += 1
                    handle_wb(run, trk, json.loads(raw))
                # JSON ping: keeps the connection from looking idle, well inside the rate limit.
                if time.monotonic() >= next_ping:
                    await ws.send('{"type":"ping"}')
                    run.c["client_requests"] += 1
                    next_ping = time.monotonic() + 15
            # Drain what is buffered, then a normal close.
            await ws.close()
    except websockets.exceptions.ConnectionClosed as e:
        code = close_code(e)
        if code in LEGIT_CLOSES:
            run.wb_excluded[LEGIT_CLOSES[code]] += 1
            trk = None
        else:
            run.wb_failed[f"ws closed {code} {e.rcvd.reason if e.rcvd else ''}".strip()] += 1
    except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as e:
        run.wb_failed[f"ws: {type(e).__name__}: {e}"] += 1
    finally:
        if trk:
            trk.add_to(run)


def handle_wb(run, trk, m):
    typ = m.get("type")
    if "seq" in m and "topic" in m:
        trk.message(m["topic"], m.get("epoch"), m["seq"])
    elif typ == "gap" and "topic" in m:
        trk.gap(m["topic"], m.get("epoch"), m["from"], m["to"])
    elif typ == "history":
        trk.history(m["topic"], m.get("epoch"), m.get("last_seq", 0))
        run.c["history_messages"] += 1
    elif typ == "subscription":
        run.c["client_replies_counted"] += 1
    elif typ == "pong":
        run.c["client_replies_counted"] += 1
    elif typ in ("connection", "auth_expiring"):
        pass
    elif typ == "error":
        run.odd("well-behaved", "got an error", m.get("message", ""))
        run.c["ws_error_replies"] += 1


async def wb_sse(run, i, topics):
    """An SSE client (raw stream) that checks seq of every data event."""
    name = f"wb-sse-{i}"
    trk = SeqTrack(run, name)
    query = "&".join(f"topic={t.replace('+', '%2B')}" for t in topics)
    w = None
    try:
        r, w = await http_request(run, f"/sse?{query}",
                                  [f"Authorization: Bearer {run.token(name)}"])
        status = await http_status(r)
        if status != 200:
            run.wb_failed[f"sse status {status}"] += 1
            return
        run.c["sse_accepted"] += 1
        stop_task = asyncio.ensure_future(run.stop.wait())
        buf = b""
        while True:
            read = asyncio.ensure_future(r.read(65536))
            done, _ = await asyncio.wait({read, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()
                break
            chunk = read.result()
            if not chunk:
                run.wb_failed["sse stream ended by the adapter"] += 1
                break
            buf += chunk
            *events, buf = buf.split(b"\n\n")
            for ev in events:
                sse_event(run, trk, ev)
        stop_task.cancel()
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
        run.wb_failed[f"sse: {type(e).__name__}: {e}"] += 1
    finally:
        if w:
            w.close()
        trk.add_to(run)


def sse_event(run, trk, ev):
    data = None
    for line in ev.split(b"\n"):
        if line.startswith(b"data: "):
            data = line[6:]
    if data is None:
        return
    run.c["sse_events_in"] += 1
    m = json.loads(data)
    if "seq" in m and "topic" in m:
        trk.message(m["topic"], m.get("epoch"), m["seq"])
    elif m.get("type") == "gap" and "topic" in m:
        trk.gap(m["topic"], m.get("epoch"), m["from"], m["to"])


# ---- churners -----------------------------------------------------------------------------

async def churn_ws(run, i):
    """Connect, subscribe, read a little, drop the TCP connection; again."""
    rnd = random.Random(run.args.seed * 1000 + i)
    tok = run.token(f"churn-ws-{i}")
    while not run.stop.is_set():
        run.c["churn_attempts"] += 1
        if rnd.random() < 0.1:
            # Dropped mid-handshake: half an upgrade request.
            try:
                r, w = await asyncio.open_connection(run.args.host, run.args.port)
                w.write(b"GET /ws?token=" + tok.encode() + b" HTTP/1.1\r\nUpgrade: webs")
                await w.drain()
                abort(w)
                run.c["churned_mid_handshake"] += 1
            except OSError as e:
                run.odd("churn", "connect failed", str(e))
            continue
        try:
            ws = await websockets.connect(f"{run.base_ws}/ws?token={tok}", **WS_KW)
        except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as e:
            run.odd("churn", "ws connect failed", str(e))
            await asyncio.sleep(0.2)
            continue
        run.c["ws_accepted"] += 1
        try:
            for topic in rnd.sample(run.tickers, 2):
                await ws.send(json.dumps({"type": "subscribe", "topic": f"market/{topic}"}))
                run.c["client_requests"] += 1
            deadline = time.monotonic() + rnd.uniform(0.05, 1.0)
            while time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                    run.c["ws_frames_in"] += 1
                except asyncio.TimeoutError:
                    break
        except websockets.exceptions.ConnectionClosed as e:
            run.odd("churn", f"closed by the adapter {close_code(e)}", str(e))
        ws.transport.abort()
        run.c["churned_ws"] += 1
        try:
            await asyncio.wait_for(ws.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass


async def churn_sse(run, i):
    """Open an SSE stream, read a little, drop it; again."""
    rnd = random.Random(run.args.seed * 2000 + i)
    tok = run.token(f"churn-sse-{i}")
    while not run.stop.is_set():
        run.c["churn_attempts"] += 1
        topics = "&".join(f"topic=market/{t}" for t in rnd.sample(run.tickers, 2))
        try:
            r, w = await http_request(run, f"/sse?{topics}", [f"Authorization: Bearer {tok}"])
            status = await http_status(r)
            if status != 200:
                run.odd("churn", f"sse status {status}")
            else:
                run.c["sse_accepted"] += 1
            deadline = time.monotonic() + rnd.uniform(0.05, 1.0)
            while time.monotonic() < deadline:
                try:
                    if not await asyncio.wait_for(r.read(65536), deadline - time.monotonic()):
                        break
                except asyncio.TimeoutError:
                    break
            abort(w)
            run.c["churned_sse"] += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            run.odd("churn", "sse failed", f"{type(e).__name__}: {e}")
            await asyncio.sleep(0.2)


# ---- hostile clients -----------------------------------------------------------------------

# Text messages each of which must get an {"type":"error"} and leave the connection open.
GARBAGE_TEXT = [
    ("malformed JSON", '{"type":"subscribe","topic":'),
    ("malformed JSON", "{{{{"),
    ("malformed JSON", '{"type":"ping"'),
    ("non-object", "[1,2,3]"),
    ("non-object", '"subscribe"'),
    ("non-object", "42"),
    ("non-object", "null"),
    ("no type", '{"topic":"market/AAPL"}'),
    ("no type", '{"type":17}'),
    ("unknown type", '{"type":"hack_the_planet"}'),
    ("unknown type", '{"type":"' + "x" * 300 + '"}'),
    ("missing fields", '{"type":"subscribe"}'),
    ("missing fields", '{"type":"publish"}'),
    ("missing fields", '{"type":"auth"}'),
    ("missing fields", '{"type":"subscribe","channel":"ticker"}'),
    ("unknown channel", '{"type":"subscribe","channel":"nope"}'),
    ("invalid filter", '{"type":"subscribe","topic":"market/#/x"}'),
    ("invalid filter", '{"type":"subscribe","topic":"market/a+b"}'),
    ("invalid filter", '{"type":"subscribe","topic":""}'),
    ("invalid name", '{"type":"subscribe_symbol","symbol":"A/B"}'),
    ("forbidden topic", '{"type":"subscribe","topic":"user/victim/notifications"}'),
    ("forbidden topic", '{"type":"subscribe","topic":"user/+/balance"}'),
    ("forbidden topic", '{"type":"subscribe","topic":"#"}'),
    ("forbidden topic", '{"type":"subscribe","topic":"$SYS/#"}'),
    ("forbidden topic", '{"type":"subscribe","topic":"calc/+/progress"}'),
    ("forbidden publish", '{"type":"publish","topic":"market/AAPL","payload":{"price":0}}'),
    ("forbidden publish", '{"type":"publish","topic":"system/announcements","payload":"x"}'),
    ("not subscribed", '{"type":"unsubscribe","topic":"market/NEVER"}'),
    ("bad refresh", '{"type":"auth","token":"not.a.token"}'),
]


async def hostile_garbage(run, rnd, user):
    """A few garbage messages (within the burst) on one connection; each needs an error."""
    batch = rnd.sample(GARBAGE_TEXT, 4)
    binary = rnd.random() < 0.3
    async with websockets.connect(f"{run.base_ws}/ws?token={run.token(user)}", **WS_KW) as ws:
        run.c["ws_accepted"] += 1
        for _, text in batch:
            await ws.send(text)
        if binary:
            await ws.send(os.urandom(rnd.randint(1, 2000)))
        want = len(batch) + binary
        run.c["bad_inputs"] += want
        got = 0
        deadline = time.monotonic() + 10
        while got < want and time.monotonic() < deadline:
            try:
                m = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            run.c["ws_frames_in"] += 1
            if m.get("type") == "error":
                got += 1
                count_error(run, m)
        if got < want:
            run.odd("garbage", f"{want - got} of {want} inputs got no error",
                    " | ".join(t for _, t in batch))
        if rnd.random() < 0.5:
            ws.transport.abort()


def count_error(run, m):
    """An error reply: counted, and split by whether ws__dispatch saw the message."""
    run.c["ws_error_replies"] += 1
    msg = m.get("message", "")
    if not msg.startswith("binary") and "rate" not in msg:
        run.c["client_replies_counted"] += 1


async def expect_close(run, attack, ws, want, deadline_s=10):
    """Reads until the adapter closes ws; an unexpected code is recorded."""
    try:
        while True:
            raw = await asyncio.wait_for(ws.recv(), deadline_s)
            run.c["ws_frames_in"] += 1
            if isinstance(raw, str) and '"error"' in raw:
                count_error(run, json.loads(raw))
    except websockets.exceptions.ConnectionClosed as e:
        code = close_code(e)
        if code not in want:
            run.odd(attack, f"closed with {code}, expected {sorted(want)}",
                    e.rcvd.reason if e.rcvd else "")
        return code
    except asyncio.TimeoutError:
        run.odd(attack, f"not closed, expected {sorted(want)}")
        return None


async def hostile_oversized(run, rnd, user):
    """One message over max_message_size, whole or in fragments: close 1009."""
    n = run.args.max_message_size + rnd.randint(1, 40000)
    async with websockets.connect(f"{run.base_ws}/ws?token={run.token(user)}", **WS_KW) as ws:
        run.c["ws_accepted"] += 1
        run.c["bad_inputs"] += 1
        body = '{"type":"ping","pad":"' + "A" * n + '"}'
        try:
            if rnd.random() < 0.5:
                await ws.send(body)
            else:
                step = 16384
                await ws.send(body[k:k + step] for k in range(0, len(body), step))
        except websockets.exceptions.ConnectionClosed:
            pass
        # 1006: the adapter closed while the frame was still coming, so the
        # client's socket was reset before it could read the close frame.
        code = await expect_close(run, "oversized", ws, {CLOSE_TOO_BIG, 1006})
        run.c[f"oversized_closed_{code}"] += 1


async def hostile_flood(run, rnd, user):
    """Pings far beyond the rate limit without reading; then reads what came back."""
    n = rnd.randint(100, 300)
    async with websockets.connect(f"{run.base_ws}/ws?token={run.token(user)}", **WS_KW) as ws:
        run.c["ws_accepted"] += 1
        try:
            for _ in range(n):
                await ws.send('{"type":"ping"}')
                run.c["flood_messages"] += 1
        except websockets.exceptions.ConnectionClosed:
            pass
        run.c["bad_inputs"] += 1
        run.c["floods"] += 1
        pongs = 0
        try:
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 5))
                run.c["ws_frames_in"] += 1
                if m.get("type") == "pong":
                    pongs += 1
                    run.c["client_replies_counted"] += 1
                elif m.get("type") == "error":
                    count_error(run, m)
                    run.c["flood_errors"] += 1
        except websockets.exceptions.ConnectionClosed as e:
            code = close_code(e)
            run.c[f"flood_closed_{code}"] += 1
        except asyncio.TimeoutError:
            run.c["flood_not_closed"] += 1
        run.c["flood_pongs"] += pongs


def forged_tokens(run, user):
    now = int(time.time())
    yield "garbage", "not-a-jwt"
    yield "expired", run.token(user, ttl=-3600)
    yield "wrong secret", run.token(user, secret=run.other_secret)
    yield "alg none", jwt.encode({"sub": user, "exp": now + 600}, None, algorithm="none")
    yield "no sub", jwt.encode({"exp": now + 600}, run.secret, algorithm="HS256")
    yield "not yet valid", run.token(user, nbf=now + 3600)
    yield "truncated", run.token(user)[:-10]


async def hostile_bad_token(run, rnd, user):
    """A forged or expired token, in the URL or as the first auth message: close 4001."""
    kind, tok = rnd.choice(list(forged_tokens(run, user)))
    run.c["bad_inputs"] += 1
    run.c["bad_tokens"] += 1
    in_url = rnd.random() < 0.5
    # /ws/notifications requires a token (on /ws a bad auth message leaves an anonymous client)
    url = f"{run.base_ws}/ws/notifications" + (f"?token={tok}" if in_url else "")
    try:
        async with websockets.connect(url, **WS_KW) as ws:
            run.c["ws_accepted"] += 1
            if not in_url:
                await ws.send(json.dumps({"type": "auth", "token": tok}))
            await expect_close(run, f"bad token ({kind})", ws, {CLOSE_AUTH})
    except websockets.exceptions.InvalidStatusCode as e:
        # Refusing the upgrade itself (401) is also a clear answer.
        if e.status_code != 401:
            run.odd(f"bad token ({kind})", f"upgrade refused with {e.status_code}")


async def hostile_unauthenticated(run, rnd, user):
    """Subscribing before authenticating: an error, then the auth timeout is not waited.
    On /ws/notifications: a token is required there (/ws would greet an anonymous client)."""
    async with websockets.connect(f"{run.base_ws}/ws/notifications", **WS_KW) as ws:
        run.c["ws_accepted"] += 1
        run.c["bad_inputs"] += 1
        await ws.send('{"type":"subscribe","topic":"market/AAPL"}')
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        run.c["ws_frames_in"] += 1
        if m.get("type") != "error":
            run.odd("unauthenticated", f"got {m.get('type')}, expected error")
        else:
            count_error(run, m)
        ws.transport.abort()


async def hostile_raw(run, rnd, user):
    """Frames python3-websockets will not send: invalid UTF-8, unmasked, truncated."""
    kind = rnd.choice(["invalid utf-8", "unmasked", "truncated", "reserved opcode"])
    r, w = await raw_ws_open(run, run.token(user))
    try:
        await raw_attack(run, kind, r, w)
    finally:
        abort(w)


async def raw_attack(run, kind, r, w):
    run.c["ws_accepted"] += 1
    run.c["bad_inputs"] += 1
    if kind == "invalid utf-8":
        w.write(ws_frame(0x1, b'{"type":"ping","x":"\xff\xfe\xc3"}'))
        want = {CLOSE_BAD_DATA}
    elif kind == "unmasked":
        # RFC 6455 says close; lws 4.1.6 does not (the idle timeout ends it).
        # Counted, not failed: that is libwebsockets' business.
        w.write(ws_frame(0x1, b'{"type":"ping"}', mask=False))
        await w.drain()
        code = await raw_ws_read_close(r, 3)
        run.c[f"unmasked_closed_{code}"] += 1
        return
    elif kind == "reserved opcode":
        w.write(ws_frame(0x3, b"boo"))
        want = {CLOSE_PROTOCOL, 1006}
    else:
        frame = ws_frame(0x1, b'{"type":"ping","pad":"' + b"z" * 2000 + b'"}')
        w.write(frame[:len(frame) // 2])
        await w.drain()
        abort(w)
        return
    await w.drain()
    code = await raw_ws_read_close(r)
    if code not in want:
        run.odd(f"raw {kind}", f"closed with {code}, expected {sorted(want)}")


async def hostile_http(run, rnd, user):
    """SSE and HTTP abuse: bad tokens 401, forbidden topics 403, unknown paths 404."""
    good = run.token(user)
    cases = [
        ("sse bad token", "/sse?topic=market/AAPL", ["Authorization: Bearer x.y.z"], 401),
        ("sse expired token", "/sse/market/AAPL",
         [f"Authorization: Bearer {run.token(user, ttl=-3600)}"], 401),
        ("sse no token", "/sse/notifications", [], 401),
        ("sse forbidden", "/sse?topic=user/victim/balance", [f"Authorization: Bearer {good}"],
         403),
        ("sse forbidden", "/sse/credit-score/victim", [f"Authorization: Bearer {good}"], 403),
        ("sse unknown", "/sse/nothing/here", [f"Authorization: Bearer {good}"], 404),
        # the decoded path has one level more: no endpoint serves it
        ("sse bad name", "/sse/market/A%2FB", [f"Authorization: Bearer {good}"], 404),
    ]
    name, path, headers, want = rnd.choice(cases)
    run.c["bad_inputs"] += 1
    r, w = await http_request(run, path, headers)
    try:
        status = await http_status(r)
    finally:
        abort(w)
    run.c[f"http_{status}"] += 1
    if status != want:
        run.odd(name, f"status {status}, expected {want}", path)


async def hostile_bytes(run, rnd, user):
    """Not HTTP at all, or a broken request line: the adapter must just close or answer 4xx."""
    run.c["bad_inputs"] += 1
    r, w = await asyncio.open_connection(run.args.host, run.args.port)
    choice = rnd.random()
    if choice < 0.4:
        w.write(os.urandom(rnd.randint(1, 4096)))
    elif choice < 0.7:
        w.write(b"GET /ws HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n")
    else:
        w.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200))  # TLS hello
    try:
        await w.drain()
        await asyncio.wait_for(r.read(65536), 5)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    abort(w)


HOSTILE = [
    (hostile_garbage, 5), (hostile_oversized, 2), (hostile_flood, 1), (hostile_bad_token, 3),
    (hostile_unauthenticated, 1), (hostile_raw, 2), (hostile_http, 3), (hostile_bytes, 1),
]


async def hostile(run, i):
    rnd = random.Random(run.args.seed * 3000 + i)
    funcs = [f for f, w in HOSTILE for _ in range(w)]
    while not run.stop.is_set():
        f = rnd.choice(funcs)
        run.c["hostile_attempts"] += 1
        try:
            await asyncio.wait_for(f(run, rnd, f"hostile-{i}"), 30)
        except websockets.exceptions.ConnectionClosed as e:
            run.odd(f.__name__, f"closed unexpectedly {close_code(e)}",
                    e.rcvd.reason if e.rcvd else "")
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                websockets.exceptions.InvalidHandshake, ValueError) as e:
            run.odd(f.__name__, f"{type(e).__name__}", str(e))
        await asyncio.sleep(rnd.uniform(0.05, 0.3))


# ---- the adapter from outside: stats, RSS, liveness ------------------------------------------

def get_stats(run):
    url = f"http://{run.args.host}:{run.args.port}/api/stats"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def proc_status(pid):
    """(state, VmRSS KiB, VmHWM KiB) of pid; state 'gone' if it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        rss = hwm = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return state, rss, hwm
    except (OSError, IndexError):
        return "gone", 0, 0


class Watch:
    """Samples the adapter every 0.25 s: alive, RSS peak."""

    def __init__(self, pid):
        self.pid = pid
        self.dead = None
        self.peak = 0

    async def loop(self):
        while self.dead is None:
            state, rss, _ = proc_status(self.pid)
            if state in ("gone", "Z", "X"):
                self.dead = time.monotonic()
                break
            self.peak = max(self.peak, rss)
            await asyncio.sleep(0.25)


async def wait_idle(run, deadline_s=30):
    """Until the adapter reports no connection left; returns its stats (or the last seen)."""
    deadline = time.monotonic() + deadline_s
    while True:
        st = await asyncio.to_thread(get_stats, run)
        if st["active_connections"] == 0 or time.monotonic() > deadline:
            return st
        await asyncio.sleep(0.1)


async def settled_rss(pid, deadline_s=10):
    """RSS once three samples 0.5 s apart agree within 64 KiB (or at the deadline)."""
    deadline = time.monotonic() + deadline_s
    last = []
    while True:
        last.append(proc_status(pid)[1])
        last = last[-3:]
        if (len(last) == 3 and max(last) - min(last) <= 64) or time.monotonic() > deadline:
            return last[-1]
        await asyncio.sleep(0.5)


# ---- one population, run for a while --------------------------------------------------------

async def population(run, seconds):
    a = run.args
    rnd = random.Random(a.seed)
    run.stop.clear()
    tasks = []
    for i in range(a.wb_ws):
        topics = (["market/+"] if i < a.firehose else
                  [f"market/{t}" for t in rnd.sample(run.tickers, a.topics_per_client)])
        tasks.append(asyncio.ensure_future(wb_ws(run, i, topics)))
    for i in range(a.wb_sse):
        topics = (["market/+"] if i < a.firehose else
                  [f"market/{t}" for t in rnd.sample(run.tickers, a.topics_per_client)])
        tasks.append(asyncio.ensure_future(wb_sse(run, i, topics)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not open hundreds of sockets in one tick
    tasks += [asyncio.ensure_future(churn_ws(run, i)) for i in range(a.churn_ws)]
    tasks += [asyncio.ensure_future(churn_sse(run, i)) for i in range(a.churn_sse)]
    tasks += [asyncio.ensure_future(hostile(run, i)) for i in range(a.hostile)]
    await asyncio.sleep(seconds)
    run.stop.set()
    done, pending = await asyncio.wait(tasks, timeout=60)
    for t in pending:
        t.cancel()
    run.c["tasks_stuck_at_stop"] += len(pending)
    for t in done:
        if t.exception():
            run.odd("driver", f"task failed: {type(t.exception()).__name__}", str(t.exception()))


# ---- checks and report -------------------------------------------------------------------------

def delta(s0, s1, key):
    return s1.get(key, 0) - s0.get(key, 0)


def check(results, ok, what, detail):
    results.append((ok, what, detail))


async def main_async(a):
    run = Run(a)
    pid = a.adapter_pid
    try:
        await asyncio.to_thread(get_stats, run)
    except (OSError, urllib.error.URLError) as e:
        print(f"soak: the adapter's /api/stats is not reachable: {e}", file=sys.stderr)
        return 2
    watch = Watch(pid)
    watcher = asyncio.ensure_future(watch.loop())

    print(f"# warm-up: {a.warmup:.0f} s with the whole population", flush=True)
    await population(run, a.warmup)
    s0 = await wait_idle(run)
    rss_base = await settled_rss(pid)
    warm = dict(run.c)
    run.c.clear()
    run.unexpected.clear()
    run.wb_excluded.clear()
    run.wb_failed.clear()
    run.holes.clear()
    run.epoch_changes.clear()
    watch.peak = rss_base
    print(f"# baseline RSS {rss_base / 1024:.1f} MiB; soak: {a.seconds:.0f} s", flush=True)

    t0 = time.monotonic()
    progress = asyncio.ensure_future(report_progress(run, watch, t0))
    await population(run, a.seconds)
    progress.cancel()
    elapsed = time.monotonic() - t0
    s1 = await wait_idle(run)
    rss_end = await settled_rss(pid)
    _, _, hwm = proc_status(pid)
    watch_dead = watch.dead
    watch.dead = watch.dead or 0.0
    watcher.cancel()
    c = run.c

    # ---- the checks ----
    res = []
    check(res, watch_dead is None and proc_status(pid)[0] not in ("gone", "Z", "X"),
          "the adapter stayed alive", f"pid {pid}")
    slack = max(rss_base * a.rss_slack_pct / 100, a.rss_slack_mib * 1024)
    check(res, rss_end <= rss_base + slack, "RSS came back near its baseline",
          f"baseline {rss_base} KiB, end {rss_end} KiB, allowed +{slack:.0f} KiB")
    check(res, s1["active_connections"] == 0, "no connection left once the clients left",
          f"active_connections {s1['active_connections']}")
    n_wb = a.wb_ws + a.wb_sse
    # A client closed as too slow (1013) often never reads that close frame:
    # it sits behind the data the client had not read. Its 1006 is a legit
    # close as long as the adapter counted at least as many slow_closed.
    lost_close = run.wb_failed.get("ws closed 1006", 0)
    if lost_close and lost_close <= delta(s0, s1, "slow_closed"):
        del run.wb_failed["ws closed 1006"]
        run.wb_excluded["slow consumer (1006, adapter slow_closed)"] += lost_close
    n_excl = sum(run.wb_excluded.values())
    check(res, sum(run.wb_failed.values()) == 0, "every well-behaved client ran to the end",
          "; ".join(f"{k} x{v}" for k, v in run.wb_failed.items()) or f"{n_wb - n_excl} of {n_wb}")
    # Nothing is lost without notice: a message the adapter drops from a full
    # send queue is announced by a gap notice, just where it is missing
    # (docs/protocol.md, "Falling behind"), so the only holes left are
    # conflation's (policy conflate, or auto on a value topic), which has no
    # notice by design: the newest value is the point. Policy "queue" never
    # conflates, so its holes are losses.
    d_dropped = delta(s0, s1, "dropped")
    d_conflated = delta(s0, s1, "conflated")
    holes, missing = c["wb_holes"], c["wb_missing_messages"]
    explained = holes == 0 or (missing <= d_conflated and c["wb_holes_queue_policy"] == 0)
    losses = 0 if explained else holes
    check(res, losses == 0, "no message lost without notice by any well-behaved client",
          f"{holes} holes without a notice, {missing} messages (adapter conflated "
          f"+{d_conflated}); holes with policy queue {c['wb_holes_queue_policy']}; "
          f"{c['wb_gaps']} gap notices for {c['wb_gap_missing']} messages (adapter dropped "
          f"+{d_dropped})")
    check(res, c["wb_gaps_misplaced"] == 0 and c["wb_gap_missing"] <= d_dropped,
          "every gap notice is where its messages are missing, for messages the adapter dropped",
          f"{c['wb_gaps_misplaced']} notices for seq already read; {c['wb_gap_missing']} "
          f"announced, adapter dropped +{d_dropped}")
    check(res, c["wb_duplicates"] == 0, "no duplicate or out-of-order seq",
          f"{c['wb_duplicates']} duplicates ({c['wb_epoch_restarts']} epoch restarts seen)")
    check(res, c["wb_messages"] > 0, "well-behaved clients received messages",
          f"{c['wb_messages']}")
    check(res, not run.unexpected, "every bad input got the documented answer",
          "; ".join(f"{k} x{v} [{run.unexpected_example[k]}]"
                    for k, v in run.unexpected.most_common(8)))
    conns = c["ws_accepted"] + c["sse_accepted"]
    d_total = delta(s0, s1, "total_connections")
    check(res, d_total >= conns, "total_connections >= connections the clients made",
          f"{d_total} >= {conns}")
    frames = c["ws_frames_in"] + c["sse_events_in"]
    d_sent = delta(s0, s1, "messages_sent")
    check(res, d_sent >= frames, "messages_sent >= messages the clients received",
          f"{d_sent} >= {frames}")
    d_recv = delta(s0, s1, "messages_received")
    check(res, d_recv >= c["client_replies_counted"],
          "messages_received >= client messages answered", f"{d_recv} >= "
          f"{c['client_replies_counted']}")
    http_err = c["http_400"] + c["http_401"] + c["http_403"] + c["http_404"]
    d_err = delta(s0, s1, "errors") + delta(s0, s1, "auth_failures")
    check(res, d_err >= c["ws_error_replies"],
          "errors (+auth_failures) >= error replies the clients got",
          f"{d_err} >= {c['ws_error_replies']} (+{http_err} HTTP 4xx seen)")
    check(res, c["tasks_stuck_at_stop"] == 0, "every client task ended when asked",
          f"{c['tasks_stuck_at_stop']} stuck")

    churned = c["churned_ws"] + c["churned_sse"] + c["churned_mid_handshake"]
    summary = [
        "==================== soak summary ====================",
        f"duration              {elapsed:.0f} s (+ {a.warmup:.0f} s warm-up)",
        f"clients (concurrent)  {a.wb_ws} WS + {a.wb_sse} SSE well-behaved "
        f"({a.firehose} WS + {a.firehose} SSE on market/+; every other WS asks policy "
        f"queue), "
        f"{a.churn_ws} + {a.churn_sse} churn loops, {a.hostile} hostile loops",
        f"connections made      {conns} (adapter total_connections +{d_total})",
        f"connections churned   {churned} (WS {c['churned_ws']}, SSE {c['churned_sse']}, "
        f"mid-handshake {c['churned_mid_handshake']})",
        f"messages delivered    {frames} to clients (adapter messages_sent +{d_sent}); "
        f"well-behaved checked {c['wb_messages']} "
        f"({c['wb_messages'] / max(elapsed, 1):.0f}/s)",
        f"bad inputs tried      {c['bad_inputs']} in {c['hostile_attempts']} attempts "
        f"(floods {c['floods']} with {c['flood_messages']} msgs: "
        f"closed 1008 {c['flood_closed_1008']}, not closed {c['flood_not_closed']}); "
        f"bad tokens {c['bad_tokens']}",
        f"adapter counters      errors +{delta(s0, s1, 'errors')}, auth_failures "
        f"+{delta(s0, s1, 'auth_failures')}, messages_received +{d_recv}, "
        f"dropped +{d_dropped}, conflated +{d_conflated}, rate_limited "
        f"+{delta(s0, s1, 'rate_limited')}, rate_closed +{delta(s0, s1, 'rate_closed')}, "
        f"mqtt_messages +{delta(s0, s1, 'mqtt_messages')}",
        f"well-behaved excluded {n_excl}"
        + (" (" + ", ".join(f"{k} x{v}" for k, v in run.wb_excluded.items()) + ")"
           if n_excl else ""),
        f"losses:               {losses}"
        + (f"  (but {holes} holes, {missing} messages, left out by the adapter's "
           f"conflation/drops: the soak's clients were too slow for it)" if explained else ""),
        f"RSS                   baseline {rss_base / 1024:.1f} MiB, peak "
        f"{watch.peak / 1024:.1f} MiB (VmHWM {hwm / 1024:.1f}), end {rss_end / 1024:.1f} MiB",
    ]
    print("\n".join(summary))
    failed = [r for r in res if not r[0]]
    for ok, what, detail in res:
        print(f"{'ok' if ok else 'FAIL'} - {what}: {detail}")
    for h in run.holes[:10]:
        print(f"#   hole: {h[0]} {h[1]} epoch {h[2]}: after seq {h[3]} came {h[4]}, "
              f"{h[5]} s after it connected")
    for e in run.epoch_changes[:5]:
        print(f"#   epoch change: {e[0]} {e[1]}: epoch {e[2]} seq {e[3]}, then epoch {e[4]} "
              f"seq {e[5]}, {e[6]} s after it connected")
    print("======================================================")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"counters": dict(c), "warmup": warm, "stats_before": s0,
                       "stats_after": s1, "rss_kib": {"baseline": rss_base,
                       "peak": watch.peak, "hwm": hwm, "end": rss_end},
                       "unexpected": dict(run.unexpected), "holes": run.holes,
                       "epoch_changes": run.epoch_changes,
                       "checks": [{"ok": o, "what": w, "detail": d} for o, w, d in res]},
                      f, indent=1)
    if failed:
        print("soak FAILED: " + "; ".join(w for _, w, _ in failed))
        return 1
    return 0


async def report_progress(run, watch, t0):
    """A line every 30 s, so a long soak shows it is alive."""
    while True:
        await asyncio.sleep(30)
        c = run.c
        print(f"# {time.monotonic() - t0:4.0f} s: wb msgs {c['wb_messages']}, churned "
              f"{c['churned_ws'] + c['churned_sse'] + c['churned_mid_handshake']}, bad inputs "
              f"{c['bad_inputs']}, holes {c['wb_holes']}, RSS peak {watch.peak / 1024:.1f} MiB",
              flush=True)


def main():
    a = parse_args()
    random.seed(a.seed)
    return asyncio.run(main_async(a))


if __name__ == "__main__":
    sys.exit(main())
