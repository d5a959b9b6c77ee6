#!/bin/bash
# 30-dashboard: the dashboard, the protocol console and the JS client in a real
# browser (Debian's headless Chromium, driven by playwright-core from npm).
#
# curl checks that the adapter serves the static files with their content
# types (/, /test, /ws/test, /rtg-client.js, /dashboard.js, /dashboard.css).
# Then tests/e2e/dashboard.test.mjs opens the dashboard with a user's token and
# asserts what it shows as data is published through the HTTP API: the
# status, prices with their colours and sparklines, indicators, notifications
# (only this user's), account updates, announcements, an NPV calculation from
# the form to 100 %, the stats panel; then it asks this script to stop the
# adapter (RTG_E2E_CTL handshake: kill-adapter -> adapter-killed,
# start-adapter -> adapter-started), sees the page go to "reconnecting",
# reconnect by itself on the same port, resume with since (recovered, the
# price published while it was down replayed: no gap) and receive what is
# published next. It asks for an ACL change (revoke-market -> market-revoked:
# signed-in users lose market/#, the broker and the adapter reload; then
# restore-market -> market-restored) and sees the prices panel go stale with
# the reason in the log, and live again on a resubscribe. It checks the layout
# at 400 and 1400 px (no sideways scrolling, nothing wider than the screen),
# and the token's way through the tab: out of the address bar, in
# sessionStorage, over to the console and back without it in any URL, and the
# sign-in state of a tab without one. Each of its "ok"/"not ok" lines becomes
# one line here (lib.sh e2e_run). Its screenshots stay in tests/e2e/artifacts/.
#
# Calculations: a calc worker answers on $share/calc/calc/+/request: the
# command in CALC_WORKER if set (with RTG_MQTT_PORT, RTG_CALC_USER and
# RTG_CALC_TOKEN in its environment), else build/rtg-calc-worker if built,
# else a small stand-in here (Python, paho-mqtt) that computes NPV and
# publishes started/processing/completed progress.
#
# Needs /usr/bin/chromium (Debian package chromium), node and npm; runs
# `npm ci` in tests/e2e when its node_modules is missing.
. "$(dirname "$0")/lib.sh"

E2E=$RTG_ROOT/tests/e2e

# ---- prerequisites -------------------------------------------------------------------------------
need_e2e

# ---- broker, adapter, calc worker ----------------------------------------------------------------
# a copy of the stack's ACL, which the test changes and reloads
ACL=$T_DIR/acl.conf
cp "$RTG_ROOT/acl/acl.conf" "$ACL"
ADAPTER_ACL=$ACL
broker_conf "$(free_port)" "$ACL"
start_broker
PORT=$(free_port)
# history_file + a kept MQTT session: the restart in the middle of the test loses nothing
ADAPTER_ARGS=(--http-port "$PORT" --history-file "$T_DIR/history.bin" --mqtt-client-id "rtg-e2e-$$"
	--mqtt-session-expiry 300)
start_adapter "${ADAPTER_ARGS[@]}"

USER_ID=dana
USER_TOKEN=$(token "$USER_ID" "" 3600)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)
CALC_USER=calc-e2e
CALC=$(token "$CALC_USER" calc)

cat >"$T_DIR/calc_worker.py" <<'PY'
"""A stand-in calc worker: answers calc requests with progress and a result."""
import json
import queue
import sys
import time

import paho.mqtt.client as mqtt

port, user, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
requests = queue.Queue()
if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id="e2e-calc", protocol=mqtt.MQTTv311)
else:
    client = mqtt.Client(client_id="e2e-calc", protocol=mqtt.MQTTv311)
client.username_pw_set(user, token)


def on_connect(c, userdata, flags, rc):
    if rc:
        print(f"connection refused: {rc}", flush=True)
        return
    c.subscribe("$share/calc/calc/+/request", qos=1)


def on_subscribe(c, userdata, mid, granted):
    print("ready" if granted[0] in (0, 1, 2) else f"subscription refused: {granted}", flush=True)


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = lambda c, userdata, msg: requests.put(msg)


