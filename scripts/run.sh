#!/bin/bash
# run.sh - starts the whole stack on this machine (`make run`).
#
# Installs what is missing, builds, creates a development JWT secret under
# run/ on first use, starts mosquitto with the rtg_auth plugin on
# 127.0.0.1:1883 (persistence in run/mosquitto/) and every other service that
# exists, prints tokens and ready-to-paste client commands, and on Ctrl-C stops
# every process it started. Logs go to run/*.log.
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

TOKEN=$(build/rtg-token --sub alice --secret-file "$RUN/jwt_secret" --ttl 86400)
OPS=$(build/rtg-token --sub ops --roles ops --secret-file "$RUN/jwt_secret" --ttl 86400)
cat <<EOF

The broker is up on 127.0.0.1:1883 with JWT auth and the ACL in acl/acl.conf.
(The WebSocket adapter, simulators and dashboard on port 8000 come with the
next milestones; see the README.)

Demo user alice (24 h token):
  mosquitto_sub -h 127.0.0.1 -p 1883 -u alice -P '$TOKEN' -t 'market/#' -t 'user/alice/#' -v
Ops (publish anything):
  mosquitto_pub -h 127.0.0.1 -p 1883 -u ops -P '$OPS' -t market/AAPL -m '{"price":1}' -r

Logs: run/mosquitto.log.  Ctrl-C stops everything.
EOF
wait "${PIDS[0]}"
