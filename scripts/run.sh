#!/bin/bash
# run.sh - starts the whole stack on this machine (`make run`).
#
# Installs what is missing, builds, creates a development JWT secret under
# run/ on first use, starts mosquitto with the rtg_auth plugin on
# 127.0.0.1:1883 (persistence in run/mosquitto/), the adapter on port 8000, the
# market and notification simulators and two calc workers, prints the
# dashboard URL with a demo token and ready-to-paste client commands, and on
# Ctrl-C stops every process it started. Logs go to run/*.log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT/run
cd "$ROOT"

scripts/setup.sh
make --no-print-directory all >/dev/null

mkdir -p "$RUN/mosquitto"
if [ ! -s "$RUN/jwt_secret" ]; then
	(umask 077 && openssl rand -hex 32 >"$RUN/jwt_secret")
	echo "run: created a development JWT secret in run/jwt_secret"
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

if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
	echo "run: something already listens on 127.0.0.1:1883; stop it first" >&2
	exit 1
fi
/usr/sbin/mosquitto -c "$ROOT/mosquitto.conf" >"$RUN/mosquitto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
	kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$RUN/mosquitto.log" >&2; exit 1; }
	sleep 0.1
done

# The adapter: its own token (role gateway), re-read on every reconnect.
(umask 077 && build/rtg-token --sub adapter --roles gateway --ttl 2592000 \
	--secret-file "$RUN/jwt_secret" >"$RUN/adapter_token")
if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
	echo "run: something already listens on 127.0.0.1:8000; stop it first" >&2
	exit 1
fi
build/rtg-adapter --http-port 8000 --mqtt-port 1883 --mqtt-token-file "$RUN/adapter_token" \
	--jwt-secret-file "$RUN/jwt_secret" --acl-file "$ROOT/acl/acl.conf" \
	--static-dir "$ROOT/static" >"$RUN/adapter.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	grep -q '^listening ' "$RUN/adapter.log" 2>/dev/null && break
	kill -0 "${PIDS[1]}" 2>/dev/null || { cat "$RUN/adapter.log" >&2; exit 1; }
	sleep 0.1
done

# The simulators and two calc workers, each with its own identity and role.
mint() { (umask 077 && build/rtg-token --sub "$1" --roles "$2" --ttl 2592000 \
	--secret-file "$RUN/jwt_secret" >"$RUN/$1.token"); }
mint market-sim publisher
mint notify-sim notifier
mint calc-worker calc
build/rtg-market-sim --token-file "$RUN/market-sim.token" >"$RUN/market-sim.log" 2>&1 &
PIDS+=($!)
build/rtg-notify-sim --token-file "$RUN/notify-sim.token" --users alice,bob \
	>"$RUN/notify-sim.log" 2>&1 &
PIDS+=($!)
for n in 1 2; do
	build/rtg-calc-worker --token-file "$RUN/calc-worker.token" --client-id "calc-worker-$n" \
		>"$RUN/calc-worker-$n.log" 2>&1 &
	PIDS+=($!)
done

TOKEN=$(build/rtg-token --sub alice --secret-file "$RUN/jwt_secret" --ttl 86400)
OPS=$(build/rtg-token --sub ops --roles ops --secret-file "$RUN/jwt_secret" --ttl 86400)
cat <<EOF

The stack is up:
  broker   mqtt://127.0.0.1:1883  (JWT auth and the ACL in acl/acl.conf)
  adapter  http://localhost:8000  (WebSocket /ws, SSE /sse/..., HTTP /api/...)
  simulators: market data, notifications for alice and bob, two calc workers

Dashboard for demo user alice:
  http://localhost:8000/?token=$TOKEN
Protocol console: http://localhost:8000/test

Demo user alice (24 h token):
  build/rtg-sub -p 8000 --token '$TOKEN' '{"type":"subscribe","channel":"market_data"}'
  curl -N -H 'Authorization: Bearer $TOKEN' http://localhost:8000/sse/market-updates
  mosquitto_sub -h 127.0.0.1 -p 1883 -u alice -P '$TOKEN' -t 'market/#' -t 'user/alice/#' -v
Ops (publish anything):
  mosquitto_pub -h 127.0.0.1 -p 1883 -u ops -P '$OPS' -t market/AAPL -m '{"type":"price_update","ticker":"AAPL","price":189.5}' -r

Logs: run/*.log.  Ctrl-C stops everything.
EOF
wait "${PIDS[0]}"
