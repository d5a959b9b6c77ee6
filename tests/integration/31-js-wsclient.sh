#!/bin/bash
# 31-js-wsclient: seed 003's WebSocketClient (clients/js/rtg-client.js) in a
# real browser (Debian's headless Chromium, driven by playwright-core).
#
# tests/e2e/wsclient.test.mjs opens a page the adapter serves (from a static
# dir of this test: static/'s files and the page) that imports /rtg-client.js
# and runs the seed's usage snippet verbatim (plus the token: its
# subscribe('alerts') is the user's own, and an adapter from before the
# endpoint profiles requires one on /api/ws),
# then asserts what the seed's dashboard relies on: price_update and
# pattern_alert handlers get what mosquitto_pub publishes, change-only batched
# DOM updates, getStats() with the seed's fields, the heartbeat, the
# 10-messages-a-second throttle on a burst of 50 (none lost), reconnection and
# resubscription after an adapter restart (RTG_E2E_CTL handshake:
# restart-adapter -> adapter-restarted, done here with the lib.sh helpers on
# the same port), and that disconnect() ends it: no new connection in
# /api/stats for 3 s. Each of its "ok"/"not ok" lines becomes one line here
# (lib.sh e2e_run).
#
# RTG_WSCLIENT_TOKENLESS=1 runs the snippet without a token, as an anonymous
# client ('alerts' is then refused). Needs /usr/bin/chromium, node and npm;
# runs `npm ci` in tests/e2e when its node_modules is missing.
. "$(dirname "$0")/lib.sh"

E2E=$RTG_ROOT/tests/e2e

# ---- prerequisites -------------------------------------------------------------------------------
need_e2e

# ---- broker and adapter --------------------------------------------------------------------------
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
# The adapter's static dir: every file of static/ (so /rtg-client.js is the one
# served in production) and the test page, which the browser test writes here.
WWW=$T_DIR/www
mkdir -p "$WWW"
for f in "$RTG_ROOT"/static/*; do
	ln -s "$f" "$WWW/"
done
# a fixed port: the restart comes back on it; the later --static-dir wins over lib.sh's
# a deep history and a short queue: the gap step's burst overflows the queue and every run can be replayed
ADAPTER_ARGS=(--http-port "$(free_port)" --static-dir "$WWW" --history-size 10000 --queue-max-messages 128)
start_adapter "${ADAPTER_ARGS[@]}"

USER_ID=trader
USER_TOKEN=$(token "$USER_ID" "" 3600)
PUBLISHER=feed
PUBLISHER_TOKEN=$(token "$PUBLISHER" publisher)

# The seed documents live beside the repository on the project's machines, not in it.
SEED_DOC=
for f in "$RTG_ROOT"/../shared/seeds/003_*.txt; do
	[ -f "$f" ] && SEED_DOC=$f
done

# ---- the browser test, and the adapter restart it asks for ------------------------------------------
CTL=$T_DIR/ctl
mkdir -p "$CTL"

# restart_when_asked: this test's side of the RTG_E2E_CTL handshake (e2e_run).
restart_when_asked() {
	if [ -e "$CTL/restart-adapter" ] && [ ! -e "$CTL/adapter-restarted" ]; then
		stop "$ADAPTER_PID"
		start_adapter "${ADAPTER_ARGS[@]}" # same port, same arguments
		touch "$CTL/adapter-restarted"
	fi
}

e2e_run 150 restart_when_asked env RTG_HTTP="$HTTP" RTG_E2E_WWW="$WWW" RTG_MQTT_PORT="$BROKER_PORT" \
	RTG_USER="$USER_ID" RTG_USER_TOKEN="$USER_TOKEN" RTG_PUBLISHER="$PUBLISHER" \
	RTG_PUBLISHER_TOKEN="$PUBLISHER_TOKEN" RTG_E2E_CTL="$CTL" RTG_SEED_DOC="$SEED_DOC" \
	RTG_WSCLIENT_TOKENLESS="${RTG_WSCLIENT_TOKENLESS:-}" node "$E2E/wsclient.test.mjs"

finish
