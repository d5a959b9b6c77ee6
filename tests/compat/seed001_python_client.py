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
case (details on "#   " lines); exit status 1 if any failed. The helpers
(reporting, the verbatim check, the program) are compat_harness.py's.
"""

import json
import os
import sys

from compat_harness import Program, brief, check_verbatim, done, step, until

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
    return done()


if __name__ == "__main__":
    sys.exit(main())
