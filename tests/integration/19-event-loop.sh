#!/bin/bash
# 19-event-loop: both event loops carry the same traffic (event_loop epoll, the
# default, and poll).
#
# For each loop: the adapter says which loop it runs; three WebSocket clients
# and one SSE stream get every message of a stream published at QoS 1, once
# and in order (these are the writes made straight from a fan-out, outside
# lws' writeable callback); a late subscriber gets the whole history in one
# large frame; a client that never reads does not hold the others back; and
# SIGTERM closes every client with 1001 and exits 0 within the grace period.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker

ALICE=$(token alice)
FEED=$(token feed publisher)
COUNT=300 # per topic, at 150 rounds/s: 2 s
TOPICS=(market/T19A market/T19B)

all_seq() {
	local name out
	for name in "$@"; do
		out=$("$PY" "$RTG_ROOT/tests/integration/seq_check.py" "$T_DIR/$name.out" \
			"${name%%[0-9]*}" "$COUNT" "${TOPICS[@]}")
		[ "$out" = ok ] || {
			IS_LAST="$name: $out"
			return 1
		}
	done
}

last_seen() {
	has "$1" "\"k\":$COUNT,\"topic_name\":\"${TOPICS[0]}\"" &&
		has "$1" "\"k\":$COUNT,\"topic_name\":\"${TOPICS[1]}\""
}

for LOOP in epoll poll; do
	start_adapter --event-loop "$LOOP" --log-level info --history-size 1000
	if [ "$LOOP" = epoll ]; then
		check "$LOOP: the adapter runs on libev's epoll" \
			file_has "$T_DIR/adapter.log" "libev backend: epoll"
	else
		check "$LOOP: the adapter runs lws' own poll loop" \
			eval "! grep -q 'libev' '$T_DIR/adapter.log'"
	fi

	# a reader that never reads, its socket's receive buffer small
	"$PY" "$RTG_ROOT/tests/integration/raw_ws.py" "$WS/ws?token=$ALICE" --mode stall \
		--rcvbuf 4096 --hold 60 --send '{"type":"subscribe","topic":"market/+"}' \
		>"$T_DIR/stall.out" 2>&1 &
	STALL_PID=$!
	T_PIDS+=("$STALL_PID")
	PIDS=()
	for name in ws1 ws2 ws3; do
		rsub "$name" -q --token "$ALICE" '{"type":"subscribe","topic":"market/+","policy":"queue"}'
		PIDS+=("$RSUB_PID")
	done
	rsub sse1 --sse --token "$ALICE" --path '/sse?topic=market/%2B'
	PIDS+=("$RSUB_PID")
	check "$LOOP: the clients are subscribed" wait_until 10 eval \
		'grep -q ready "$T_DIR/stall.out" && has ws1 "\"action\":\"subscribed\"" && has ws2 "\"action\":\"subscribed\"" &&
		has ws3 "\"action\":\"subscribed\"" && has sse1 "\"event\":\"connection\""'

	spawn "$T_DIR/pub.log" "$PY" "$RTG_ROOT/tests/integration/seq_pub.py" "$BROKER_PORT" \
		feed "$FEED" "$COUNT" 150 "$T_DIR/progress" "${TOPICS[@]}"
	PUB_PID=$SPAWNED
	check "$LOOP: the publisher finishes" wait_until 30 eval '! kill -0 $PUB_PID 2>/dev/null'
	check "$LOOP: every client gets the last messages" wait_until 20 eval \
		'last_seen ws1 && last_seen ws2 && last_seen ws3 && last_seen sse1'
	expect "$LOOP: every message once, in order, on three WebSockets and an SSE stream" \
		all_seq ws1 ws2 ws3 sse1

	rsub late1 -q --token "$ALICE" '{"type":"subscribe","topic":"market/+"}'
	PIDS+=("$RSUB_PID")
	check "$LOOP: a late subscriber gets the whole history" wait_until 10 last_seen late1
	expect "$LOOP: the history holds every message once, in order" all_seq late1

	kill "$ADAPTER_PID"
	T0=$SECONDS
	wait "$ADAPTER_PID"
	RC=$?
	check "$LOOP: SIGTERM: the adapter exits 0" test "$RC" = 0
	check "$LOOP: within the shutdown grace period" test $((SECONDS - T0)) -le 4
	check "$LOOP: the WebSocket clients were closed with 1001" wait_until 5 eval \
		'has ws1 "\"code\":1001" && has ws2 "\"code\":1001" && has ws3 "\"code\":1001"'
	for p in "${PIDS[@]}" "$STALL_PID"; do stop "$p"; done
done

finish
