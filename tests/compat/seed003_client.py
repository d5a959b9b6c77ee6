#!/usr/bin/python3
"""seed003_client.py - a Python client of seed 003's (trading platform) message protocol.

Talks to the gateway's /api/ws as a client of the seed's "Message Protocol"
would, with Debian's python3-websockets: no token (the seed's endpoint has
none), the seed's own client messages sent as the document writes them
(copied verbatim below between "---- seed 003" and "---- end" lines, and
checked against the document when it is given), and the seed's server
messages expected back:

  - the Connection Acknowledgment (type, status, connection_id, timestamp);
  - "Subscribe to Ticker": a Subscription Confirmation with "ticker":"AAPL", the
    Historical Data with "ticker", then price_update messages for AAPL from the
    market simulator with every field of the seed's Price Update;
  - "Heartbeat Ping": a Pong Response with a timestamp;
  - "Unsubscribe": an unsubscribed confirmation with "ticker":"AAPL", after which
    no AAPL price arrives (a second connection, still subscribed, sees the next
    one; a ping answered after that shows nothing was queued behind it).

    seed003_client.py URL [SEED_DOC]

Prints one "ok - "/"not ok - " line per case (details on "#   " lines) and
exits 1 if any failed. Standard library and python3-websockets only.
"""
import asyncio
import json
import re
import sys

import websockets

P = "seed 003 (trading platform streaming)"

# ---- seed 003 "Client → Server Messages", 1. Subscribe to Ticker (verbatim) ----
SUBSCRIBE_TICKER = """{
    "type": "subscribe",
    "channel": "ticker",
    "ticker": "AAPL"
}"""
# ---- end of the seed's snippet ----

# ---- seed 003 "Client → Server Messages", 5. Heartbeat Ping (verbatim) ----
HEARTBEAT_PING = """{
    "type": "ping"
}"""
# ---- end of the seed's snippet ----

# ---- seed 003 "Client → Server Messages", 6. Unsubscribe (verbatim) ----
UNSUBSCRIBE = """{
    "type": "unsubscribe",
    "channel": "ticker",
    "ticker": "AAPL"
}"""
# ---- end of the seed's snippet ----

COPIES = [
    ("Subscribe to Ticker", SUBSCRIBE_TICKER, "#### 1. Subscribe to Ticker"),
    ("Heartbeat Ping", HEARTBEAT_PING, "#### 5. Heartbeat Ping"),
    ("Unsubscribe", UNSUBSCRIBE, "#### 6. Unsubscribe"),
]

# the seed's Price Update fields
PRICE_FIELDS = ["type", "ticker", "price", "change", "change_percent", "volume", "high", "low",
                "open", "timestamp"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

passed = 0
failed = 0


def report(ok, name, detail=None):
    global passed, failed
    if ok:
        passed += 1
        print("ok - %s: %s" % (P, name), flush=True)
    else:
        failed += 1
        print("not ok - %s: %s" % (P, name), flush=True)
        for line in str(detail or "").splitlines()[:12]:
            print("#   " + line, flush=True)


class Conn:
    """One WebSocket and every message it received, in order, read by a task of its own."""

    def __init__(self, ws):
        self.ws = ws
        self.msgs = []
        self.closed = None
        self.changed = asyncio.Condition()
        self.task = asyncio.create_task(self._read())

    async def _read(self):
        try:
            async for text in self.ws:
                async with self.changed:
                    self.msgs.append(json.loads(text))
                    self.changed.notify_all()
        except websockets.ConnectionClosed as err:
            self.closed = err.code
        finally:
            if self.closed is None:
                self.closed = self.ws.close_code
            async with self.changed:
                self.changed.notify_all()

    async def wait(self, pred, timeout, what):
        """The first truthy pred(msgs) within timeout seconds; AssertionError(what) else."""
        result = []

        def ready():
            v = pred(self.msgs)
            if v:
                result.append(v)
                return True
            return self.closed is not None

        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(ready), timeout)
            except asyncio.TimeoutError:
                pass
        if not result:
            raise AssertionError("%s (after %ss%s; last messages: %s)" % (
                what, timeout, ", closed %s" % self.closed if self.closed else "",
                json.dumps([m.get("type") for m in self.msgs[-12:]])))
        return result[0]


def normalised(text):
    return re.sub(r"\s+", " ", text).strip()


def check_copies(doc_path):
    if not doc_path:
        for what, _, _ in COPIES:
            print("ok - %s: the %s message in seed003_client.py is the document's, verbatim # SKIP no seed documents here" % (P, what))
        return
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    for what, copy, heading in COPIES:
        at = doc.find(heading)
        m = re.compile(r"```json\n(.*?)\n```", re.S).search(doc, at) if at >= 0 else None
        if not m:
            report(False, "the %s message in seed003_client.py is the document's, verbatim" % what, "no json block after %r" % heading)
        else:
            report(normalised(m.group(1)) == normalised(copy),
                   "the %s message in seed003_client.py is the document's, verbatim" % what,
                   "the document has:\n" + m.group(1))


