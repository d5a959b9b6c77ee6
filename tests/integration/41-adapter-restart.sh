#!/bin/bash
# 41-adapter-restart: the adapter restarts without losing a message.
#
# With history_file and a kept broker session (mqtt_session_expiry, a fixed
# mqtt_client_id), the adapter saves its history at SIGTERM and loads it at
# start-up, and the broker queues what is published while it is down. A
# publisher sends numbered messages before, during and after the restart;
# rtg-sub --reconnect clients over WebSocket (resuming with "since") and SSE
# (with Last-Event-ID) must end up with every message once, in order, under
# one epoch with contiguous seq, and the WebSocket one told "recovered": true.
# A corrupt history file is refused with a clear log line and the adapter
# starts empty; without a kept session the loaded history is not trusted.
. "$(dirname "$0")/lib.sh"

# QoS 0 publishes would not be queued for the absent adapter without this line.
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf" "queue_qos0_messages true"
start_broker

HIST=$T_DIR/history.bin
KEEP=(--history-file "$HIST" --mqtt-client-id rtg-adapter-t41 --mqtt-session-expiry 300
	--history-size 1000)
start_adapter "${KEEP[@]}"
PORT=$ADAPTER_PORT

ALICE=$(token alice)
FEED=$(token feed publisher)
COUNT=240 # per topic, at 40 rounds/s: about 6 s
TOPICS=(market/T41A market/T41B)

rsub ws -q --reconnect --token "$ALICE" '{"type":"subscribe","topic":"market/+"}'
WS_PID=$RSUB_PID
rsub sse --reconnect --sse --token "$ALICE" --path '/sse?topic=market/%2B'
SSE_PID=$RSUB_PID
check "both clients subscribed" wait_until 10 eval \
	'has ws "\"action\":\"subscribed\"" && has sse "\"event\":\"connection\""'

progress() { cat "$T_DIR/progress" 2>/dev/null || echo 0; }
past() { [ "$(progress)" -ge "$1" ]; }

spawn "$T_DIR/pub.log" "$PY" "$RTG_ROOT/tests/integration/seq_pub.py" "$BROKER_PORT" feed \
	"$FEED" "$COUNT" 40 "$T_DIR/progress" "${TOPICS[@]}"
PUB_PID=$SPAWNED

check "messages flow before the restart" wait_until 20 past 60
stop "$ADAPTER_PID"
check "the history is saved at shutdown" file_has "$T_DIR/adapter.log" "history: saved"
K_DOWN=$(progress)
check "messages are published while the adapter is down" wait_until 20 past $((K_DOWN + 40))
start_adapter "${KEEP[@]}" --http-port "$PORT"
check "the restarted adapter loads the history" file_has "$T_DIR/adapter.log" "history: loaded"
check "and resumes the broker session" file_has "$T_DIR/adapter.log" "resumed the broker session"
check "the history file is removed once loaded" test ! -e "$HIST"

check "the publisher finishes" wait_until 30 eval '! kill -0 $PUB_PID 2>/dev/null'
last_seen() { has "$1" "\"k\":$COUNT,\"topic_name\":\"${TOPICS[0]}\"" &&
	has "$1" "\"k\":$COUNT,\"topic_name\":\"${TOPICS[1]}\""; }
check "the WebSocket client gets the last messages" wait_until 20 last_seen ws
check "the SSE client gets the last messages" wait_until 20 last_seen sse
check "the WebSocket client reconnected and resumed: recovered true" \
	has ws '"action":"subscribed"' '"recovered":true'
check "the WebSocket client was never told it missed data" lacks ws '"recovered":false'
check "the SSE client got no gap event" lacks sse '"event":"gap"'
expect_seq() {
	local out
	out=$("$PY" "$RTG_ROOT/tests/integration/seq_check.py" "$T_DIR/$1.out" "$2" "$COUNT" \
		"${TOPICS[@]}")
	[ "$out" = ok ] || IS_LAST="$1: $out"
	[ "$out" = ok ]
}
expect "WebSocket: every message once, in order, contiguous seq, one epoch" expect_seq ws ws
expect "SSE: every message once, in order, contiguous seq, one epoch, ids increase" \
	expect_seq sse sse
stop "$WS_PID"
stop "$SSE_PID"

# ---- a corrupt file is refused, and the adapter starts empty ---------------------------
stop "$ADAPTER_PID"
check "saved again at the second shutdown" test -s "$HIST"
printf 'X' | dd of="$HIST" bs=1 seek=40 conv=notrunc status=none
start_adapter "${KEEP[@]}" --http-port "$PORT"
check "a corrupt history file is refused with a clear log line" \
	file_has "$T_DIR/adapter.log" "refused (corrupt (checksum mismatch)); starting with an empty"
rsub fresh -q --token "$ALICE" '{"type":"subscribe","topic":"market/T41A"}'
check "the adapter serves on" wait_until 10 has fresh '"action":"subscribed"'
check "with a fresh history: none of the earlier messages" lacks fresh '"k":'
for k in 1 2 3; do pub feed "$FEED" market/T41A "{\"type\":\"tick\",\"k\":$k}"; done
check "and new messages flow" wait_until 10 has fresh '"k":3'
EPOCH=$(grep -o '"epoch":"[^"]*"' "$T_DIR/fresh.out" | tail -n 1)
stop "$RSUB_PID"

# ---- without a kept session, a loaded history is not trusted across the gap -------------
stop "$ADAPTER_PID"
pub feed "$FEED" market/T41A '{"type":"tick","k":4}' # while the adapter is down: lost to it
start_adapter --history-file "$HIST" --http-port "$PORT"
check "loaded without a kept session" file_has "$T_DIR/adapter.log" "history: loaded"
rsub stale -q --token "$ALICE" \
	"{\"type\":\"subscribe\",\"topic\":\"market/T41A\",\"since\":{$EPOCH,\"seq\":3}}"
check "a resume across that gap is answered recovered false" \
	wait_until 10 has stale '"recovered":false'

finish