def npv(p):
    r = float(p["discount_rate"])
    flows = p["cash_flows"]
    return -float(p.get("initial_investment", 0)) + sum(cf / (1 + r) ** (t + 1) for t, cf in enumerate(flows))


client.connect("127.0.0.1", port)
client.loop_start()
while True:
    msg = requests.get()
    try:
        req = json.loads(msg.payload)
    except ValueError:
        continue
    progress_topic = msg.topic.rsplit("/", 1)[0] + "/progress"
    kind = req.get("calculation_type")
    print(f"request {msg.topic} {kind}", flush=True)

    def send(status, progress, text, **extra):
        body = {"type": "calculation_update", "calculation_id": req.get("calculation_id"),
                "calculation_type": kind, "status": status, "progress": progress, "message": text}
        body.update(extra)
        client.publish(progress_topic, json.dumps(body), qos=1, retain=True).wait_for_publish()

    send("started", 0, f"Starting {kind}")
    for step in (25, 50, 75):
        time.sleep(0.15)
        send("processing", step, f"Processing {kind}... {step}%")
    try:
        if kind != "npv":
            raise ValueError(f"the stand-in worker only computes npv, not {kind}")
        value = round(npv(req.get("parameters") or {}), 2)
        send("completed", 100, "Done", result={"npv": value, "profitable": value > 0})
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as err:
        send("failed", 100, str(err), error=str(err))
PY

worker_subscribed() { broker_has_sub '$share/calc/calc/+/request'; }
CALC_FULL=1 # a real worker: the browser test runs every calculation type
if [ -n "${CALC_WORKER:-}" ]; then
	spawn "$T_DIR/calc-worker.log" env RTG_MQTT_PORT="$BROKER_PORT" RTG_CALC_USER="$CALC_USER" \
		RTG_CALC_TOKEN="$CALC" bash -c "$CALC_WORKER"
	check "the calc worker ($CALC_WORKER) subscribes to the requests" wait_until 20 worker_subscribed
elif [ -x "$RTG_BUILD/rtg-calc-worker" ]; then
	echo "$CALC" >"$T_DIR/calc.token"
	spawn "$T_DIR/calc-worker.log" "$RTG_BUILD/rtg-calc-worker" --mqtt-port "$BROKER_PORT" \
		--token-file "$T_DIR/calc.token" --client-id "$CALC_USER" --step-delay-ms 150
	check "rtg-calc-worker subscribes to the requests" wait_until 20 worker_subscribed
else
	CALC_FULL=0
	spawn "$T_DIR/calc-worker.log" "$PY" -u "$T_DIR/calc_worker.py" "$BROKER_PORT" "$CALC_USER" "$CALC"
	check "the stand-in calc worker subscribes to the requests" \
		wait_until 20 file_has "$T_DIR/calc-worker.log" "ready"
fi

# ---- static files ----------------------------------------------------------------------------------

# get NAME PATH: GET PATH; body in NAME.out, headers in NAME.hdr.
get() {
	curl -s --max-time 10 -D "$T_DIR/$1.hdr" -o "$T_DIR/$1.out" "$HTTP$2"
}

# served NAME PATH TYPE TEXT: GET PATH answers 200 with content type TYPE and a body containing TEXT.
served() {
	local status ctype
	get "$1" "$2" || { IS_LAST="$2: curl failed"; return 1; }
	status=$(awk 'NR == 1 {print $2}' "$T_DIR/$1.hdr")
	ctype=$(awk 'BEGIN {FS = ": "} tolower($1) == "content-type" {sub(/\r$/, "", $2); print $2; exit}' "$T_DIR/$1.hdr")
	[ "$status" = 200 ] || { IS_LAST="$2: HTTP $status"; return 1; }
	[[ "$ctype" == "$3"* ]] || { IS_LAST="$2: content type '$ctype', expected $3"; return 1; }
	grep -qF -- "$4" "$T_DIR/$1.out" || { IS_LAST="$2: the body lacks '$4'"; return 1; }
}