def is_price(m):
    return m.get("type") == "price_update" and m.get("ticker") == "AAPL"


async def flow(url):
    async with websockets.connect(url, open_timeout=15, ping_interval=None) as ws1, \
            websockets.connect(url, open_timeout=15, ping_interval=None) as ws2:
        main, witness = Conn(ws1), Conn(ws2)

        # ---- the connection acknowledgment
        try:
            g = await main.wait(lambda ms: ms and ms[0], 10, "no first message")
            assert g.get("type") == "connection" and g.get("status") == "connected" and \
                g.get("connection_id") and ISO.match(g.get("timestamp", "")), json.dumps(g)
            report(True, "python3-websockets on /api/ws without a token gets the Connection Acknowledgment (type, status, connection_id, timestamp)")
        except AssertionError as err:
            report(False, "python3-websockets on /api/ws without a token gets the Connection Acknowledgment", err)
            return

        # ---- subscribe to a ticker, as the seed writes it
        await ws1.send(SUBSCRIBE_TICKER)
        await ws2.send(SUBSCRIBE_TICKER)
        name = "the seed's Subscribe to Ticker: a Subscription Confirmation with \"ticker\":\"AAPL\", the Historical Data with \"ticker\", then AAPL price_update messages from the market simulator with every Price Update field"
        try:
            sub = await main.wait(lambda ms: next((m for m in ms if m.get("type") == "subscription"), None), 10, "no confirmation")
            assert sub.get("action") == "subscribed" and sub.get("ticker") == "AAPL" and \
                sub.get("topic") == "market/AAPL" and sub.get("timestamp"), json.dumps(sub)
            hist = await main.wait(lambda ms: next((m for m in ms if m.get("type") == "history"), None), 10, "no history")
            assert hist.get("ticker") == "AAPL" and hist.get("messages") and \
                all(is_price(m) for m in hist["messages"]), json.dumps(hist)[:600]
            since = len(main.msgs)
            live = await main.wait(lambda ms: next((m for m in ms[since:] if is_price(m)), None), 25, "no live AAPL price_update")
            missing = [f for f in PRICE_FIELDS if f not in live]
            assert not missing and live["price"] > 0 and "sent_ns" in live, "missing %s: %s" % (missing, json.dumps(live))
            await witness.wait(lambda ms: any(m.get("type") == "subscription" for m in ms), 10, "the witness is not subscribed")
            report(True, name)
        except AssertionError as err:
            report(False, name, err)
            return

        # ---- heartbeat
        name = "the seed's Heartbeat Ping is answered by a Pong Response with a timestamp"
        try:
            n = len(main.msgs)
            await ws1.send(HEARTBEAT_PING)
            pong = await main.wait(lambda ms: next((m for m in ms[n:] if m.get("type") == "pong"), None), 10, "no pong")
            assert ISO.match(pong.get("timestamp", "")), json.dumps(pong)
            report(True, name)
        except AssertionError as err:
            report(False, name, err)

        # ---- unsubscribe: confirmed, then nothing more for AAPL
        name = "the seed's Unsubscribe is confirmed with \"ticker\":\"AAPL\" and no AAPL price follows (one that a still-subscribed connection gets after it)"
        try:
            n = len(main.msgs)
            await ws1.send(UNSUBSCRIBE)
            un = await main.wait(lambda ms: next((i for i in range(n, len(ms)) if ms[i].get("type") == "subscription"), None), 10, "no unsubscribe confirmation")
            conf = main.msgs[un]
            assert conf.get("action") == "unsubscribed" and conf.get("ticker") == "AAPL" and conf.get("topic") == "market/AAPL", json.dumps(conf)
            # the witness's next AAPL price after the confirmation, then a round trip on main
            w = len(witness.msgs)
            await witness.wait(lambda ms: any(is_price(m) for m in ms[w:]), 25, "the witness got no AAPL price after the unsubscribe")
            p = len(main.msgs)
            await ws1.send(HEARTBEAT_PING)
            await main.wait(lambda ms: any(m.get("type") == "pong" for m in ms[p:]), 10, "no pong")
            after = [m for m in main.msgs[un + 1:] if is_price(m) or m.get("topic") == "market/AAPL"]
            assert not after, "after the unsubscribe: %s" % json.dumps(after)[:600]
            report(True, name)
        except AssertionError as err:
            report(False, name, err)


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    check_copies(argv[2] if len(argv) == 3 else "")
    try:
        asyncio.run(asyncio.wait_for(flow(argv[1]), 120))
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as err:
        report(False, "the protocol flow ran to its end", repr(err))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
