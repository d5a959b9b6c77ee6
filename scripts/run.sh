#!/bin/bash
# run.sh - starts the whole stack on this machine (`make run`) and supervises it.
#
# Installs what is missing, builds, creates a development JWT secret under
# run/ on first use, starts mosquitto with the rtg_auth plugin on
# 127.0.0.1:1883 (persistence in run/mosquitto/; the next free port when 1883
# is taken, as by Debian's own mosquitto service), the adapter on port 8000
# serving the endpoint profiles of profiles/gateway.conf (the canonical
# protocol and the five seed applications' paths), the market, notification
# and trading simulators and two calc workers, prints the dashboard URL with a
# demo token and ready-to-paste client commands. Logs go to run/NAME.log, pids
# to run/NAME.pid.
#
# Then it supervises: a process that ends is named (pid, exit status or
# signal, log) and started again after a backoff of 1 s doubling to 30 s (back
# to 1 s once it had stayed up for 60 s); one that ends 5 times within 60 s
# stops everything, and run.sh exits 1. A process that fails while the stack
# starts is not retried: run.sh prints its log and exits 1. Ctrl-C, SIGTERM or
# SIGHUP stops every process it started, by pid, and exits 0. It does not
# survive its own SIGKILL: the next start finds the leftovers by their pid
# files and refuses to run beside them.
#
# Environment (all optional):
#   ALLOWED_ORIGINS=https://app.example.com,...   pages elsewhere that may connect (CORS, WebSocket)
#   MQTT_PORT=1883 HTTP_PORT=8000                 the broker's and the adapter's ports; given, a
#                                                 port taken stops run.sh; not given, a default
#                                                 taken (on Debian the mosquitto package's own
#                                                 service holds 1883) moves to the next free port
#                                                 above it, said on the first lines
#   RTG_DEFAULT_MQTT_PORT=1883 RTG_DEFAULT_HTTP_PORT=8000   those defaults (for the tests)
#   RTG_RUN_DIR=run                               secret, tokens, logs, pids, broker persistence
#   RTG_BUILD=build                               the binaries (not rebuilt when set)
#   MOSQUITTO_USER=mosquitto                      the user mosquitto runs as when started as root
# The compat tests (tests/compat/) start this very stack on free ports that way.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${RTG_RUN_DIR:-$ROOT/run}
MQTT_DEFAULT=${RTG_DEFAULT_MQTT_PORT:-1883}
HTTP_DEFAULT=${RTG_DEFAULT_HTTP_PORT:-8000}
cd "$ROOT"

# Supervision: restart delays, and the start limit (systemd's StartLimitBurst
# within StartLimitIntervalSec) beyond which a process is taken as broken.
DELAY_FIRST=1 DELAY_MAX=30 STABLE_AFTER=60 BURST=5 BURST_WINDOW=60

scripts/setup.sh
if [ -z "${RTG_BUILD:-}" ]; then
	make --no-print-directory all >/dev/null
fi
B=${RTG_BUILD:-$ROOT/build}

