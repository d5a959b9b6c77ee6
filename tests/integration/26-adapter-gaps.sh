#!/bin/bash
# 26-adapter-gaps: a client never misses a message without being told.
#
# A client that reads slower than the broker publishes loses the oldest of
# what its send queue holds; it is told each run it lost with a gap notice,
# just where the run is missing (adapter/core/gap.c). Checked with the issue's
# burst (20,000 messages of ~250 bytes from mosquitto_pub -l, a fast
# python3-websockets client beside one that never reads), a deliberately slow
# reader, and an SSE stream read at a trickle (curl --limit-rate): each reads
# every seq in order or a notice for it (gap_check.py). When the history still
# holds a run ("fillable"), {"type":"replay"} brings it back, and rtg-sub does
# that by itself: with a history as deep as the burst it ends with every
# message exactly once. Replay requests that are malformed, forbidden or too
# late get errors.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter
PUBLISHER=$(token feed publisher)
RAW=$RTG_ROOT/tests/integration/raw_ws.py
CHECK=$RTG_ROOT/tests/integration/gap_check.py
PAD=$(head -c 200 /dev/zero | tr '\0' x)

# burst TOPIC N: publishes N messages of ~250 bytes to TOPIC as fast as mosquitto_pub -l can.
burst() {
	"$PY" -c '
import sys
n, pad = int(sys.argv[1]), sys.argv[2]
for i in range(1, n + 1):
    print("{\"type\":\"chat\",\"n\":%d,\"pad\":\"%s\"}" % (i, pad))
' "$2" "$PAD" | mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u feed -P "$PUBLISHER" -q 0 \
		-t "$1" -l 2>>"$T_DIR/clients.log"
}

# accounted NAME TOPIC N [gap_check.py ARGS]: NAME.out holds TOPIC's seq 1..N read
# in order or announced missing; the summary line goes to NAME.check.
accounted() {
	local name=$1 topic=$2 n=$3
	shift 3
	"$PY" "$CHECK" "$T_DIR/$name.out" "$topic" "$n" "$@" >"$T_DIR/$name.check"
	local rc=$?
	IS_LAST=$(cat "$T_DIR/$name.check")
	return $rc
}

# settled NAME TOPIC N ARGS: waits (60 s) until gap_check.py no longer says "wait".
settled() {
	local name=$1 topic=$2 n=$3
	shift 3
	wait_until 60 eval '"$PY" "$CHECK" "$T_DIR/$name.out" "$topic" "$n" "$@" >/dev/null; [ $? != 2 ]'
}

