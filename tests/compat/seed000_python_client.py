#!/usr/bin/python3
"""seed000_python_client - seed 000's Python client ("### Python Client") against make run's stack.

The seed's client is run as its own program (Debian's python3 and
python3-websockets), verbatim between the marked lines below, with two
changes: the adapter's address for ws://localhost:8000 and the user's token
(&token=, the gateway's way to say who the user is: the seed's credit
updates are the user's own), and one line added after it,
``asyncio.run(connect_websocket())``: the seed defines the coroutine, its
client_example.py runs it. What it prints ("Received: {...}", a Python dict)
is read back with ast.literal_eval and asserted on.

Its data comes from the seed's backend: seed000_backend.py runs the seed's
"API Integration" route (CreditFeedbackStreamer.stream_credit_analysis through
clients/python/rtg_gateway.py, a notifier token), and a calculation starts
with POST /api/calculations and the user's token, as the seed's calculator
would.

Environment (10-seed000-credit-feedback.sh): RTG_HTTP, RTG_WS, RTG_T_DIR,
RTG_SEED_DOC (may be empty), RTG_USER_TOKEN (user123's), RTG_NOTIFIER_TOKEN;
PYTHONPATH holds clients/python. Prints one "ok - NAME" / "not ok - NAME" line
per case (details on "#   " lines); exit status 1 if any failed. The helpers
(reporting, the verbatim check, the program) are compat_harness.py's.
"""

import asyncio
import json
import os
import sys
import urllib.request

import seed000_backend
from compat_harness import Program, brief, check_verbatim, done, step, until

P = "seed 000 (credit feedback)"
HEADING = "### Python Client"

# ---- seed 000, "### Python Client", verbatim ------------------------------------------------
SEED_SNIPPET = '''import asyncio
import websockets
import json

async def connect_websocket():
    uri = "ws://localhost:8000/realtime/ws/test_client?user_id=user123"
    
    async with websockets.connect(uri) as websocket:
        # Send subscription
        await websocket.send(json.dumps({
            "type": "subscribe",
            "subscription": "credit_updates"
        }))
        
        # Listen for messages
        async for message in websocket:
            data = json.loads(message)
            print(f"Received: {data}")'''
# ---- end of the seed's snippet ---------------------------------------------------------------

SEED_URL = '"ws://localhost:8000/realtime/ws/test_client?user_id=user123"'
# ours, after the snippet: the seed defines the coroutine and runs it from client_example.py
RUN_LINE = "\n\nasyncio.run(connect_websocket())\n"


def start_calculation(http, token, body):
    req = urllib.request.Request(
        http + "/api/calculations",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        answer = json.loads(res.read())
        assert res.status == 202 and answer.get("calculation_id"), f"POST /api/calculations: {res.status} {answer}"
    return answer["calculation_id"]


# ==== the test =====================================================================================


def main():
    http, ws, t_dir = os.environ["RTG_HTTP"], os.environ["RTG_WS"], os.environ["RTG_T_DIR"]
    user_token = os.environ["RTG_USER_TOKEN"]
    # rtg_gateway's default gateway (the seed backend's CreditFeedbackStreamer) reads these
    os.environ["RTG_URL"] = http
    os.environ["RTG_TOKEN"] = os.environ["RTG_NOTIFIER_TOKEN"]

    step(f"{P}: the Python client in this test is the seed's, verbatim", lambda: check_verbatim(HEADING, "python", SEED_SNIPPET))
    step(
        f"{P}: the backend route (API Integration) in seed000_backend.py is the seed's, verbatim",
        lambda: check_verbatim(seed000_backend.HEADING, "python", seed000_backend.SEED_SNIPPET),
    )

    assert SEED_SNIPPET.count(SEED_URL) == 1
    # the adapter's address and the user's token: the seed's credit updates are the user's own
    source = SEED_SNIPPET.replace(SEED_URL, json.dumps(f"{ws}/realtime/ws/test_client?user_id=user123&token={user_token}")) + RUN_LINE
    prog = Program(os.path.join(t_dir, "seed000-python-client.py"), source)

    def flow():
        got = prog.received
        what = lambda: f"printed {brief(got())}; stderr {prog.stderr()!r}"
        greeting = until(lambda: next((m for m in got() if m.get("type") == "connection"), None), 15, what)
        assert greeting.get("user_id") == "user123" and "anonymous" not in greeting, f"greeting {greeting}"
        until(
            lambda: any(m.get("type") == "subscription" and m.get("action") == "subscribed" and m.get("topic") == "user/user123/credit" for m in got()),
            10,
            lambda: "no confirmation of credit_updates (user/user123/credit): " + what(),
        )

        returned, analysis = asyncio.run(seed000_backend.analyze("user123", {"payment_history": 0.91, "credit_utilization": 0.52}))
        assert returned == {"status": "analysis_complete"}, f"the seed's route returned {returned}"
        credit = until(lambda: next((m for m in got() if m.get("type") == "credit_analysis"), None), 15, what)
        data = credit.get("data")
        assert isinstance(data, dict) and isinstance(data.get("score"), int) and data["score"] == analysis["score"], f"credit_analysis {credit}; the analysis was {analysis}"
        for k, v in analysis.items():
            assert data.get(k) == v, f"credit_analysis data.{k} = {data.get(k)!r}, the analysis has {v!r}"
        assert credit.get("topic") == "user/user123/credit", f"credit_analysis {credit}"

        calc_id = start_calculation(http, user_token, {"calculation_type": "npv", "parameters": {"cash_flows": [400, 500, 600], "discount_rate": 0.08, "initial_investment": 1200}})
        done_ = until(
            lambda: next((m for m in got() if m.get("type") == "calculation_progress" and m.get("status") == "completed"), None),
            30,
            lambda: "no completed calculation_progress: " + what(),
        )
        progress = [m.get("progress") for m in got() if m.get("type") == "calculation_progress"]
        assert all(m.get("calculation_id") == calc_id for m in got() if m.get("type") == "calculation_progress"), f"calculation ids {brief(got())}"
        assert all(isinstance(p, int) and 0 <= p <= 100 for p in progress) and progress == sorted(progress) and progress[-1] == 100, f"progress {progress}"
        npv = sum(cf / 1.08 ** (t + 1) for t, cf in enumerate([400, 500, 600])) - 1200
        assert abs(done_["result"]["npv"] - npv) < 1e-6, f"result {done_.get('result')}, npv {npv}"
        assert not any(m.get("type") == "calculation_update" for m in got()), "a calculation_update arrived unrenamed"
        assert prog.proc.poll() is None, f"the seed's client exited: {prog.stderr()!r}"

    try:
        step(
            f"{P}: the Python client (websockets) with ?token= (user123) subscribes credit_updates and prints the credit_analysis the seed's backend route streams with CreditFeedbackStreamer (data.score a number) and calculation_progress up to 100 for POST /api/calculations",
            flow,
        )
    finally:
        prog.stop()
    return done()


if __name__ == "__main__":
    sys.exit(main())
