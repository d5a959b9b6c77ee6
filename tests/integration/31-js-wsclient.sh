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
# /api/stats for 3 s. Each of its "ok"/"not ok" lines becomes one line here.
#
# RTG_WSCLIENT_TOKENLESS=1 runs the snippet without a token, as an anonymous
# client ('alerts' is then refused). Needs /usr/bin/chromium, node and npm;
# runs `npm ci` in tests/e2e when its node_modules is missing.
. "$(dirname "$0")/lib.sh"

E2E=$RTG_ROOT/tests/e2e

# ---- prerequisites -------------------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
	not_ok "chromium is installed" \
		"/usr/bin/chromium is missing: scripts/setup.sh must install the Debian package 'chromium'"
	finish
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "node and npm are installed" \
		"node or npm is missing: scripts/setup.sh must install Node.js (Debian 'nodejs' and 'npm')"
	finish
fi
if [ ! -f "$E2E/node_modules/playwright-core/package.json" ]; then
	if ! (cd "$E2E" && npm ci --no-audit --no-fund) >"$T_DIR/npm.log" 2>&1; then
		not_ok "npm ci installs playwright-core in tests/e2e" "$(tail -n 5 "$T_DIR/npm.log")"
		finish
	fi
fi
ok "chromium, node and playwright-core are available"

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
ADAPTER_ARGS=(--http-port "$(free_port)" --static-dir "$WWW")
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
RTG_HTTP=$HTTP RTG_E2E_WWW=$WWW RTG_MQTT_PORT=$BROKER_PORT RTG_USER=$USER_ID RTG_USER_TOKEN=$USER_TOKEN \
	RTG_PUBLISHER=$PUBLISHER RTG_PUBLISHER_TOKEN=$PUBLISHER_TOKEN RTG_E2E_CTL=$CTL \
	RTG_SEED_DOC=$SEED_DOC RTG_WSCLIENT_TOKENLESS=${RTG_WSCLIENT_TOKENLESS:-} \
	node "$E2E/wsclient.test.mjs" >"$T_DIR/e2e.out" 2>"$T_DIR/e2e-stderr.log" &
NODE_PID=$!
T_PIDS+=("$NODE_PID")

deadline=$((SECONDS + 150))
while kill -0 "$NODE_PID" 2>/dev/null; do
	if [ -e "$CTL/restart-adapter" ] && [ ! -e "$CTL/adapter-restarted" ]; then
		stop "$ADAPTER_PID"
		start_adapter "${ADAPTER_ARGS[@]}" # same port, same arguments
		touch "$CTL/adapter-restarted"
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		not_ok "the browser test ends within 150 s"
		stop "$NODE_PID"
		break
	fi
	sleep 0.05
done
wait "$NODE_PID" 2>/dev/null
NODE_STATUS=$?

# Each "ok - X" / "not ok - X" of the node test is one case here, its "#" lines the details.
pending=""
details=()
flush_pending() {
	[ -n "$pending" ] && not_ok "$pending" "$(printf '%s\n' "${details[@]}")"
	pending=""
	details=()
}
node_passed=0
node_failed=0
while IFS= read -r line; do
	case "$line" in
	"ok - "*)
		flush_pending
		ok "browser: ${line#ok - }"
		node_passed=$((node_passed + 1))
		;;
	"not ok - "*)
		flush_pending
		pending="browser: ${line#not ok - }"
		node_failed=$((node_failed + 1))
		;;
	"#   "*) [ -n "$pending" ] && details+=("${line#\#   }") ;;
	"#"*) echo "$line" ;;
	esac
done <"$T_DIR/e2e.out"
flush_pending

if [ "$NODE_STATUS" -ne 0 ] && [ "$node_failed" -eq 0 ]; then
	not_ok "the browser test exits 0" "status $NODE_STATUS: $(tail -n 20 "$T_DIR/e2e-stderr.log")"
fi
if [ "$node_passed" -eq 0 ] && [ "$node_failed" -eq 0 ]; then
	not_ok "the browser test reports its assertions" "$(tail -n 20 "$T_DIR/e2e-stderr.log")"
fi

finish