gaps_of() {
	sed -n 's/.*, \([0-9]*\) gaps.*/\1/p' "$T_DIR/$1.check"
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$ADAPTER_PID/status"; }

# ---- the issue's burst: a fast reader beside one that never reads ----------------------------
N=20000
LOAD='{"type":"join_room","room":"load"}'
"$PY" "$RAW" "$WS/ws?token=$(token stalled1)" --mode stall --rcvbuf 4096 --hold 120 \
	--send "$LOAD" --until subscribed >"$T_DIR/stall.out" 2>&1 &
T_PIDS+=($!)
wait_until 10 has stall ready
wsc fast "$WS/ws?token=$(token fast1)" --send "$LOAD" --timeout 120
wait_until 10 has fast '"subscribed"'
RSS0=$(rss_kib)
burst rooms/load $N
settled fast rooms/load $N
expect "burst of $N beside a stalled reader: the fast client read every seq in order or was told it was dropped" \
	accounted fast rooms/load $N
echo "# $(cat "$T_DIR/fast.check")"
RSS1=$(rss_kib)
# AddressSanitizer keeps freed memory in quarantine (256 MiB and more) and valgrind has its own
if [ "${#BROKER_ENV[@]}" -gt 0 ] || [ "${RTG_VALGRIND:-0}" = 1 ]; then
	ok "the adapter's memory stayed bounded # SKIP RSS means little under a sanitizer or valgrind"
else
	check "the adapter's memory stayed bounded ($RSS0 KiB -> $RSS1 KiB)" [ $((RSS1 - RSS0)) -lt 20480 ]
fi

# ---- a slow reader: gaps certain, each announced where it is -----------------------------------
N2=3000
SLOWROOM='{"type":"join_room","room":"slow"}'
wsc slow "$WS/ws?token=$(token slow1)" --send "$SLOWROOM" --timeout 120 --rcvbuf 4096 --delay 0.001
wait_until 10 has slow '"subscribed"'
burst rooms/slow $N2
settled slow rooms/slow $N2
expect "a reader slower than the burst is told of every run it lost, just where it is missing" \
	accounted slow rooms/slow $N2
check "and it did lose some: gap notices came ($(cat "$T_DIR/slow.check"))" \
	[ "$(gaps_of slow)" -ge 1 ]
check "a gap notice names the topic, the epoch and the run, and says whether it can be filled" \
	has slow '"type":"gap"' '"topic":"rooms/slow"' '"epoch":"' '"from":' '"to":' '"count":' '"fillable":false'

# ---- SSE read at a trickle -------------------------------------------------------------------
N3=20000
: >"$T_DIR/sse.out"
curl -sN --limit-rate 300k --max-time 120 -H "Authorization: Bearer $(token sse1)" \
	"$HTTP/sse?topic=rooms/trickle" >"$T_DIR/sse.out" 2>/dev/null &
T_PIDS+=($!)
wait_until 10 file_has "$T_DIR/sse.out" 'event: connection'
burst rooms/trickle $N3
settled sse rooms/trickle $N3 --sse
expect "an SSE stream read at a trickle gets every seq in order or an 'event: gap' for it" \
	accounted sse rooms/trickle $N3 --sse
check "and the gaps came as events named gap ($(cat "$T_DIR/sse.check"))" \
	eval '[ "$(gaps_of sse)" -ge 1 ] && grep -q "^event: gap" "$T_DIR/sse.out"'

stat_at_least() {
	local v
	v=$(curl -s "$HTTP/api/stats" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])")
	[ "${v:-0}" -ge "$2" ] || { IS_LAST="$1 is $v, expected at least $2"; return 1; }
}
expect "gap notices are counted in /api/stats" stat_at_least gaps 2

# ---- replay requests that cannot be served ----------------------------------------------------
wsc bad "$WS/ws?token=$(token replayer)" \
	--send '{"type":"replay","topic":"rooms/load"}' \
	--send '{"type":"replay","topic":"rooms/load","epoch":"x","from":5,"to":2}' \
	--send '{"type":"replay","topic":"user/someone/notifications","epoch":"x","from":1,"to":2}' \
	--send '{"type":"replay","topic":"rooms/load","epoch":"x","from":1,"to":2}' \
	--count 5 --timeout 15
wait_until 15 eval '[ "$(grep -c "\"error\"" "$T_DIR/bad.out")" -ge 4 ]'
check "a replay without its fields is an error that says what it needs" \
	has bad '"type":"error"' 'replay needs'
check "a replay of a topic the ACL does not let the client read is refused" \
	has bad '"type":"error"' "user/someone/notifications' refused"
check "a replay of what the history no longer holds (another epoch) says so" \
	has bad '"type":"error"' 'no longer held'

stop "$ADAPTER_PID"

# ---- rtg-sub fills the gaps by itself when the history holds them ------------------------------
start_adapter --history-size 30000 --queue-max-messages 256
N4=20000
rsub rs --token "$(token rsub1)" '{"type":"join_room","room":"deep"}'
wait_until 10 has rs '"subscribed"'
burst rooms/deep $N4
expect "rtg-sub, told of fillable gaps, asks for them: every one of $N4 messages exactly once" \
	wait_until 90 accounted rs rooms/deep $N4 --replays
echo "# $(cat "$T_DIR/rs.check")"
check "it did have gaps to fill, and said so on stderr" \
	eval '[ "$(gaps_of rs)" -ge 1 ] && grep -q "asking for a replay" "$T_DIR/rs.err"'

finish
