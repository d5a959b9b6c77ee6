#!/bin/bash
# bench/run.sh - `make bench`: the fan-out benchmark of issue 6, every peer in one run.
#
# Starts its own servers on free loopback ports: mosquitto A with the rtg_auth
# plugin (the adapter's and the Node peer's broker, pinned with the load to CPU
# 1), mosquitto B without plugin, TCP + websockets listeners (the "mosquitto"
# peers), the adapter, and the Node `ws` broadcast server of bench/peers/. The
# server under test is restarted before each measurement and pinned to CPU 0;
# build/rtg-bench (the load and the publisher) runs on CPU 1.
#
# QUICK=1: about one minute; default under 10 minutes. B=build directory.
# SCENARIOS="idle fanout fixed topics slow churn" picks scenarios; PEERS too;
# SCENARIOS=custom CUSTOM="rtg-bench args" measures one load on each peer;
# ADAPTER_ARGS="--event-loop poll" adds options to the adapter's command line.
# Results: every key=value line in $OUT/results.txt, tables in $OUT/tables.md.
# It does not tune the kernel or change anything outside its temporary directory.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
QUICK=${QUICK:-0}
OUT=${OUT:-$ROOT/bench/results}
SCENARIOS=${SCENARIOS:-idle fanout fixed topics slow churn}
PEERS=${PEERS:-adapter adapter-sse mosquitto-ws mosquitto node floor}
SECRET=$ROOT/tests/fixtures/hs_secret.txt
BENCH=$B/rtg-bench
D=$(mktemp -d "${TMPDIR:-/tmp}/rtg-bench.XXXXXX")
PIDS=()
SERVER_PID=

mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "bench: kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench: $*" >&2
	for f in "$D"/*.log; do [ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; } >&2; done
	exit 1
}

# Every socket is a file: the soft limit goes up to the hard one (20,000 here).
ulimit -n "$(ulimit -Hn)" || die "cannot raise ulimit -n"
[ -x "$BENCH" ] || die "$BENCH missing: make all first"

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS CMD...: polls CMD every 50 ms; 1 on timeout.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# spawn CPU LOG CMD...: starts CMD pinned to CPU; sets SPAWNED.
spawn() {
	local cpu=$1 log=$2
	shift 2
	taskset -c "$cpu" "$@" >"$log" 2>&1 &
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}

stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# ---- tokens and the brokers ---------------------------------------------------------

tok() { "$B/rtg-token" --sub "$1" --ttl 86400 --secret-file "$SECRET" ${2:+--roles "$2"}; }
tok adapter-bench gateway >"$D/adapter.token"
tok bench >"$D/sub.token"
tok bench-pub publisher >"$D/pub.token"
tok bench-node gateway >"$D/node.token"

PA=$(free_port)
cat >"$D/mosq-a.conf" <<EOF
per_listener_settings false
allow_anonymous false
listener $PA 127.0.0.1
set_tcp_nodelay true
max_queued_messages 100000
plugin $B/rtg_auth.so
plugin_opt_jwt_secret_file $SECRET
plugin_opt_acl_file $ROOT/acl/acl.conf
log_dest stderr
log_type error
log_type warning
EOF
spawn 1 "$D/mosq-a.log" /usr/sbin/mosquitto -c "$D/mosq-a.conf"
wait_for 10 port_open "$PA" || die "mosquitto A did not start"

# Mosquitto B: a websockets listener needs a TCP one beside it (ENVIRONMENT.md).
PB=$(free_port)
PW=$(free_port)
cat >"$D/mosq-b.conf" <<EOF
per_listener_settings false
allow_anonymous true
set_tcp_nodelay true
max_queued_messages 100000
listener $PB 127.0.0.1
listener $PW 127.0.0.1
protocol websockets
log_dest stderr
log_type error
log_type warning
EOF

MOSQ_B=
start_mosq_b() {
	stop_pid "$MOSQ_B"
	spawn 0 "$D/mosq-b.log" /usr/sbin/mosquitto -c "$D/mosq-b.conf"
	MOSQ_B=$SPAWNED
	wait_for 10 port_open "$PB" && wait_for 10 port_open "$PW" || die "mosquitto B did not start"
}

ADAPTER=
PH=
start_adapter() {
	stop_pid "$ADAPTER"
	PH=$(free_port)
	spawn 0 "$D/adapter.log" "$B/rtg-adapter" --http-port "$PH" --mqtt-port "$PA" \
		--mqtt-token-file "$D/adapter.token" --jwt-secret-file "$SECRET" \
		--acl-file "$ROOT/acl/acl.conf" --static-dir "$ROOT/static" --log-level warn \
		--profiles-file "$ROOT/profiles/gateway.conf" \
		--max-connections 19500 --max-connections-per-user 1000000 --rate-limit 1000 \
		--rate-burst 1000 --idle-timeout 86400 --stats-interval 0 \
		--queue-max-messages 100000 --queue-max-bytes 1073741824 ${ADAPTER_ARGS:-} "$@"
	ADAPTER=$SPAWNED
	wait_for 20 eval 'curl -s "http://127.0.0.1:$PH/health" 2>/dev/null | grep -q connected' ||
		die "the adapter did not start"
}

NODE=
PN=
start_node() {
	stop_pid "$NODE"
	PN=$(free_port)
	spawn 0 "$D/node.log" node "$ROOT/bench/peers/ws-broadcast.js" "$PN" "$PA" "$D/node.token"
	NODE=$SPAWNED
	wait_for 20 grep -q "^listening" "$D/node.log" || die "the node peer did not start"
}

if [[ " $PEERS " == *" node "* ]] && [ ! -d "$ROOT/bench/peers/node_modules/ws" ]; then
	(cd "$ROOT/bench/peers" && npm install --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm install in bench/peers failed"
fi

# ---- one measurement ----------------------------------------------------------------

# measure SCENARIO PEER [rtg-bench ARGS...]: restarts PEER's server, runs rtg-bench
# against it on CPU 1, keeps its key=value lines (tagged scenario=) in $RESULTS.
measure() {
	local scen=$1 peer=$2 args
	shift 2
	case "$peer" in
	adapter | adapter-sse)
		start_adapter
		SERVER_PID=$ADAPTER
		args=(--mode ws --port "$PH" --token-file "$D/sub.token" --pub-port "$PA"
			--pub-token-file "$D/pub.token")
		[ "$peer" = adapter-sse ] && args[1]=sse
		;;
	mosquitto-ws | mosquitto)
		start_mosq_b
		SERVER_PID=$MOSQ_B
		args=(--mode mqtt-ws --port "$PW" --pub-port "$PB")
		[ "$peer" = mosquitto ] && args=(--mode mqtt --port "$PB" --pub-port "$PB")
		;;
	node)
		start_node
		SERVER_PID=$NODE
		args=(--mode raw-ws --port "$PN" --pub-port "$PA" --pub-token-file "$D/pub.token")
		;;
	floor)
		# no server: a bare send() loop on CPU 0 to a reader on CPU 1 (bench/floor.c)
		echo "# $scen: floor $*" >&2
		"$B/rtg-floor" "$@" | sed -u "s/^/scenario=$scen /" | tee -a "$RESULTS" | cut -c1-160 >&2
		return
		;;
	esac
	echo "# $scen: $peer $*" >&2
	taskset -c 1 "$BENCH" "${args[@]}" --server-pid "$SERVER_PID" --label "$peer" "$@" \
		2>>"$D/bench-stderr.log" | sed -u "s/^/scenario=$scen /" | tee -a "$RESULTS" |
		cut -c1-160 >&2
}

# peers_of LIST: the peers of LIST that were asked for.
peers_of() {
	local p
	for p in "$@"; do
		[[ " $PEERS " == *" $p "* ]] && echo "$p"
	done
}

# ---- the scenarios --------------------------------------------------------------------

if [ "$QUICK" = 1 ]; then
	IDLE_SIZES="1000"
	FAN_SIZES="1000"
	FAN_STEPS=25000,100000,200000
	STEP=(--warmup 1 --duration 2 --drain 1)
	FIXED=(--warmup 1 --duration 2 --drain 1)
	FIXED_SIZES="1000"
else
	IDLE_SIZES="1000 5000 10000 19000"
	FAN_SIZES="1000 5000"
	FAN_STEPS=25000,50000,100000,200000,250000,300000,400000
	STEP=(--warmup 1 --duration 3 --drain 2)
	FIXED=(--warmup 1 --duration 4 --drain 2)
	FIXED_SIZES="1000 10000"
fi

# 1. idle capacity: server RSS and kernel memory per connection, accept rate.
scenario_idle() {
	local peer n
	for n in $IDLE_SIZES; do
		for peer in $(peers_of adapter adapter-sse mosquitto-ws mosquitto node); do
			measure idle "$peer" --conns "$n" --hold 2 --inflight 500
		done
	done
}

# 2. fan-out ceiling: one topic, raise deliveries/s until p99 > 100 ms or a loss.
scenario_fanout() {
	local peer n
	for n in $FAN_SIZES; do
		for peer in $(peers_of adapter adapter-sse mosquitto-ws mosquitto node); do
			measure fanout "$peer" --conns "$n" --dps "$FAN_STEPS" --stop-p99-ms 100 \
				"${STEP[@]}"
		done
	done
}

# 3. fixed load: 100k deliveries/s as 1k clients x 100/s and 10k x 10/s; "floor" is
# the same load sent by a bare send() loop, what no server on this machine can beat.
scenario_fixed() {
	local peer n
	for n in $FIXED_SIZES; do
		for peer in $(peers_of adapter mosquitto-ws mosquitto node floor); do
			measure fixed "$peer" --conns "$n" --rate $((100000 / n)) "${FIXED[@]}"
		done
	done
}

# 4. many topics: 1,000 topics, each client on two, 50k deliveries/s.
scenario_topics() {
	local peer
	for peer in $(peers_of adapter mosquitto-ws mosquitto node); do
		measure topics "$peer" --conns 5000 --topics 1000 --per-conn 2 --dps 50000 "${FIXED[@]}"
	done
}

# 5. slow consumers: 5 % of 1k clients stop reading during 1k x 100/s.
scenario_slow() {
	local peer
	for peer in $(peers_of adapter mosquitto-ws mosquitto node); do
		measure slow "$peer" --conns 1000 --rate 100 --slow-pct 5 "${FIXED[@]}"
	done
}

# 6. churn: 50 clients a second leave and come back during 1k x 100/s.
scenario_churn() {
	local peer
	for peer in $(peers_of adapter mosquitto-ws mosquitto node); do
		measure churn "$peer" --conns 1000 --rate 100 --churn-per-s 50 "${FIXED[@]}"
	done
}

# custom: one measurement per peer with the rtg-bench arguments of $CUSTOM, e.g.
# SCENARIOS=custom CUSTOM="--conns 1000 --rate 30" bench/run.sh (side-by-side A/B runs).
scenario_custom() {
	local peer
	for peer in $(peers_of adapter adapter-sse mosquitto-ws mosquitto node); do
		# shellcheck disable=SC2086 # CUSTOM is a list of arguments
		measure custom "$peer" ${CUSTOM:?set CUSTOM to rtg-bench arguments} "${FIXED[@]}"
	done
}

# Figures are only meaningful on an otherwise idle machine: say so when it is not.
read -r LOAD _ </proc/loadavg
echo "bench: load average $LOAD before starting (CPU 0 must be free for the server)" >&2
awk -v l="$LOAD" 'BEGIN { exit !(l > 0.5) }' &&
	echo "bench: WARNING: the machine is busy; see the cpu0_pct column" >&2

START=$SECONDS
for s in $SCENARIOS; do
	"scenario_$s"
done
/usr/bin/python3 "$ROOT/bench/tables.py" "$RESULTS" >"$OUT/tables.md" || die "tables.py failed"
cat "$OUT/tables.md"
echo "bench: $((SECONDS - START)) s; results in $RESULTS and $OUT/tables.md" >&2
