#!/bin/bash
# 32-python-client: clients/python/rtg_gateway.py, the seed backends' broadcast
# calls over the adapter's HTTP API, against the real broker and adapter.
#
# A Python script (Debian's /usr/bin/python3, standard library only) imports
# the seeds' own names and awaits each once (asyncio.run) with a service token
# of roles notifier and publisher, read from RTG_TOKEN_FILE; a mosquitto_sub as
# alice (her user topics, market/#, system/announcements, rooms/lobby) must
# receive each message on its topic with the message type the gateway gives
# it. The synchronous Gateway must raise GatewayError(401) for a bad or
# missing token, GatewayError(403) without the role or outside the ACL, and
# GatewayError(None) when nothing listens.
#
# Written for the gateway's broadcast table in profiles/gateway.conf
# (docs/profiles.md "Broadcast sections"): kinds credit and market_status,
# a notification's own "type" moved to notification_type, market broadcasts
# on market/updates, alerts without a user on market/alerts/<ticker>.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter

SERVICE=$(token backend "notifier,publisher")
ALICE=$(token alice)
NOROLE=$(token bob)
NOTIFIER_ONLY=$(token notify notifier)
echo "$SERVICE" >"$T_DIR/service.token"
DEAD_URL="http://127.0.0.1:$(free_port)" # nothing listens there

if ! sub_start all alice "$ALICE" 'user/alice/#' -t 'market/#' -t system/announcements -t rooms/lobby; then
	not_ok "alice's mosquitto_sub is subscribed" "$(cat "$T_DIR/all.err")"
	finish
fi

# ---- the seeds' calls ------------------------------------------------------------------------------
cat >"$T_DIR/calls.py" <<'PY'
"""Awaits each seed call once; one JSON line per call: its answer or its GatewayError."""
import asyncio
import datetime
import json
import os
import sys

from rtg_gateway import (  # seed 002, as app.core.websocket exported them
    broadcast_balance_update,
    broadcast_market_update,
    broadcast_notification,
    broadcast_system_announcement,
    broadcast_transaction_update,
)
from rtg_gateway import CreditFeedbackStreamer  # seed 000
from rtg_gateway import (  # seed 003
    publish_alert_trigger,
    publish_market_status,
    publish_pattern_alert,
    publish_price_update,
)
from rtg_gateway import Gateway, GatewayError

URL = os.environ["RTG_URL"]


def report(name, fn):
    try:
        out = {"call": name, "answer": fn()}
    except GatewayError as err:
        out = {"call": name, "error": {"status": err.status, "message": err.message, "str": str(err)}}
    print(json.dumps(out), flush=True)


async def call(name, coro):
    try:
        out = {"call": name, "answer": await coro}
    except GatewayError as err:
        out = {"call": name, "error": {"status": err.status, "message": err.message}}
    print(json.dumps(out), flush=True)


