#!/bin/bash
# run.sh - starts the whole stack on this machine (`make run`).
#
# Installs what is missing, builds, creates a development JWT secret under
# run/ on first use, starts mosquitto with the rtg_auth plugin on
# 127.0.0.1:1883 (persistence in run/mosquitto/), the adapter on port 8000
# serving the endpoint profiles of profiles/gateway.conf (the canonical
# protocol and the five seed applications' paths), the market, notification
# and trading simulators and two calc workers, prints the dashboard URL with a
# demo token and ready-to-paste client commands, and on Ctrl-C stops every
# process it started. Logs go to run/*.log.
#
# Environment (all optional):
#   ALLOWED_ORIGINS=https://app.example.com,...   pages elsewhere that may connect (CORS, WebSocket)
#   MQTT_PORT=1883 HTTP_PORT=8000                 the broker's and the adapter's ports
#   RTG_RUN_DIR=run                               secret, tokens, logs, broker persistence
#   RTG_BUILD=build                               the binaries (not rebuilt when set)
#   MOSQUITTO_USER=mosquitto                      the user mosquitto runs as when started as root
# The compat tests (tests/compat/) start this very stack on free ports that way.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${RTG_RUN_DIR:-$ROOT/run}
MQTT_PORT=${MQTT_PORT:-1883}
HTTP_PORT=${HTTP_PORT:-8000}
cd "$ROOT"

scripts/setup.sh
if [ -z "${RTG_BUILD:-}" ]; then
	make --no-print-directory all >/dev/null
fi
B=${RTG_BUILD:-$ROOT/build}

mkdir -p "$RUN/mosquitto"
if [ ! -s "$RUN/jwt_secret" ]; then
	(umask 077 && openssl rand -hex 32 >"$RUN/jwt_secret")
	echo "run: created a development JWT secret in $RUN/jwt_secret"
fi
# As root, mosquitto drops to the "mosquitto" user: let it read the secret and
# write its persistence directory, and nobody else.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
	chown mosquitto "$RUN/jwt_secret" "$RUN/mosquitto"
fi

