#!/usr/bin/python3
"""seed001_python_client - seed 001's Python client ("#### Python Client Example") against make run's stack.

The seed's client is run as its own program (Debian's python3 and
python3-websockets), verbatim between the marked lines below, with one change:
the adapter's address for ws://localhost:8000. It connects to /ws without a
token, as the seed has it (an anonymous client: public topics only), and
subscribes market_data. What it prints ("Received: {...}", a Python dict) is
read back with ast.literal_eval and asserted on: the greeting, the
subscription, market_update with the five indicators under "data" (the
document's "Market Update") and price updates, from rtg-market-sim.

Environment (20-seed001-ai-dashboard.sh): RTG_HTTP, RTG_WS, RTG_T_DIR,
RTG_SEED_DOC (may be empty). Prints one "ok - NAME" / "not ok - NAME" line per
case (details on "#   " lines); exit status 1 if any failed. The helpers are
seed000_python_client.py's (kept apart: each file stands alone).
"""

import ast
import json
import os
import re
import subprocess
import sys
import threading
import time

P = "seed 001 (AI adoption dashboard)"
HEADING = "#### Python Client Example"

# ---- seed 001, "#### Python Client Example", verbatim ----------------------------------------
SEED_SNIPPET = '''import asyncio
import websockets
import json

async def connect():
    async with websockets.connect("ws://localhost:8000/ws") as websocket:
        # Subscribe to market data
        await websocket.send(json.dumps({
            "type": "subscribe",
            "channel": "market_data"
        }))
        
        # Listen for updates
        async for message in websocket:
            data = json.loads(message)
            print(f"Received: {data}")

asyncio.run(connect())'''
# ---- end of the seed's snippet ---------------------------------------------------------------

SEED_URL = '"ws://localhost:8000/ws"'
INDICATORS = ["discount_rate", "inflation_rate", "market_growth", "tech_index", "ai_adoption_rate"]

# ==== reporting ==================================================================================

PASSED = 0
FAILED = 0


class Skip(Exception):
    """A case that cannot run here: "ok - NAME # SKIP why"."""


def step(name, fn):
    global PASSED, FAILED
    try:
        fn()
    except Skip as why:
        PASSED += 1
        print(f"ok - {name} # SKIP {why}", flush=True)
        return True
    except Exception as err:  # an AssertionError above all; anything else is a failure too
        FAILED += 1
        print(f"not ok - {name}", flush=True)
        text = str(err) if isinstance(err, AssertionError) else f"{type(err).__name__}: {err}"
        for line in text.splitlines()[:20]:
            print(f"#   {line}", flush=True)
        return False
    PASSED += 1
    print(f"ok - {name}", flush=True)
    return True


def until(fn, timeout, what):
    """Polls fn every 50 ms until it returns something true; AssertionError(what()) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout} s: {what()}")
        time.sleep(0.05)


# ==== the seed's text ==============================================================================


def seed_block(text, heading, lang):
    """The first ```lang block after the line `heading`, or None."""
    lines = text.split("\n")
    try:
        at = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        return None
    m = re.search(r"```" + lang + r"\n(.*?)\n```", "\n".join(lines[at + 1 :]), re.S)
    return m.group(1) if m else None


def normalised(s):
    return " ".join(s.split())


def text_diff(a, b):
    wa, wb = normalised(a).split(" "), normalised(b).split(" ")
    i = 0
    while i < len(wa) and i < len(wb) and wa[i] == wb[i]:
        i += 1
    return f"first difference at word {i + 1}: {' '.join(wa[max(0, i - 4):i + 6])!r} / {' '.join(wb[max(0, i - 4):i + 6])!r}"


def check_verbatim(heading, lang, snippet):
    doc_path = os.environ.get("RTG_SEED_DOC", "")
    if not doc_path:
        raise Skip("no seed documents here")
    with open(doc_path, encoding="utf-8") as f:
        doc = seed_block(f.read(), heading, lang)
    assert doc is not None, f"{doc_path} has no {lang} block under {heading!r}"
    assert normalised(doc) == normalised(snippet), f"the document's snippet differs: {text_diff(doc, snippet)} (document / test)"


# ==== the seed's program as a child process =======================================================


class Program:
    """A Python program run with Debian's python3; its stdout lines are collected."""

    def __init__(self, path, source):
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        self.lines = []
        self.lock = threading.Lock()
        self.err = open(path + ".log", "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-u", path], stdout=subprocess.PIPE, stderr=self.err, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def received(self):
        """What the seed printed as "Received: {data}", each parsed back into its dict."""
        with self.lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            if line.startswith("Received: "):
                out.append(ast.literal_eval(line[len("Received: ") :]))
        return out

    def stderr(self):
        self.err.flush()
        with open(self.err.name, encoding="utf-8") as f:
            return f.read()[-1500:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def brief(msgs):
    return json.dumps([[m.get("type"), m.get("topic") or m.get("message") or m.get("user_id")] for m in msgs][-30:])


# ==== the test =====================================================================================


def main():
    ws, t_dir = os.environ["RTG_WS"], os.environ["RTG_T_DIR"]

    step(f"{P}: the Python client in this test is the seed's, verbatim", lambda: check_verbatim(HEADING, "python", SEED_SNIPPET))

    assert SEED_SNIPPET.count(SEED_URL) == 1
    # the adapter's address; no token, as the seed has it
    prog = Program(os.path.join(t_dir, "seed001-python-client.py"), SEED_SNIPPET.replace(SEED_URL, json.dumps(f"{ws}/ws")))

    def flow():
        got = prog.received
        what = lambda: f"printed {brief(got())}; stderr {prog.stderr()!r}"
        greeting = until(lambda: next((m for m in got() if m.get("type") == "connection"), None), 15, what)
        assert greeting.get("anonymous") is True and greeting.get("user_id") is None, f"greeting {greeting}"
        until(
            lambda: any(m.get("type") == "subscription" and m.get("action") == "subscribed" and m.get("topic") == "market/+" and m.get("channel") == "market_data" for m in got()),
            10,
            lambda: "no confirmation of market_data (market/+): " + what(),
        )
        # live messages, not the history the subscription starts with
        update = until(lambda: next((m for m in got() if m.get("type") == "market_update"), None), 40, lambda: "no market_update: " + what())
        data = update.get("data")
        assert isinstance(data, dict) and all(isinstance(data.get(f), (int, float)) and not isinstance(data.get(f), bool) for f in INDICATORS), f"market_update {update}"
        assert isinstance(update.get("timestamp"), str) and update.get("topic") == "market/indicators", f"market_update {update}"
        prices = until(
            lambda: (lambda p: len({m.get("ticker") for m in p}) >= 3 and p)([m for m in got() if m.get("type") == "price_update"]),
            30,
            lambda: "price_update for fewer than 3 tickers: " + what(),
        )
        bad = [m for m in prices if not isinstance(m.get("price"), (int, float)) or m.get("topic") != f"market/{m.get('ticker')}"]
        assert not bad, f"price updates {bad[:3]}"
        private = [m for m in got() if str(m.get("topic", "")).startswith(("user/", "calc/"))]
        assert not private, f"an anonymous client got {private[:3]}"
        assert prog.proc.poll() is None, f"the seed's client exited: {prog.stderr()!r}"

    try:
        step(
            f"{P}: the Python client (websockets) on /ws without a token subscribes market_data and prints market_update with discount_rate, inflation_rate, market_growth, tech_index, ai_adoption_rate under data and price updates",
            flow,
        )
    finally:
        prog.stop()
    return 1 if FAILED or not PASSED else 0


if __name__ == "__main__":
    sys.exit(main())