async def main():
    now = datetime.datetime.now(datetime.timezone.utc)
    coroutines = all(asyncio.iscoroutinefunction(f) for f in (
        broadcast_notification, broadcast_transaction_update, broadcast_balance_update,
        broadcast_market_update, broadcast_system_announcement, publish_price_update,
        publish_pattern_alert, publish_alert_trigger, publish_market_status))
    print(json.dumps({"call": "coroutines", "answer": coroutines}), flush=True)

    # seed 002: the notification service's own call, field for field
    await call("notification", broadcast_notification({
        "id": "n-1001",
        "title": "Payment received",
        "message": "USD 250.00 from Jane Doe",
        "type": "transaction",
        "priority": "high",
        "metadata": {"transaction_id": "t-77"},
        "created_at": now,  # a datetime: sent as ISO text
    }, "alice"))
    await call("transaction", broadcast_transaction_update(
        {"transaction_id": "t-77", "status": "completed", "amount": 250.0, "timestamp": now.isoformat()}, "alice"))
    await call("balance", broadcast_balance_update({"balance": 1520.75, "currency": "USD"}, "alice"))
    await call("balance_int_id", broadcast_balance_update({"balance": 10.5, "currency": "USD"}, 42))
    await call("market", broadcast_market_update({"symbol": "BTC-USD", "price": 97000.5, "change_percent": 1.2}, "market_data"))
    await call("market_lobby", broadcast_market_update({"symbol": "EURUSD", "rate": 1.0842}, "lobby"))
    await call("announcement", broadcast_system_announcement(
        {"title": "Maintenance window", "message": "Sunday 02:00-03:00 UTC", "priority": "high"}))
    # seed 000: called on the class, as its API integration does
    await call("credit", CreditFeedbackStreamer.stream_credit_analysis("alice", {
        "credit_score": 742, "risk_level": "low", "risk_score": 0.18,
        "factors": [{"name": "payment_history", "impact": "positive"}],
        "recommendations": ["Keep utilization under 30%"]}))
    await call("credit_instance", CreditFeedbackStreamer(Gateway(URL)).stream_credit_analysis(
        "alice", {"credit_score": 745, "risk_level": "low"}))
    # seed 003: the manager's publish_* calls
    await call("price", publish_price_update("AAPL", {
        "price": 150.25, "change": 2.5, "change_percent": 1.69, "volume": 75000000,
        "high": 151.0, "low": 148.5, "open": 149.0}))
    await call("pattern", publish_pattern_alert({
        "ticker": "AAPL", "pattern_type": "VCP", "score": 8.5, "entry_price": 150.5,
        "stop_price": 145.0, "target_price": 165.0, "message": "VCP pattern detected with high score"}))
    await call("alert", publish_alert_trigger({
        "ticker": "AAPL", "alert_type": "breakout", "trigger_price": 150.0, "current_price": 150.25,
        "message": "AAPL breaking out at $150.25 (target: $150.00)", "user_id": "alice"}))
    await call("alert_market", publish_alert_trigger({
        "ticker": "TSLA", "alert_type": "volume_spike", "current_price": 246.9, "message": "TSLA volume spike"}))
    await call("market_status", publish_market_status(
        {"status": "open", "next_open": None, "next_close": "2025-11-18T21:00:00Z"}))

    # the synchronous class and its errors
    token = open(os.environ["RTG_TOKEN_FILE"]).read().strip()
    os.environ.pop("RTG_TOKEN_FILE")
    os.environ["RTG_TOKEN"] = token
    report("sync_env_token", lambda: Gateway().broadcast_system_announcement({"title": "From RTG_TOKEN"}))
    os.environ.pop("RTG_TOKEN")
    report("bad_token", lambda: Gateway(URL, "not-a-token").broadcast_notification({"title": "x"}, "alice"))
    report("no_token", lambda: Gateway(URL, "").broadcast_notification({"title": "x"}, "alice"))
    report("no_role", lambda: Gateway(URL, os.environ["NOROLE"]).broadcast_notification({"title": "x"}, "alice"))
    report("outside_acl", lambda: Gateway(URL, os.environ["NOTIFIER_ONLY"]).publish_price_update("AAPL", {"price": 1.0}))
    report("unreachable", lambda: Gateway(os.environ["DEAD_URL"], token, timeout=5).broadcast_system_announcement({"title": "x"}))


asyncio.run(main())
PY

PYTHONPATH=$RTG_ROOT/clients/python RTG_URL=$HTTP RTG_TOKEN_FILE=$T_DIR/service.token \
	NOROLE=$NOROLE NOTIFIER_ONLY=$NOTIFIER_ONLY DEAD_URL=$DEAD_URL \
	"$PY" "$T_DIR/calls.py" >"$T_DIR/calls.out" 2>"$T_DIR/calls.log"
check "the calls script runs to its end" [ "$(grep -c '"call"' "$T_DIR/calls.out")" -eq 21 ]

# answer CALL EXPR: EXPR (Python) over the line of CALL in calls.out: A (its
# answer) and E (its error: status, message), each {} when absent.
answer() {
	"$PY" - "$T_DIR/calls.out" "$1" "$2" <<'PY' 2>&1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [l for l in lines if l.get("call") == sys.argv[2]]
if not mine:
    print("no such call")
    sys.exit()
A, E = mine[0].get("answer") or {}, mine[0].get("error") or {}
print(eval(sys.argv[3]))
PY
}

# on TOPIC EXPR: "True" if a message alice's subscriber got on TOPIC makes EXPR
# (Python, over its payload P) true, else what it got there.
on() {
	"$PY" - "$T_DIR/all.out" "$1" "$2" <<'PY' 2>&1
import json, sys
seen = []
for line in open(sys.argv[1]):
    topic, _, payload = line.rstrip("\n").partition(" ")
    if topic != sys.argv[2]:
        continue
    try:
        P = json.loads(payload)
    except ValueError:
        P = payload
    seen.append(P)
    try:
        if eval(sys.argv[3]):
            print(True)
            sys.exit()
    except Exception:
        pass
print(f"got on {sys.argv[2]}: {seen}" if seen else f"nothing on {sys.argv[2]}")
PY
}