expect "GET / serves the dashboard (HTML)" served index / text/html 'data-testid="status"'
expect "GET /test serves the protocol console" served console /test text/html 'Protocol console'
expect "GET /ws/test serves the protocol console too" served wstest /ws/test text/html 'Protocol console'
expect "GET /rtg-client.js serves the JS client as JavaScript" \
	served client /rtg-client.js text/javascript 'export class RtgClient'
check "and it is clients/js/rtg-client.js byte for byte" cmp -s "$T_DIR/client.out" "$RTG_ROOT/clients/js/rtg-client.js"
expect "GET /dashboard.js is JavaScript" served djs /dashboard.js text/javascript 'RtgClient'
expect "GET /dashboard.css is CSS" served dcss /dashboard.css text/css '.status'
expect "GET /session.js (the tab's token) is JavaScript" served sjs /session.js text/javascript 'sessionStorage'

# ---- the browser test, and the adapter restart it asks for -----------------------------------------
CTL=$T_DIR/ctl
mkdir -p "$CTL"

# reload_adapter: SIGHUP, then waits for the adapter to log that it reloaded.
reload_adapter() {
	local before
	before=$(grep -c "reloaded keys" "$T_DIR/adapter.log")
	kill -HUP "$ADAPTER_PID"
	wait_until 10 eval '[ "$(grep -c "reloaded keys" "$T_DIR/adapter.log")" -gt "$before" ]'
}

# set_acl FILE: makes FILE the ACL and reloads the broker and the adapter.
set_acl() {
	cp "$1" "$ACL"
	reload_broker || echo "# the broker did not reload $1"
	reload_adapter || echo "# the adapter did not reload $1"
}

# without "topic read market/#" for signed-in users (its first line): market/+ is revoked
awk '/^topic read market\/#$/ && !done { done = 1; next } { print }' "$ACL" >"$T_DIR/acl-no-market.conf"
cp "$ACL" "$T_DIR/acl-full.conf"
check "the revoking ACL lacks exactly one line" \
	test "$(($(wc -l <"$T_DIR/acl-full.conf") - $(wc -l <"$T_DIR/acl-no-market.conf")))" = 1

# stop_start_when_asked: this test's side of the RTG_E2E_CTL handshake (e2e_run).
stop_start_when_asked() {
	if [ -e "$CTL/revoke-market" ] && [ ! -e "$CTL/market-revoked" ]; then
		set_acl "$T_DIR/acl-no-market.conf"
		touch "$CTL/market-revoked"
	fi
	if [ -e "$CTL/restore-market" ] && [ ! -e "$CTL/market-restored" ]; then
		set_acl "$T_DIR/acl-full.conf"
		touch "$CTL/market-restored"
	fi
	if [ -e "$CTL/kill-adapter" ] && [ ! -e "$CTL/adapter-killed" ]; then
		stop "$ADAPTER_PID"
		# published while the adapter is away: the broker keeps it for the adapter's session
		pub feed "$PUBLISHER" market/AAPL '{"type":"price_update","ticker":"AAPL","price":193.7,"change":5.8,"change_percent":3.09,"volume":45000000,"high":194.48,"low":187.15,"open":187.9}' -r
		touch "$CTL/adapter-killed"
	fi
	if [ -e "$CTL/start-adapter" ] && [ ! -e "$CTL/adapter-started" ]; then
		start_adapter "${ADAPTER_ARGS[@]}" # same port, same arguments
		touch "$CTL/adapter-started"
	fi
}

e2e_run 200 stop_start_when_asked env RTG_HTTP="$HTTP" RTG_USER="$USER_ID" RTG_USER_TOKEN="$USER_TOKEN" \
	RTG_OTHER_USER=erin RTG_PUBLISHER_TOKEN="$PUBLISHER" RTG_NOTIFIER_TOKEN="$NOTIFIER" \
	RTG_E2E_CTL="$CTL" RTG_E2E_ARTIFACTS="$E2E/artifacts" RTG_CALC_FULL="$CALC_FULL" \
	node "$E2E/dashboard.test.mjs"

finish
