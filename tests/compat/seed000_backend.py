#!/usr/bin/python3
"""seed000_backend - seed 000's backend route ("### API Integration") run as the seed has it.

The route is the seed's code, verbatim between the marked lines below; the one
change is its import: ``from realtime.websocket_manager import
CreditFeedbackStreamer`` (the seed's in-process connection manager) becomes
``from rtg_gateway import CreditFeedbackStreamer`` (clients/python/rtg_gateway.py,
which posts to the gateway's /api/broadcast/credit). Two names the snippet uses
but does not define come from here: ``app``, a stand-in for FastAPI's router
that only records the decorated function (FastAPI is not installed here and is
not under test: calling the function is what FastAPI does on a POST), and
``perform_credit_analysis``, the seed's own analysis, which its document does
not show (a small deterministic score model).

The gateway and the token: RTG_URL (the adapter's base URL) and RTG_TOKEN (a
service token with the notifier role), read by rtg_gateway. PYTHONPATH must
hold clients/python.

    seed000_backend.py USER_ID CREDIT_DATA_JSON
        runs the route for USER_ID with CREDIT_DATA_JSON (an object) and prints
        {"returned": <what the route returned>, "analysis": <what it streamed>}
        as one JSON line; exit status 1 with the error on stderr if the gateway
        refused it.

Imported: analyze(user_id, credit_data) (a coroutine) does the same;
SEED_SNIPPET and CHANGES are for the verbatim check (seed000_python_client.py).
"""

import asyncio
import json
import sys

HEADING = "### API Integration"

# ---- seed 000, "### API Integration", verbatim ---------------------------------------------
SEED_SNIPPET = '''# Trigger WebSocket updates from API endpoints
from realtime.websocket_manager import CreditFeedbackStreamer

@app.post("/api/analyze-credit/{user_id}")
async def analyze_credit(user_id: str, credit_data: dict):
    # Perform analysis
    analysis_result = perform_credit_analysis(credit_data)
    
    # Stream results in real-time
    await CreditFeedbackStreamer.stream_credit_analysis(
        user_id, analysis_result
    )
    
    return {"status": "analysis_complete"}'''
# ---- end of the seed's snippet ---------------------------------------------------------------

# (from, to, why): each must occur exactly once in the snippet
CHANGES = [
    (
        "from realtime.websocket_manager import CreditFeedbackStreamer",
        "from rtg_gateway import CreditFeedbackStreamer",
        "the gateway's client library stands where the seed's in-process connection manager was",
    ),
]


def adapt(text, changes):
    """text with each change applied; ValueError if a change's text is not there exactly once."""
    for old, new, _why in changes:
        if text.count(old) != 1:
            raise ValueError(f"the snippet has {text.count(old)} occurrences of {old!r}, not 1")
        text = text.replace(old, new)
    return text


class Routes:
    """The part of FastAPI's app the snippet uses: @app.post(path) keeps the function."""

    def __init__(self):
        self.posts = {}

    def post(self, path):
        def register(fn):
            self.posts[path] = fn
            return fn

        return register


def perform_credit_analysis(credit_data):
    """The seed's own analysis (not in its document): a score from 300 to 850 from the
    share of payments made on time and the credit utilization, with a risk level,
    the factors and advice."""
    on_time = float(credit_data["payment_history"])
    utilization = float(credit_data["credit_utilization"])
    score = round(300 + 550 * (0.6 * on_time + 0.4 * (1.0 - utilization)))
    level = "low" if score >= 700 else "medium" if score >= 600 else "high"
    advice = []
    if utilization > 0.3:
        advice.append("Bring credit utilization under 30%")
    if on_time < 0.98:
        advice.append("Pay every bill on time")
    return {
        "score": score,
        "risk_level": level,
        "factors": [f"Payment history: {on_time:.0%} on time", f"Credit utilization: {utilization:.0%}"],
        "recommendations": advice,
    }


def load_route():
    """The seed's analyze_credit, defined by running its (adapted) snippet."""
    app = Routes()
    scope = {"app": app, "perform_credit_analysis": perform_credit_analysis, "__name__": "seed000_api"}
    exec(compile(adapt(SEED_SNIPPET, CHANGES), "seed000-api-integration", "exec"), scope)
    return app.posts["/api/analyze-credit/{user_id}"]


async def analyze(user_id, credit_data):
    """What a POST /api/analyze-credit/{user_id} with credit_data does in the seed's app:
    (the route's return value, the analysis it streamed)."""
    returned = await load_route()(user_id, credit_data)
    return returned, perform_credit_analysis(credit_data)


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} USER_ID CREDIT_DATA_JSON", file=sys.stderr)
        return 2
    try:
        returned, analysis = asyncio.run(analyze(argv[1], json.loads(argv[2])))
    except Exception as err:  # GatewayError above all: the status and the gateway's message
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"returned": returned, "analysis": analysis}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
