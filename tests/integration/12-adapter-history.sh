#!/bin/bash
# 12-adapter-history: history and recovery on the WebSocket.
#
# The adapter remembers, per topic, the retained value and the last
# history_size messages it has seen, numbered by seq within an epoch. A new
# subscriber gets them in one "history" message; a reconnecting one that
# says where it left off ("since") gets exactly what it missed, marked
# "replay", and "recovered": true, or "recovered": false and the full history
# when the gap cannot be filled. rtg-sub --reconnect survives an adapter
# restart and learns that it lost its place. Overlapping filters deliver
# each message once.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
HISTORY_SIZE=8
start_adapter --history-size "$HISTORY_SIZE"

ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)

# pyq NAME EXPR: evaluates the Python expression EXPR over the JSON lines of
# NAME.out and prints the result. In EXPR: L (every parsed line), hist(topic)
# (the last history message for topic, or {}), seqs(msgs), live(topic) (the
# topic's messages outside history messages), sub(topic) (the last
# subscription confirmation for topic, or {}).
pyq() {
	"$PY" - "$T_DIR/$1.out" "$2" <<'PY'
import json, sys
L = []
for line in open(sys.argv[1]):
    try:
        L.append(json.loads(line))
    except ValueError:
        pass
def hist(topic):
    h = [m for m in L if m.get("type") == "history" and m.get("topic") == topic]
    return h[-1] if h else {}
def seqs(msgs):
    return " ".join(str(m.get("seq")) for m in msgs)
def live(topic):
    return [m for m in L if m.get("topic") == topic and "seq" in m]
def sub(topic):
    s = [m for m in L if m.get("type") == "subscription" and m.get("topic") == topic]
    return s[-1] if s else {}
print(eval(sys.argv[2]))
PY
}

# is NAME EXPR WANT: pyq NAME EXPR prints exactly WANT; says what it got if not.
is() {
	local got
	got=$(pyq "$1" "$2")
	[ "$got" = "$3" ] && return 0
	echo "#   $1: $2 is '$got', expected '$3'"
	return 1
}

# count NAME STRING: the number of lines of NAME.out containing STRING.
count() {
	grep -cF -- "$2" "$T_DIR/$1.out"
}

# ---- a retained value published before anyone subscribed -------------------------------------
# The adapter holds only what it has seen: the broker sends the retained value
# when the adapter subscribes for the first subscriber, who gets it as a
# message; from then on it is the topic's retained value in every history.
pub feed "$PUBLISHER" market/RET '{"type":"price_update","ticker":"RET","price":101,"mark":"ret-1"}' -r
wsc ret1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RET"}' --timeout 60
check "the first subscriber gets the retained value from the broker, as seq 1" \
	wait_until 10 has ret1 '"mark":"ret-1"' '"topic":"market/RET"' '"seq":1,'
wsc ret2 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RET"}' --timeout 60
wait_until 10 has ret2 '"type":"history"'
check "a later subscriber gets the retained value in the history message, with seq and epoch" \
	is ret2 '[(m["mark"], m["seq"], m["epoch"] == hist("market/RET")["epoch"]) for m in hist("market/RET")["messages"]]' \
	"[('ret-1', 1, True)]"
check "the history comes after the subscription confirmation" \
	is ret2 '[m["type"] for m in L][1:3]' "['subscription', 'history']"
# More messages than the history holds: the retained value stays first.
for i in $(seq 2 $((HISTORY_SIZE + 2))); do
	pub feed "$PUBLISHER" market/RET "{\"type\":\"price_update\",\"ticker\":\"RET\",\"mark\":\"ret-$i\"}"
done
wait_until 10 has ret1 "\"mark\":\"ret-$((HISTORY_SIZE + 2))\""
wsc ret3 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RET"}' --timeout 60
wait_until 10 has ret3 '"type":"history"'
check "past history_size the history is the retained value, then the newest $HISTORY_SIZE messages" \
	is ret3 'seqs(hist("market/RET")["messages"])' "1 $(seq -s ' ' 3 $((HISTORY_SIZE + 2)))"
check "and its last_seq is the newest seq" is ret3 'hist("market/RET")["last_seq"]' $((HISTORY_SIZE + 2))
check "no subscriber got the retained value twice" \
	eval '[ "$(count ret1 "\"mark\":\"ret-1\"")" = 1 ] && [ "$(count ret2 "\"mark\":\"ret-1\"")" = 1 ]'

# ---- N messages, then a new subscriber: one history, in order ------------------------------------
wsc keep "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/HIST"}' --timeout 100
wait_until 10 has keep '"action":"subscribed"'
for i in 1 2 3 4 5; do
	pub feed "$PUBLISHER" market/HIST "{\"type\":\"price_update\",\"ticker\":\"HIST\",\"n\":$i}"
done
wait_until 10 has keep '"n":5'
wsc late "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/HIST"}' --timeout 60
wait_until 10 has late '"type":"history"'
check "a new subscriber gets the 5 messages in one history message" \
	eval '[ "$(count late "\"type\":\"history\"")" = 1 ] && is late "len(hist(\"market/HIST\")[\"messages\"])" 5'
check "in publication order" is late '[m["n"] for m in hist("market/HIST")["messages"]]' '[1, 2, 3, 4, 5]'
check "with contiguous seq 1..5" is late 'seqs(hist("market/HIST")["messages"])' '1 2 3 4 5'
