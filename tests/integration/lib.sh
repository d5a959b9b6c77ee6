# lib.sh - shared helpers for the integration tests (sourced, bash).
#
# Each test gets its own temporary directory and free ports, starts the real
# /usr/sbin/mosquitto with the built plugin (under valgrind when
# RTG_VALGRIND=1), drives it with real clients, and reports one line per case:
# "ok - name" or "not ok - name". Every process it starts is killed by pid on
# exit; logs are printed only when a case failed. Waits poll a condition
# against a deadline; nothing sleeps and hopes.

set -u

RTG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RTG_BUILD=${RTG_BUILD:-$RTG_ROOT/build}
RTG_FIXTURES=${RTG_FIXTURES:-$RTG_ROOT/tests/fixtures}
# Debian's interpreter: python3-jwt, -websockets, -paho-mqtt live there, not in
# whatever python3 comes first on PATH.
PY=/usr/bin/python3
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtg-$T_NAME.XXXXXX")
T_PIDS=()
T_PASSED=0
T_FAILED=0

# t_stop_all: kills every process this test started, by pid, and waits for them.
t_stop_all() {
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	T_PIDS=()
}

t_cleanup() {
	t_stop_all
	if [ "$T_FAILED" -ne 0 ]; then
		local f
		for f in "$T_DIR"/*.log; do
			[ -s "$f" ] || continue
			echo "# ---- $(basename "$f") ----"
			sed 's/^/#   /' "$f" | tail -n 80
		done
	fi
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# ---- reporting -------------------------------------------------------------------

ok() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok - $T_NAME: $1"
}

not_ok() {
	T_FAILED=$((T_FAILED + 1))
	echo "not ok - $T_NAME: $1"
	shift
	[ $# -gt 0 ] && echo "#   $*"
	return 0
}

# check NAME CMD...: runs CMD, ok if it exits 0.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi
}

# finish: the script's last line; its exit status says whether all passed.
# Under RTG_VALGRIND=1 it first stops everything and fails on any valgrind error.
finish() {
	local f
	if [ "${#BROKER_ENV[@]}" -gt 0 ]; then
		t_stop_all
		if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T_DIR"/*.log; then
			not_ok "the sanitizers report nothing"
		else
			ok "the sanitizers report nothing"
		fi
	fi
	if [ "${RTG_VALGRIND:-0}" = 1 ]; then
		t_stop_all
		for f in "$T_DIR"/valgrind-*.log; do
			[ -f "$f" ] || continue
			# A log without a summary means the process died before valgrind could report.
			if grep -q "ERROR SUMMARY: 0 errors" "$f" &&
				! grep -qE "definitely lost: [1-9]" "$f"; then
				ok "valgrind is clean ($(basename "$f"))"
			else
				not_ok "valgrind is clean ($(basename "$f"))" "$(grep -E "SUMMARY|lost:" "$f")"
			fi
		done
	fi
	echo "# $T_NAME: $T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# ---- waiting -----------------------------------------------------------------------

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; 1 on timeout.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# file_has FILE PATTERN: FILE contains a line matching the fixed string PATTERN.
file_has() {
	[ -f "$1" ] && grep -qF -- "$2" "$1"
}

# ---- ports and processes ---------------------------------------------------------

free_port() {
	"$PY" - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# spawn LOG CMD...: starts CMD in the background, output to LOG; sets SPAWNED.
spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	SPAWNED=$!
	T_PIDS+=("$SPAWNED")
}

# fresh_log FILE: moves an earlier FILE aside (FILE -> NAME.N.log), so a process
# started again never has its predecessor's lines read as its own.
fresh_log() {
	local n=1
	[ -e "$1" ] || return 0
	while [ -e "${1%.log}.$n.log" ]; do n=$((n + 1)); done
	mv "$1" "${1%.log}.$n.log"
}

# stop PID: kills one process this test started and waits for it.
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# ---- tokens ------------------------------------------------------------------------

RTG_SECRET_FILE=$RTG_FIXTURES/hs_secret.txt

# token SUB [ROLES] [TTL]: an HS256 token signed with the fixture secret.
token() {
	local args=(--sub "$1" --secret-file "$RTG_SECRET_FILE")
	[ -n "${2:-}" ] && args+=(--roles "$2")
	[ -n "${3:-}" ] && args+=(--ttl "$3")
	"$RTG_BUILD/rtg-token" "${args[@]}"
}

# ---- the broker --------------------------------------------------------------------

# broker_conf PORT ACL [EXTRA_LINES]: writes $T_DIR/mosquitto.conf for the plugin.
broker_conf() {
	local port=$1 acl=$2 extra=${3:-}
	mkdir -p "$T_DIR/mosq-data"
	cat >"$T_DIR/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous false
listener $port 127.0.0.1
set_tcp_nodelay true
persistence true
persistence_location $T_DIR/mosq-data/
plugin $RTG_BUILD/rtg_auth.so
plugin_opt_jwt_secret_file $RTG_SECRET_FILE
plugin_opt_acl_file $acl
log_dest stderr
log_type all
user $(id -un)
$extra
EOF
}

# A plugin built with SANITIZE=1 needs the sanitizer runtimes preloaded into the
# (uninstrumented) broker. Leak checking stays on: it covers the plugin too.
BROKER_ENV=()
if ldd "$RTG_BUILD/rtg_auth.so" 2>/dev/null | grep -q libasan; then
	BROKER_ENV=("LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
		"ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0}"
		"LSAN_OPTIONS=suppressions=$RTG_ROOT/tests/integration/lsan.supp:print_suppressions=0")
fi

# start_broker: starts mosquitto on $T_DIR/mosquitto.conf, waits for its port.
# Sets BROKER_PID and BROKER_PORT (from the conf).
start_broker() {
	local vg=()
	BROKER_PORT=$(awk '/^listener/ {print $2; exit}' "$T_DIR/mosquitto.conf")
	if [ "${RTG_VALGRIND:-0}" = 1 ]; then
		vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
			--suppressions="$RTG_ROOT/tests/integration/valgrind-mosquitto.supp"
			--log-file="$T_DIR/valgrind-broker.%p.log")
	fi
	fresh_log "$T_DIR/broker.log"
	spawn "$T_DIR/broker.log" env "${BROKER_ENV[@]}" "${vg[@]}" /usr/sbin/mosquitto \
		-c "$T_DIR/mosquitto.conf"
	BROKER_PID=$SPAWNED
	if ! wait_until 20 port_open "$BROKER_PORT"; then
		not_ok "broker starts" "mosquitto did not open port $BROKER_PORT"
		finish
	fi
}

# reload_broker: SIGHUP, then waits for the plugin to log the outcome.
# Returns 0 if it reloaded, 1 if it kept the old rules (judged by this reload's
# own line: the last one, once there is one more than before).
reload_broker() {
	local before
	before=$(grep -c "rtg_auth: reload" "$T_DIR/broker.log")
	kill -HUP "$BROKER_PID"
	wait_until 10 eval '[ "$(grep -c "rtg_auth: reload" "$T_DIR/broker.log")" -gt "$before" ]' ||
		return 2
	grep "rtg_auth: reload" "$T_DIR/broker.log" | tail -n 1 | grep -q "rtg_auth: reloaded"
}

# ---- MQTT clients ------------------------------------------------------------------

MQTT_OPTS=(-h 127.0.0.1 -V mqttv311)

# pub USER TOKEN TOPIC MESSAGE [ARGS...]: publishes at QoS 1; exit status of mosquitto_pub.
pub() {
	local user=$1 tok=$2 topic=$3 msg=$4
	shift 4
	mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u "$user" -P "$tok" -q 1 \
		-t "$topic" -m "$msg" "$@" 2>>"$T_DIR/clients.log"
}

# sub_start NAME USER TOKEN TOPIC [ARGS...]: starts mosquitto_sub in the background,
# printing "topic payload" lines to $T_DIR/NAME.out; waits until its SUBACK arrived.
# Sets SUB_PID. Returns 1 if the subscription was not acknowledged.
sub_start() {
	local name=$1 user=$2 tok=$3 topic=$4
	shift 4
	: >"$T_DIR/$name.out"
	# stdbuf: line-buffered, so each line is in the file as soon as it is printed.
	stdbuf -oL mosquitto_sub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u "$user" -P "$tok" -q 1 -d \
		-t "$topic" -F '%t %p' "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	SUB_PID=$!
	T_PIDS+=("$SUB_PID")
	wait_until 10 file_has "$T_DIR/$name.out" "Client" &&
		wait_until 10 grep -q "received SUBACK\|Subscribed (mid" "$T_DIR/$name.out"
}

# sub_granted NAME: the last SUBACK for NAME granted the subscription (not 128/0x80).
sub_granted() {
	grep -A1 "received SUBACK" "$T_DIR/$1.out" | grep -q "Subscribed (mid: [0-9]*): [012]$"
}

# sub_denied NAME: a SUBACK for NAME arrived and refused the subscription (128).
sub_denied() {
	grep -A1 "received SUBACK" "$T_DIR/$1.out" | grep -q "Subscribed (mid: [0-9]*): 128$"
}

# got NAME LINE: the subscriber NAME received the exact "topic payload" LINE.
got() {
	grep -qxF -- "$2" "$T_DIR/$1.out"
}

# ---- the adapter -------------------------------------------------------------------

# start_adapter [ARGS...]: starts build/rtg-adapter on a free port against the
# broker started by start_broker (or the list $ADAPTER_BROKERS), with its own gateway token, the fixture secret
# and $ADAPTER_ACL (default acl/acl.conf); waits until it listens and reports
# the broker connected. Sets ADAPTER_PID, ADAPTER_PORT, HTTP (base URL), WS.
start_adapter() {
	local vg=() log=$T_DIR/adapter.log
	token adapter1 gateway 86400 >"$T_DIR/adapter.token"
	if [ "${RTG_VALGRIND:-0}" = 1 ]; then
		vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
			--log-file="$T_DIR/valgrind-adapter.%p.log")
	fi
	fresh_log "$log"
	# ADAPTER_BROKERS: mqtt_brokers (host:port,...) instead of the broker of start_broker
	local broker=(--mqtt-brokers "${ADAPTER_BROKERS:-}")
	[ -n "${ADAPTER_BROKERS:-}" ] || broker=(--mqtt-port "$BROKER_PORT")
	spawn "$log" "${vg[@]}" "$RTG_BUILD/rtg-adapter" --http-port 0 \
		"${broker[@]}" --mqtt-token-file "$T_DIR/adapter.token" \
		--jwt-secret-file "$RTG_SECRET_FILE" --acl-file "${ADAPTER_ACL:-$RTG_ROOT/acl/acl.conf}" \
		--static-dir "$RTG_ROOT/static" \
		--profiles-file "${ADAPTER_PROFILES:-$RTG_ROOT/profiles/gateway.conf}" "$@"
	ADAPTER_PID=$SPAWNED
	if ! wait_until 30 grep -q '^listening ' "$log"; then
		not_ok "adapter starts" "no 'listening' line"
		finish
	fi
	ADAPTER_PORT=$(awk '/^listening / {print $3; exit}' "$log")
	# ADAPTER_TLS=1: the adapter was given a certificate (https://, wss://)
	if [ "${ADAPTER_TLS:-0}" = 1 ]; then
		HTTP="https://127.0.0.1:$ADAPTER_PORT"
		WS="wss://127.0.0.1:$ADAPTER_PORT"
	else
		HTTP="http://127.0.0.1:$ADAPTER_PORT"
		WS="ws://127.0.0.1:$ADAPTER_PORT"
	fi
	if ! wait_until 20 adapter_broker_up; then
		not_ok "adapter connects to the broker"
		finish
	fi
}

adapter_broker_up() {
	# -k: a readiness probe; the TLS tests check the certificate themselves
	curl -s -k "$HTTP/health" 2>/dev/null | grep -q '"broker":"connected"'
}

# wsc NAME URL [ws_client.py ARGS...]: runs the python3-websockets client in the
# background, one received message per line in $T_DIR/NAME.out. Sets WSC_PID.
wsc() {
	local name=$1 url=$2
	shift 2
	: >"$T_DIR/$name.out"
	"$PY" "$RTG_ROOT/tests/integration/ws_client.py" "$url" "$@" >"$T_DIR/$name.out" \
		2>"$T_DIR/$name.err" &
	WSC_PID=$!
	T_PIDS+=("$WSC_PID")
}

# rsub NAME [rtg-sub ARGS...]: runs build/rtg-sub in the background against the
# adapter, output in $T_DIR/NAME.out. Sets RSUB_PID.
rsub() {
	local name=$1
	shift
	: >"$T_DIR/$name.out"
	"$RTG_BUILD/rtg-sub" -h 127.0.0.1 -p "$ADAPTER_PORT" "$@" >"$T_DIR/$name.out" \
		2>"$T_DIR/$name.err" &
	RSUB_PID=$!
	T_PIDS+=("$RSUB_PID")
}

# has NAME JQ-LIKE-SUBSTRING...: NAME.out has a line containing every given string.
has() {
	local name=$1 line s all
	shift
	[ -f "$T_DIR/$name.out" ] || return 1
	while IFS= read -r line; do
		all=1
		for s in "$@"; do
			[[ "$line" == *"$s"* ]] || { all=0; break; }
		done
		[ "$all" = 1 ] && return 0
	done <"$T_DIR/$name.out"
	return 1
}

# first_has NAME STRING...: the first line of NAME.out contains every given string.
first_has() {
	local name=$1 line s
	shift
	[ -s "$T_DIR/$name.out" ] || return 1
	line=$(head -n 1 "$T_DIR/$name.out")
	for s in "$@"; do
		[[ "$line" == *"$s"* ]] || return 1
	done
}

# lacks NAME STRING: no line of NAME.out contains STRING.
lacks() {
	! grep -qF -- "$2" "$T_DIR/$1.out"
}

# ---- assertions with a report ------------------------------------------------------------

# pyq NAME EXPR: evaluates EXPR over the JSON lines of NAME.out with
# tests/integration/pyq.py (what EXPR may use is listed there) and prints it.
# is NAME EXPR WANT: pyq prints exactly WANT (is_via, below).
# all_is EXPR WANT NAME...: the same for every NAME.
# A test with a query helper of its own redefines pyq and is.
pyq() {
	"$PY" "$RTG_ROOT/tests/integration/pyq.py" "$T_DIR/$1.out" "$2" 2>&1
}
is() {
	is_via pyq "$@"
}
all_is() {
	local expr=$1 want=$2 name
	shift 2
	for name in "$@"; do
		is "$name" "$expr" "$want" || return 1
	done
}

# is_via FN NAME EXPR WANT: "FN NAME EXPR" prints exactly WANT. Quiet (it is
# polled); a mismatch is kept in IS_LAST for the report of expect.
IS_LAST=
is_via() {
	local got
	got=$("$1" "$2" "$3")
	[ "$got" = "$4" ] && return 0
	IS_LAST="$2: $3 gave '$got', expected '$4'"
	return 1
}

# expect NAME CMD...: like check, but a failure reports the last mismatch of is_via.
expect() {
	local name=$1
	shift
	IS_LAST=
	if "$@"; then ok "$name"; else not_ok "$name" "${IS_LAST:-command failed: $*}"; fi
}

# broker_has_sub FILTER: the broker has logged a subscription to FILTER.
broker_has_sub() {
	grep -qF "	$1 (QoS" "$T_DIR/broker.log"
}

# broker_unsubscribed FILTER: the broker has logged the adapter unsubscribing FILTER.
broker_unsubscribed() {
	grep -A1 "Received UNSUBSCRIBE from rtg-adapter" "$T_DIR/broker.log" | grep -qF "	$1"
}

# ---- browser tests (tests/e2e) -----------------------------------------------------

# need_e2e: Debian's chromium, node and npm, and tests/e2e's playwright-core (`npm ci`
# there when its node_modules lacks it); without them the test ends with not ok.
need_e2e() {
	local dir=$RTG_ROOT/tests/e2e
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
	if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
		if ! (cd "$dir" && npm ci --no-audit --no-fund) >"$T_DIR/npm.log" 2>&1; then
			not_ok "npm ci installs playwright-core in tests/e2e" "$(tail -n 5 "$T_DIR/npm.log")"
			finish
		fi
	fi
	ok "chromium, node and playwright-core are available"
}

# e2e_run SECONDS CONTROL CMD...: runs CMD, a browser test of tests/e2e, in the
# background (output in $T_DIR/e2e.out and e2e-stderr.log) and calls the test's
# function CONTROL every 50 ms while it runs: its side of the RTG_E2E_CTL
# handshake. A CMD still running after SECONDS is a failure, and is stopped.
# Then e2e_report.
e2e_run() {
	local seconds=$1 control=$2 pid status deadline
	shift 2
	"$@" >"$T_DIR/e2e.out" 2>"$T_DIR/e2e-stderr.log" &
	pid=$!
	T_PIDS+=("$pid")
	deadline=$((SECONDS + seconds))
	while kill -0 "$pid" 2>/dev/null; do
		"$control"
		if [ "$SECONDS" -ge "$deadline" ]; then
			not_ok "the browser test ends within $seconds s"
			stop "$pid"
			break
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	status=$?
	e2e_report "$status"
}

# e2e_report STATUS: each "ok - X" / "not ok - X" of $T_DIR/e2e.out is the case
# "browser: X" here, the "#   " lines after a "not ok" its details, other "#" lines
# passed on. A browser test that exited with STATUS non-zero without a failure, or
# reported nothing, is a failure of its own.
e2e_report() {
	local status=$1 line pending="" passed=0 failed=0
	local details=()
	while IFS= read -r line; do
		case "$line" in
		"ok - "* | "not ok - "*)
			[ -n "$pending" ] && not_ok "$pending" "$(printf '%s\n' "${details[@]}")"
			pending=""
			details=()
			if [[ "$line" == "ok - "* ]]; then
				ok "browser: ${line#ok - }"
				passed=$((passed + 1))
			else
				pending="browser: ${line#not ok - }"
				failed=$((failed + 1))
			fi
			;;
		"#   "*) [ -n "$pending" ] && details+=("${line#\#   }") ;;
		"#"*) echo "$line" ;;
		esac
	done <"$T_DIR/e2e.out"
	[ -n "$pending" ] && not_ok "$pending" "$(printf '%s\n' "${details[@]}")"
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		not_ok "the browser test exits 0" "status $status: $(tail -n 20 "$T_DIR/e2e-stderr.log")"
	fi
	if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
		not_ok "the browser test reports its assertions" "$(tail -n 20 "$T_DIR/e2e-stderr.log")"
	fi
	return 0
}

# ---- clients that stay across an outage (40-broker-restart, 62-broker-failover) -----------------

# after NAME LINE STRING...: a line of NAME.out after line LINE contains every STRING.
after() {
	local name=$1 from=$2
	shift 2
	tail -n +"$((from + 1))" "$T_DIR/$name.out" >"$T_DIR/$name.after.out"
	has "$name.after" "$@"
}
lines() { wc -l <"$T_DIR/$1.out"; }
alive() { kill -0 "$1" 2>/dev/null; }

# calc_roi ID [BASE [CMD...]]: starts roi calculation ID for alice ($ALICE) through the
# HTTP API at BASE (default $HTTP), curl run by CMD (e.g. ip netns exec NS) if given.
calc_roi() {
	local id=$1 base=${2:-$HTTP}
	shift
	[ $# -gt 0 ] && shift
	"$@" curl -s -o /dev/null -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' \
		-d "{\"calculation_id\":\"$id\",\"calculation_type\":\"roi\",\"parameters\":{\"initial_investment\":1000,\"final_value\":1500}}" \
		"$base/api/calculations"
}

# ---- bridged brokers (examples/mosquitto-bridge-{a,b}.conf) -------------------------------

# bridge_example_conf NAME EXAMPLE PORT BRIDGE_TOKEN A_PORT [ACL]: writes $T_DIR/NAME.conf
# from examples/EXAMPLE, changing only its CHANGE ME lines (its port, persistence
# directory, plugin, secret, ACL; the bridge's address is broker A on A_PORT and its
# password BRIDGE_TOKEN), plus full logging.
bridge_example_conf() {
	local name=$1 example=$2 port=$3 tok=$4 a_port=$5 acl=${6:-$RTG_ROOT/acl/acl.conf}
	mkdir -p "$T_DIR/$name-data"
	sed -e "s|^listener [0-9]* 127.0.0.1|listener $port 127.0.0.1|" \
		-e "s|^persistence_location .*|persistence_location $T_DIR/$name-data/|" \
		-e "s|^plugin /.*|plugin $RTG_BUILD/rtg_auth.so|" \
		-e "s|^plugin_opt_jwt_secret_file .*|plugin_opt_jwt_secret_file $RTG_SECRET_FILE|" \
		-e "s|^plugin_opt_acl_file .*|plugin_opt_acl_file $acl|" \
		-e "s|^address 127.0.0.1:1883|address 127.0.0.1:$a_port|" \
		-e "s|^remote_password .*|remote_password $tok|" \
		"$RTG_ROOT/examples/$example" >"$T_DIR/$name.conf"
	printf 'log_type all\nuser %s\n' "$(id -un)" >>"$T_DIR/$name.conf"
}

# start_named NAME PORT: starts mosquitto on $T_DIR/NAME.conf, log NAME.log (an earlier
# one moved aside); waits for PORT. Sets SPAWNED.
start_named() {
	fresh_log "$T_DIR/$1.log"
	spawn "$T_DIR/$1.log" env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/$1.conf"
	wait_until 20 port_open "$2"
}