PIDS=()
stop_all() {
	trap - INT TERM EXIT
	echo
	echo "run: stopping"
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all INT TERM EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The broker: mosquitto.conf as it is, or a copy for other ports and directories.
CONF=$ROOT/mosquitto.conf
if [ "$MQTT_PORT" != 1883 ] || [ "$RUN" != "$ROOT/run" ] || [ "$B" != "$ROOT/build" ] ||
	[ -n "${MOSQUITTO_USER:-}" ]; then
	CONF=$RUN/mosquitto.conf
	sed -e "s|^listener 1883 |listener $MQTT_PORT |" -e "s|run/|$RUN/|g" \
		-e "s|^plugin build/|plugin $B/|" -e "s|acl/acl.conf|$ROOT/acl/acl.conf|" \
		"$ROOT/mosquitto.conf" >"$CONF"
	[ -n "${MOSQUITTO_USER:-}" ] && echo "user $MOSQUITTO_USER" >>"$CONF"
fi
if port_busy "$MQTT_PORT"; then
	echo "run: something already listens on 127.0.0.1:$MQTT_PORT; stop it first" >&2
	exit 1
fi
/usr/sbin/mosquitto -c "$CONF" >"$RUN/mosquitto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	port_busy "$MQTT_PORT" && break
	kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$RUN/mosquitto.log" >&2; exit 1; }
	sleep 0.1
done

# The adapter: its own token (role gateway), re-read on every reconnect.
(umask 077 && "$B/rtg-token" --sub adapter --roles gateway --ttl 2592000 \
	--secret-file "$RUN/jwt_secret" >"$RUN/adapter_token")
if port_busy "$HTTP_PORT"; then
	echo "run: something already listens on 127.0.0.1:$HTTP_PORT; stop it first" >&2
	exit 1
fi
ORIGINS=()
[ -n "${ALLOWED_ORIGINS:-}" ] && ORIGINS=(--allowed-origins "$ALLOWED_ORIGINS")
"$B/rtg-adapter" --http-port "$HTTP_PORT" --mqtt-port "$MQTT_PORT" \
	--mqtt-token-file "$RUN/adapter_token" --jwt-secret-file "$RUN/jwt_secret" \
	--acl-file "$ROOT/acl/acl.conf" --profiles-file "$ROOT/profiles/gateway.conf" \
	--static-dir "$ROOT/static" "${ORIGINS[@]}" >"$RUN/adapter.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	grep -q '^listening ' "$RUN/adapter.log" 2>/dev/null && break
	kill -0 "${PIDS[1]}" 2>/dev/null || { cat "$RUN/adapter.log" >&2; exit 1; }
	sleep 0.1
done

# The simulators and two calc workers, each with its own identity and role.
mint() { (umask 077 && "$B/rtg-token" --sub "$1" --roles "$2" --ttl 2592000 \
	--secret-file "$RUN/jwt_secret" >"$RUN/$1.token"); }
mint market-sim publisher
mint notify-sim notifier
mint trading-sim publisher,notifier
mint calc-worker calc
MQTT=(--mqtt-port "$MQTT_PORT")
"$B/rtg-market-sim" "${MQTT[@]}" --token-file "$RUN/market-sim.token" \
	--tickers AAPL,MSFT,GOOGL,AMZN,TSLA,NVDA,META,NIFTY,BANKNIFTY >"$RUN/market-sim.log" 2>&1 &
PIDS+=($!)
"$B/rtg-notify-sim" "${MQTT[@]}" --token-file "$RUN/notify-sim.token" --users alice,bob \
	>"$RUN/notify-sim.log" 2>&1 &
PIDS+=($!)
"$B/rtg-trading-sim" "${MQTT[@]}" --token-file "$RUN/trading-sim.token" --users alice,bob \
	>"$RUN/trading-sim.log" 2>&1 &
PIDS+=($!)
for n in 1 2; do
	"$B/rtg-calc-worker" "${MQTT[@]}" --token-file "$RUN/calc-worker.token" \
		--client-id "calc-worker-$n" >"$RUN/calc-worker-$n.log" 2>&1 &
	PIDS+=($!)
done

TOKEN=$("$B/rtg-token" --sub alice --secret-file "$RUN/jwt_secret" --ttl 86400)
OPS=$("$B/rtg-token" --sub ops --roles ops --secret-file "$RUN/jwt_secret" --ttl 86400)
echo "$TOKEN" >"$RUN/alice.token"
cat <<EOF

The stack is up:
  broker   mqtt://127.0.0.1:$MQTT_PORT  (JWT auth and the ACL in acl/acl.conf)
  adapter  http://localhost:$HTTP_PORT  (every path in profiles/gateway.conf: /ws, /sse/..., /api/...,
           and the seed applications' own: docs/compat.md)
  simulators: market data, notifications for alice and bob, trading and AI studio streams,
              two calc workers

Dashboard for demo user alice:
  http://localhost:$HTTP_PORT/?token=$TOKEN
Protocol console: http://localhost:$HTTP_PORT/test

Demo user alice (24 h token):
  $B/rtg-sub -p $HTTP_PORT --token '$TOKEN' '{"type":"subscribe","channel":"market_data"}'
  curl -N -H 'Authorization: Bearer $TOKEN' http://localhost:$HTTP_PORT/sse/notifications
  curl -N http://localhost:$HTTP_PORT/sse/market-updates        # public: no token needed
  mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u alice -P '$TOKEN' -t 'market/#' -t 'user/alice/#' -v
Ops (publish anything):
  mosquitto_pub -h 127.0.0.1 -p $MQTT_PORT -u ops -P '$OPS' -t user/alice/notifications -m 'Hello alice'
  curl -H 'Authorization: Bearer $OPS' -H 'Content-Type: application/json' \\
    -d '{"user_id":"alice","title":"Hi","message":"From curl","type":"security"}' \\
    http://localhost:$HTTP_PORT/api/broadcast/notification

Logs: $RUN/*.log.  Ctrl-C stops everything.
EOF
wait "${PIDS[0]}"