mkdir -p "$RUN/mosquitto"
# A run.sh that was SIGKILLed leaves its processes running: a second stack
# beside them would fight them for client ids and ports.
for f in "$RUN"/*.pid; do
	[ -f "$f" ] || continue
	pid=$(<"$f")
	if kill -0 "$pid" 2>/dev/null && grep -qa -e rtg- -e mosquitto "/proc/$pid/cmdline"; then
		echo "run: $(basename "$f" .pid) of an earlier run still runs (pid $pid, $f); stop it first" >&2
		exit 1
	fi
	rm -f "$f"
done
if [ ! -s "$RUN/jwt_secret" ]; then
	(umask 077 && openssl rand -hex 32 >"$RUN/jwt_secret")
	echo "run: created a development JWT secret in $RUN/jwt_secret"
fi
# As root, mosquitto drops to the "mosquitto" user: let it read the secret and
# write its persistence directory, and nobody else.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
	chown mosquitto "$RUN/jwt_secret" "$RUN/mosquitto"
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# holder PORT: who listens on PORT, as ss names it ("mosquitto",pid=612), or "something".
holder() {
	local who
	who=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o '(("[^"]*",pid=[0-9]*' | head -n 1)
	echo "${who:-something}" | tr -d '('
}

# pick_port NAME GIVEN DEFAULT: prints the port NAME listens on. A port given
# (MQTT_PORT=...) is used or, taken, stops run.sh. The default, taken, moves to
# the next free port above it: on a Debian host the mosquitto package's own
# service holds 1883 from the moment it is installed, and this stack's broker
# (with the plugin and this stack's secret) must not be mistaken for it.
pick_port() {
	local name=$1 given=$2 port=$3
	if [ -n "$given" ]; then
		if port_busy "$given"; then
			echo "run: $(holder "$given") already listens on 127.0.0.1:$given; stop it first" >&2
			return 1
		fi
		echo "$given"
		return 0
	fi
	while port_busy "$port"; do
		port=$((port + 1))
		if [ "$port" -ge $(($3 + 100)) ]; then
			echo "run: 127.0.0.1:$3 to $((port - 1)) are all taken; give $name=PORT" >&2
			return 1
		fi
	done
	if [ "$port" != "$3" ]; then
		echo "run: 127.0.0.1:$3 is taken by $(holder "$3"): this stack's $name is $port" \
			"(give $name=PORT to choose)" >&2
	fi
	echo "$port"
}
MQTT_PORT=$(pick_port MQTT_PORT "${MQTT_PORT:-}" "$MQTT_DEFAULT")
HTTP_PORT=$(pick_port HTTP_PORT "${HTTP_PORT:-}" "$HTTP_DEFAULT")

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

# Each process's token, with its own identity and role. The adapter re-reads
# its own on every reconnect.
mint() { (umask 077 && "$B/rtg-token" --sub "$1" --roles "$2" --ttl 2592000 \
	--secret-file "$RUN/jwt_secret" >"$RUN/$1.token"); }
mint adapter gateway
mint market-sim publisher
mint notify-sim notifier
mint trading-sim publisher,notifier
mint calc-worker calc
ORIGINS=()
[ -n "${ALLOWED_ORIGINS:-}" ] && ORIGINS=(--allowed-origins "$ALLOWED_ORIGINS")
MQTT=(--mqtt-port "$MQTT_PORT")

# program NAME: runs the process NAME in place of the calling (sub)shell, so
# the pid run.sh keeps is the program's own. NAME also names its log and pid
# file (run/NAME.log, run/NAME.pid).
program() {
	case $1 in
	mosquitto) exec /usr/sbin/mosquitto -c "$CONF" ;;
	adapter)
		exec "$B/rtg-adapter" --http-port "$HTTP_PORT" --mqtt-port "$MQTT_PORT" \
			--mqtt-token-file "$RUN/adapter.token" --jwt-secret-file "$RUN/jwt_secret" \
			--acl-file "$ROOT/acl/acl.conf" --profiles-file "$ROOT/profiles/gateway.conf" \
			--static-dir "$ROOT/static" "${ORIGINS[@]}"
		;;
	market-sim)
		exec "$B/rtg-market-sim" "${MQTT[@]}" --token-file "$RUN/market-sim.token" \
			--tickers AAPL,MSFT,GOOGL,AMZN,TSLA,NVDA,META,NIFTY,BANKNIFTY
		;;
	notify-sim)
		exec "$B/rtg-notify-sim" "${MQTT[@]}" --token-file "$RUN/notify-sim.token" \
			--users alice,bob
		;;
	trading-sim)
		exec "$B/rtg-trading-sim" "${MQTT[@]}" --token-file "$RUN/trading-sim.token" \
			--users alice,bob
		;;
	calc-worker-*)
		exec "$B/rtg-calc-worker" "${MQTT[@]}" --token-file "$RUN/calc-worker.token" \
			--client-id "$1"
		;;
	esac
}

# ---- the processes' table -----------------------------------------------------------
#
# NAMES in start order; per name its pid (empty while it waits for a restart),
# start time, next restart delay, restart time and recent end times (ms).
NAMES=()
declare -A PID=() STARTED=() DELAY=() DUE=() ENDS=()

# clock: NOW, in milliseconds (a builtin: no process to fork, see supervise).
clock() {
	local t=${EPOCHREALTIME//[!0-9]/}
	NOW=$((10#$t / 1000))
}

say() {
	printf 'run: %(%T)T %s\n' -1 "$*"
}

# launch NAME: starts NAME in the background, output appended to its log.
launch() {
	local name=$1
	program "$name" >>"$RUN/$name.log" 2>&1 &
	PID[$name]=$!
	echo "$!" >"$RUN/$name.pid"
	clock
	STARTED[$name]=$NOW
}

# start NAME [CMD...]: the first start of NAME, with a fresh log. With CMD, waits
# up to 20 s for CMD to succeed (the process is ready); if NAME ends first or
# the time runs out, prints its log and exits 1.
start() {
	local name=$1 deadline
	shift
	NAMES+=("$name")
	DELAY[$name]=$DELAY_FIRST
	: >"$RUN/$name.log"
	launch "$name"
	[ $# -gt 0 ] || return 0
	deadline=$((SECONDS + 20))
	until "$@"; do
		if ! kill -0 "${PID[$name]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			echo "run: $name did not start (log: $RUN/$name.log):" >&2
			tail -n 20 "$RUN/$name.log" >&2
			exit 1
		fi
		{ sleep 0.1; } 2>/dev/null
	done
}

adapter_listens() { grep -q '^listening ' "$RUN/adapter.log"; }

# ---- stopping ------------------------------------------------------------------------

# stop NAME...: SIGTERM to each running NAME, then up to 10 s for all of them
# to end; what is left gets SIGKILL. Removes their pid files.
stop() {
	local name pid deadline
	for name; do
		[ -z "${PID[$name]:-}" ] || kill "${PID[$name]}" 2>/dev/null || true
	done
	deadline=$((SECONDS + 10))
	for name; do
		pid=${PID[$name]:-}
		[ -n "$pid" ] || continue
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			{ sleep 0.1; } 2>/dev/null
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name (pid $pid) did not stop within 10 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		{ wait "$pid"; } 2>/dev/null || true
		PID[$name]=
		rm -f "$RUN/$name.pid"
	done
	return 0
}

# stop_all: stops every process run.sh started, the broker last (the adapter
# flushes its broker connection at SIGTERM). A process waiting for its restart
# has none to stop.
stop_all() {
	local name others=()
	trap - INT TERM HUP EXIT
	echo
	say "stopping"
	for name in "${NAMES[@]}"; do
		[ "$name" = mosquitto ] || others+=("$name")
	done
	stop "${others[@]}"
	stop mosquitto
}
trap stop_all EXIT
trap 'stop_all; exit 0' INT TERM HUP

# ---- supervision ---------------------------------------------------------------------

# ended NAME: NAME's process has ended. Says which (pid, how, after how long,
# its log) and schedules its restart, or, at its BURST-th end within
# BURST_WINDOW, stops everything and exits 1: a process that keeps failing is
# broken (a missing file, a taken port, a broker that cannot come back), and
# a stack that flaps forever would hide it.
ended() {
	local name=$1 pid=${PID[$1]} status=0 how up t recent=()
	{ wait "$pid"; } 2>/dev/null || status=$?
	if [ "$status" -gt 128 ]; then
		# (the $( ) forks: bash may reap another child meanwhile, see supervise)
		{ how="was killed by SIG$(kill -l "$status")"; } 2>/dev/null
	else
		how="exited with status $status"
	fi
	clock
	up=$(((NOW - STARTED[$name]) / 1000))
	PID[$name]=
	rm -f "$RUN/$name.pid"
	for t in ${ENDS[$name]:-} "$NOW"; do
		[ "$t" -gt $((NOW - BURST_WINDOW * 1000)) ] && recent+=("$t")
	done
	ENDS[$name]=${recent[*]}
	if [ "${#recent[@]}" -ge "$BURST" ]; then
		say "$name (pid $pid) $how after $up s, its $BURST-th end within $BURST_WINDOW s:" \
			"giving up (log: $RUN/$name.log)" >&2
		tail -n 10 "$RUN/$name.log" | sed 's/^/    /' >&2
		stop_all
		exit 1
	fi
	[ "$up" -ge "$STABLE_AFTER" ] && DELAY[$name]=$DELAY_FIRST
	say "$name (pid $pid) $how after $up s; restarting it in ${DELAY[$name]} s" \
		"(log: $RUN/$name.log)"
	DUE[$name]=$((NOW + DELAY[$name] * 1000))
	DELAY[$name]=$((DELAY[$name] * 2 > DELAY_MAX ? DELAY_MAX : DELAY[$name] * 2))
}

# supervise: polls every process twice a second, forever; only a signal or
# a process that keeps failing ends it. Polling with kill -0, not `wait -n`:
# when bash 5.2 reaps a child killed by a signal while it waits for a
# foreground command (a sleep, a tail), it prints a "Killed" notice and its
# `wait -n` never reports that child, whose death would go unnoticed; kill -0
# and `wait PID` still see it. The { } 2>/dev/null around the sleep silences
# that notice; ended says it better.
supervise() {
	local name
	while :; do
		{ sleep 0.5; } 2>/dev/null
		clock
		for name in "${NAMES[@]}"; do
			if [ -n "${PID[$name]}" ]; then
				kill -0 "${PID[$name]}" 2>/dev/null || ended "$name"
			elif [ "$NOW" -ge "${DUE[$name]}" ]; then
				printf -- '---- run: restarted at %(%F %T)T ----\n' -1 >>"$RUN/$name.log"
				launch "$name"
				say "$name restarted (pid ${PID[$name]})"
			fi
		done
	done
}

# ---- start-up ------------------------------------------------------------------------

start mosquitto port_busy "$MQTT_PORT"
start adapter adapter_listens
start market-sim
start notify-sim
start trading-sim
start calc-worker-1
start calc-worker-2

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
Protocol console: http://localhost:$HTTP_PORT/test?token=$TOKEN

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

Reload the keys, the ACL and the profiles (each process's pid is in $RUN/NAME.pid):
  kill -HUP "\$(cat $RUN/mosquitto.pid)" "\$(cat $RUN/adapter.pid)"

Logs: $RUN/NAME.log, pids: $RUN/NAME.pid. A process that ends is restarted (after
1 s, doubling to 30 s); one that ends $BURST times within $BURST_WINDOW s stops everything.
Ctrl-C stops everything.
EOF
supervise
