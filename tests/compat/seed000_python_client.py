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
per case (details on "#   " lines); exit status 1 if any failed.
"""

import ast
import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import seed000_backend

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
    return 1 if FAILED or not PASSED else 0


if __name__ == "__main__":
    sys.exit(main())
