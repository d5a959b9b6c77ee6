#!/bin/bash
# 42-run-supervise: `make run` (scripts/run.sh) supervises what it starts.
#
# The very stack of scripts/run.sh, on free ports in this test's directory
# (tests/compat/lib.sh start_stack). A process that ends is named with its
# pid, how it ended and its log, and started again: the adapter killed with
# SIGKILL serves HTTP again under a new pid, the broker killed the same way
# comes back and the adapter reconnects to it, a simulator that exits cleanly
# is started again and reconnects. A process that keeps failing (a simulator
# whose token file is gone) stops the whole stack with a non-zero status;
# SIGTERM during a restart's backoff stops it with 0. Either way no process
# run.sh started is left, and no pid file. After a SIGKILL of run.sh itself,
# the next start finds its processes by their pid files and refuses to run.
. "$(dirname "$0")/../compat/lib.sh"

SEEN=()

# pid_of NAME: the pid in run.sh's pid file for NAME, or "".
pid_of() {
	cat "$RUN_DIR/$1.pid" 2>/dev/null || true
}

# note_pids: adds every process run.sh has now (its pid files and its
# children, a backoff's sleep included) to SEEN.
note_pids() {
	local f
	for f in "$RUN_DIR"/*.pid; do
		[ -f "$f" ] && SEEN+=("$(cat "$f")")
	done
	# shellcheck disable=SC2207 # a list of numbers
	SEEN+=($(cat "/proc/$STACK_PID/task/$STACK_PID/children" 2>/dev/null))
}

# none_left: no process of SEEN runs (a zombie has ended); the first that
# does is kept in IS_LAST for expect's report.
none_left() {
	local pid state
	for pid in "${SEEN[@]}"; do
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || continue
		if [ -n "$state" ] && [ "$state" != Z ]; then
			IS_LAST="pid $pid still runs: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
			return 1
		fi
	done
}

no_pid_file() {
	! ls "$RUN_DIR"/*.pid >/dev/null 2>&1
}

# said REGEX: run.sh printed a line matching the extended REGEX.
said() {
	grep -qE -- "$1" "$T_DIR/stack.log"
}

# back NAME OLD_PID: NAME runs again, under a pid other than OLD_PID.
back() {
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] && [ "$pid" != "$2" ] && kill -0 "$pid" 2>/dev/null
}

# since_restart NAME STRING: NAME's log has STRING after its last restart mark.
since_restart() {
	tac "$RUN_DIR/$1.log" | sed '/^---- run: restarted at /q' | grep -qF -- "$2"
}

# all_have_pid_files: each process of the stack runs under its pid file's pid.
all_have_pid_files() {
	local name
	for name in mosquitto adapter market-sim notify-sim trading-sim calc-worker-1 calc-worker-2; do
		kill -0 "$(pid_of "$name")" 2>/dev/null || return 1
	done
}

# backed_off NAME DELAY...: run.sh announced NAME's restart after each DELAY.
backed_off() {
	local name=$1 delay
	shift
	for delay; do
		said "$name \\(pid [0-9]+\\) .* restarting it in $delay s" || return 1
	done
}

stack_ended() {
	! kill -0 "$STACK_PID" 2>/dev/null
}

# stack_status: waits for run.sh to end (it was seen to end); sets STATUS.
stack_status() {
	STATUS=0
	wait "$STACK_PID" 2>/dev/null || STATUS=$?
}

start_stack
check "run.sh keeps a pid file per process" all_have_pid_files
note_pids

OLD=$(pid_of adapter)
kill -KILL "$OLD"
check "a killed adapter is named, with its pid, its signal and its log" wait_until 30 said \
	"adapter \\(pid $OLD\\) was killed by SIGKILL after [0-9]+ s; restarting it in 1 s \\(log: $RUN_DIR/adapter.log\\)"
check "the adapter is back under a new pid" wait_until 60 back adapter "$OLD"
check "... serving HTTP, connected to the broker" wait_until 60 adapter_broker_up
note_pids

OLD=$(pid_of mosquitto)
kill -KILL "$OLD"
check "a killed broker is named" wait_until 30 said "mosquitto \\(pid $OLD\\) was killed by SIGKILL"
check "the broker is back under a new pid, listening" wait_until 60 eval \
	'back mosquitto "$OLD" && port_open "$MQTT_PORT"'
check "the adapter connects to the new broker" wait_until 60 eval \
	'since_restart mosquitto "as rtg-adapter" && adapter_broker_up'
note_pids

OLD=$(pid_of market-sim)
kill -TERM "$OLD"
check "a simulator that exits cleanly is named, with its status" wait_until 30 said \
	"market-sim \\(pid $OLD\\) exited with status 0"
check "the simulator is started again and connects" wait_until 60 eval \
	'back market-sim "$OLD" && since_restart market-sim "rtg-market-sim: connected"'
note_pids

# A token file gone is a start-up failure on every restart: a crash loop.
rm "$RUN_DIR/notify-sim.token"
kill -KILL "$(pid_of notify-sim)"
check "a process that keeps failing stops the stack" wait_until 120 stack_ended
stack_status
check "... with a non-zero status" test "$STATUS" -ne 0
check "... naming it and its log" said \
	"notify-sim \\(pid [0-9]+\\) exited with status 1 after [0-9]+ s, its 5-th end within 60 s: giving up \\(log: $RUN_DIR/notify-sim.log\\)"
check "... after backing off 1, 2, 4 and 8 s" backed_off notify-sim 1 2 4 8
expect "... leaving no process it started" wait_until 10 none_left
check "... and no pid file" no_pid_file

start_stack
SEEN=()
note_pids
rm "$RUN_DIR/trading-sim.token"
kill -KILL "$(pid_of trading-sim)"
# Its third end is followed by a 4 s backoff: SIGTERM falls inside it.
check "a failing process waits for its restart" wait_until 60 said \
	"trading-sim \\(pid [0-9]+\\) exited with status 1 after [0-9]+ s; restarting it in 4 s"
note_pids
kill -TERM "$STACK_PID"
check "SIGTERM stops the stack" wait_until 30 stack_ended
stack_status
check "... with status 0" test "$STATUS" -eq 0
expect "... leaving no process it started" none_left
check "... and no pid file" no_pid_file
check "... and starting nothing once stopping" eval \
	'! sed -n "/run: .* stopping/,\$p" "$T_DIR/stack.log" | grep -q restarted'

# run.sh cannot outlive its own SIGKILL; its processes do, and a second stack
# beside them would fight them for client ids and ports.
start_stack
SEEN=()
note_pids
kill -KILL "$STACK_PID"
# 2>/dev/null: bash's own "Killed" notice when it reaps run.sh.
check "run.sh is killed" wait_until 10 stack_ended 2>/dev/null
STATUS=0
timeout 60 env RTG_RUN_DIR="$RUN_DIR" MQTT_PORT="$MQTT_PORT" HTTP_PORT="$HTTP_PORT" \
	RTG_BUILD="$RTG_BUILD" "$RTG_ROOT/scripts/run.sh" >"$T_DIR/again.log" 2>&1 || STATUS=$?
check "a second start beside its processes is refused" test "$STATUS" -eq 1
check "... naming one of them and its pid file" grep -qE \
	"run: [a-z0-9-]+ of an earlier run still runs \(pid [0-9]+, $RUN_DIR/[a-z0-9-]+.pid\)" \
	"$T_DIR/again.log"
for pid in "${SEEN[@]}"; do
	kill "$pid" 2>/dev/null
done
expect "the orphans stop by their pids" wait_until 30 none_left

finish