# delivered CALL TOPIC EXPR: CALL was answered as published to TOPIC, and a
# message on TOPIC makes EXPR true (within 10 s).
delivered() {
	is_via answer "$1" 'A.get("status"), A.get("topic"), E' "('published', '$2', {})" &&
		wait_until 10 is_via on "$2" "$3" True
}

expect "the module-level calls are coroutines" is_via answer coroutines 'A' True
expect "broadcast_notification reaches user/alice/notifications: its title, type notification, the data's type as notification_type" \
	delivered notification user/alice/notifications \
	'P["title"] == "Payment received" and P["type"] == "notification" and P["notification_type"] == "transaction" and P["user_id"] == "alice" and P["metadata"] == {"transaction_id": "t-77"} and P["created_at"].startswith("20")'
expect "broadcast_transaction_update reaches user/alice/transactions as transaction_update" \
	delivered transaction user/alice/transactions \
	'P["type"] == "transaction_update" and P["transaction_id"] == "t-77" and P["amount"] == 250.0'
expect "broadcast_balance_update reaches user/alice/balance as balance_update" \
	delivered balance user/alice/balance 'P["type"] == "balance_update" and P["balance"] == 1520.75'
expect "an integer user id is a topic level (user/42/balance)" \
	is_via answer balance_int_id 'A.get("status"), A.get("topic")' "('published', 'user/42/balance')"
expect "broadcast_market_update(data, 'market_data') reaches market/updates as market_update" \
	delivered market market/updates 'P["type"] == "market_update" and P["symbol"] == "BTC-USD" and P["price"] == 97000.5'
expect "broadcast_market_update(data, 'lobby') reaches rooms/lobby as market_update" \
	delivered market_lobby rooms/lobby 'P["type"] == "market_update" and P["symbol"] == "EURUSD"'
expect "broadcast_system_announcement reaches system/announcements as system_announcement" \
	delivered announcement system/announcements 'P["type"] == "system_announcement" and P["title"] == "Maintenance window"'
expect "CreditFeedbackStreamer.stream_credit_analysis (on the class) reaches user/alice/credit as credit_analysis" \
	delivered credit user/alice/credit \
	'P["type"] == "credit_analysis" and P["credit_score"] == 742 and P["risk_level"] == "low" and P["user_id"] == "alice"'
expect "and on an instance with its own Gateway" \
	delivered credit_instance user/alice/credit 'P["type"] == "credit_analysis" and P["credit_score"] == 745'
expect "publish_price_update reaches market/AAPL as price_update" \
	delivered price market/AAPL 'P["type"] == "price_update" and P["ticker"] == "AAPL" and P["price"] == 150.25'
expect "publish_pattern_alert reaches market/patterns/AAPL as pattern_alert" \
	delivered pattern market/patterns/AAPL 'P["type"] == "pattern_alert" and P["pattern_type"] == "VCP" and P["score"] == 8.5'
expect "publish_alert_trigger with a user reaches user/alice/alerts as alert_trigger" \
	delivered alert user/alice/alerts 'P["type"] == "alert_trigger" and P["alert_type"] == "breakout" and P["current_price"] == 150.25'
expect "publish_alert_trigger without a user reaches market/alerts/TSLA" \
	delivered alert_market market/alerts/TSLA 'P["type"] == "alert_trigger" and P["alert_type"] == "volume_spike"'
expect "publish_market_status reaches market/status as market_status" \
	delivered market_status market/status 'P["type"] == "market_status" and P["status"] == "open" and P["next_open"] is None'
expect "Gateway() takes the token from RTG_TOKEN" \
	delivered sync_env_token system/announcements 'P["title"] == "From RTG_TOKEN"'

expect "a bad token raises GatewayError(401) with the gateway's error text" \
	is_via answer bad_token 'E.get("status"), "invalid token" in E.get("message", ""), E.get("str", "").startswith("HTTP 401: ")' \
	"(401, True, True)"
expect "no token raises GatewayError(401)" is_via answer no_token 'E.get("status"), "token" in E.get("message", "")' "(401, True)"
expect "a user without the notifier or publisher role gets GatewayError(403)" \
	is_via answer no_role 'E.get("status"), "role" in E.get("message", "")' "(403, True)"
expect "a role the ACL does not let write the topic gets GatewayError(403)" \
	is_via answer outside_acl 'E.get("status"), "market/AAPL" in E.get("message", "")' "(403, True)"
expect "nothing listening raises GatewayError(None)" \
	is_via answer unreachable 'E.get("status"), "unreachable" in E.get("str", "")' "(None, True)"
check "the refused calls published nothing" lacks all '"title":"x"'

finish
