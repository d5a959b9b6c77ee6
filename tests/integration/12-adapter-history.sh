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

# is NAME EXPR WANT: "pyq NAME EXPR" prints exactly WANT (lib.sh is_via).
is() {
	is_via pyq "$@"
}

# count NAME STRING: the number of lines of NAME.out containing STRING.
count() {
	grep -cF -- "$2" "$T_DIR/$1.out"
}

# stat_of NAME: a top-level figure of /api/stats.
stat_of() {
	curl -s "$HTTP/api/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# ---- a retained value published before anyone subscribed -------------------------------------
# The adapter holds only what it has seen: the broker sends the retained value
# when the adapter subscribes for the first subscriber, who gets it as a
# message; from then on it is the topic's retained value in every history.
pub feed "$PUBLISHER" market/RET '{"type":"price_update","ticker":"RET","price":101,"mark":"ret-1"}' -r
wsc ret1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RET"}' --timeout 60
expect "the first subscriber gets the retained value from the broker, as seq 1" \
	wait_until 10 has ret1 '"mark":"ret-1"' '"topic":"market/RET"' '"seq":1,'
wsc ret2 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RET"}' --timeout 60
wait_until 10 has ret2 '"type":"history"'
expect "a later subscriber gets the retained value in the history message, with seq and epoch" \
	is ret2 '[(m["mark"], m["seq"], m["epoch"] == hist("market/RET")["epoch"]) for m in hist("market/RET")["messages"]]' \
	"[('ret-1', 1, True)]"
expect "the history comes after the subscription confirmation" \
	is ret2 '[m["type"] for m in L][1:3]' "['subscription', 'history']"
# More messages than the history holds: the retained value stays first.
for i in $(seq 2 $((HISTORY_SIZE + 2))); do
	pub feed "$PUBLISHER" market/RET "{\"type\":\"price_update\",\"ticker\":\"RET\",\"mark\":\"ret-$i\"}"
done
wait_until 10 has ret1 "\"mark\":\"ret-$((HISTORY_SIZE + 2))\""
wsc ret3 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RET"}' --timeout 60
wait_until 10 has ret3 '"type":"history"'
expect "past history_size the history is the retained value, then the newest $HISTORY_SIZE messages" \
	is ret3 'seqs(hist("market/RET")["messages"])' "1 $(seq -s ' ' 3 $((HISTORY_SIZE + 2)))"
expect "and its last_seq is the newest seq" is ret3 'hist("market/RET")["last_seq"]' $((HISTORY_SIZE + 2))
expect "no subscriber got the retained value twice" \
	eval '[ "$(count ret1 "\"mark\":\"ret-1\"")" = 1 ] && [ "$(count ret2 "\"mark\":\"ret-1\"")" = 1 ]'

# ---- N messages, then a new subscriber: one history, in order ------------------------------------
wsc keep "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/HIST"}' --timeout 100
wait_until 10 has keep '"action":"subscribed"'
wait_until 10 broker_has_sub market/HIST
for i in 1 2 3 4 5; do
	pub feed "$PUBLISHER" market/HIST "{\"type\":\"price_update\",\"ticker\":\"HIST\",\"n\":$i}"
done
wait_until 10 has keep '"n":5'
wsc late "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/HIST"}' --timeout 60
wait_until 10 has late '"type":"history"'
expect "a new subscriber gets the 5 messages in one history message" \
	eval '[ "$(count late "\"type\":\"history\"")" = 1 ] && is late "len(hist(\"market/HIST\")[\"messages\"])" 5'
expect "in publication order" is late '[m["n"] for m in hist("market/HIST")["messages"]]' '[1, 2, 3, 4, 5]'
expect "with contiguous seq 1..5" is late 'seqs(hist("market/HIST")["messages"])' '1 2 3 4 5'
HIST_EPOCH=$(pyq keep 'live("market/HIST")[-1]["epoch"]')
expect "all in the topic's epoch, the one live messages carry" \
	is late 'sorted({m["epoch"] for m in hist("market/HIST")["messages"]} | {hist("market/HIST")["epoch"]})' \
	"['$HIST_EPOCH']"
expect "with last_seq 5" is late 'hist("market/HIST")["last_seq"]' 5

# ---- since: a client comes back after missing messages -------------------------------------------
wsc keep2 "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/SINCE"}' --timeout 100
wait_until 10 has keep2 '"action":"subscribed"'
wait_until 10 broker_has_sub market/SINCE
wsc away "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/SINCE","policy":"queue"}' \
	--timeout 60
AWAY_PID=$WSC_PID
wait_until 10 has away '"action":"subscribed"'
for i in 1 2 3; do
	pub feed "$PUBLISHER" market/SINCE "{\"type\":\"price_update\",\"ticker\":\"SINCE\",\"n\":$i}"
done
wait_until 10 has away '"n":3'
stop "$AWAY_PID"
E=$(pyq away 'live("market/SINCE")[-1]["epoch"]')
S=$(pyq away 'live("market/SINCE")[-1]["seq"]')
expect "the client saw seq 1..3 before it left" is away 'seqs(live("market/SINCE"))' '1 2 3'
for i in 4 5 6; do
	pub feed "$PUBLISHER" market/SINCE "{\"type\":\"price_update\",\"ticker\":\"SINCE\",\"n\":$i}"
done
wait_until 10 has keep2 '"n":6'

wsc back "$WS/ws?token=$ALICE" \
	--send "{\"type\":\"subscribe\",\"topic\":\"market/SINCE\",\"since\":{\"epoch\":\"$E\",\"seq\":$S}}" \
	--timeout 60
wait_until 10 has back '"type":"history"'
expect "a subscribe with since answers recovered: true" is back 'sub("market/SINCE").get("recovered")' True
expect "the history is marked replay: true" is back 'hist("market/SINCE").get("replay")' True
expect "it carries exactly the missed messages, seq 4..6, in order" \
	is back '[(m["seq"], m["n"], m["epoch"]) for m in hist("market/SINCE")["messages"]]' \
	"[(4, 4, '$E'), (5, 5, '$E'), (6, 6, '$E')]"
pub feed "$PUBLISHER" market/SINCE '{"type":"price_update","ticker":"SINCE","n":7}'
wait_until 10 has back '"n":7'
expect "then live messages follow on: no hole, no duplicate (4 5 6 7)" \
	is back 'seqs(hist("market/SINCE")["messages"] + live("market/SINCE"))' '4 5 6 7'

wsc wrong "$WS/ws?token=$ALICE" \
	--send '{"type":"subscribe","topic":"market/SINCE","since":{"epoch":"deadbeef-99","seq":3}}' \
	--timeout 60
wait_until 10 has wrong '"type":"history"'
expect "with another epoch: recovered: false" is wrong 'sub("market/SINCE").get("recovered")' False
expect "and the full history, not marked replay" \
	is wrong '(seqs(hist("market/SINCE")["messages"]), hist("market/SINCE").get("replay", False))' \
	"('1 2 3 4 5 6 7', False)"

wsc uptodate "$WS/ws?token=$ALICE" \
	--send "{\"type\":\"subscribe\",\"topic\":\"market/SINCE\",\"since\":{\"epoch\":\"$E\",\"seq\":7}}" \
	--timeout 60
wait_until 10 has uptodate '"type":"subscription"'
wait_until 10 has uptodate '"type":"history"'
expect "a client already at the last seq: recovered: true and nothing replayed" \
	is uptodate '(sub("market/SINCE").get("recovered"), seqs(hist("market/SINCE").get("messages", [])))' \
	"(True, '')"

# Past history_size the oldest messages are gone: 8..12 push 1..4 out of 8 slots.
for i in 8 9 10 11 12; do
	pub feed "$PUBLISHER" market/SINCE "{\"type\":\"price_update\",\"ticker\":\"SINCE\",\"n\":$i}"
done
wait_until 10 has keep2 '"n":12'
wsc gone "$WS/ws?token=$ALICE" \
	--send "{\"type\":\"subscribe\",\"topic\":\"market/SINCE\",\"since\":{\"epoch\":\"$E\",\"seq\":$S}}" \
	--timeout 60
wait_until 10 has gone '"type":"history"'
expect "when missed messages were pushed out of the history: recovered: false" \
	is gone 'sub("market/SINCE").get("recovered")' False
expect "and the full history held (seq 5..12)" \
	is gone 'seqs(hist("market/SINCE")["messages"])' '5 6 7 8 9 10 11 12'

# ---- since with a wildcard filter: one position per topic -------------------------------------------
NT=user/alice/notifications
AT=user/alice/alerts
wsc keep3 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"user/alice/#"}' --timeout 100
wait_until 10 has keep3 '"action":"subscribed"'
wait_until 10 broker_has_sub 'user/alice/#'
wsc w1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"user/alice/+"}' --timeout 60
W1_PID=$WSC_PID
wait_until 10 has w1 '"action":"subscribed"'
pub notify "$NOTIFIER" $NT '{"type":"notification","k":"n1"}'
pub notify "$NOTIFIER" $AT '{"type":"alert_trigger","k":"a1"}'
pub notify "$NOTIFIER" $NT '{"type":"notification","k":"n2"}'
pub notify "$NOTIFIER" $AT '{"type":"alert_trigger","k":"a2"}'
wait_until 10 has w1 '"k":"a2"'
stop "$W1_PID"
EN=$(pyq w1 "live('$NT')[-1]['epoch']")
SN=$(pyq w1 "live('$NT')[-1]['seq']")
EA=$(pyq w1 "live('$AT')[-1]['epoch']")
SA=$(pyq w1 "live('$AT')[-1]['seq']")
expect "the wildcard client saw seq 1..2 of both topics" \
	eval '[ "$SN" = 2 ] && [ "$SA" = 2 ] && [ "$EN" != "$EA" ]'
pub notify "$NOTIFIER" $NT '{"type":"notification","k":"n3"}'
pub notify "$NOTIFIER" $NT '{"type":"notification","k":"n4"}'
pub notify "$NOTIFIER" $AT '{"type":"alert_trigger","k":"a3"}'
wait_until 10 has keep3 '"k":"n4"'
wait_until 10 has keep3 '"k":"a3"'
wsc w2 "$WS/ws?token=$ALICE" --send "{\"type\":\"subscribe\",\"topic\":\"user/alice/+\",\"since\":{\
\"$NT\":{\"epoch\":\"$EN\",\"seq\":$SN},\"$AT\":{\"epoch\":\"$EA\",\"seq\":$SA}}}" --timeout 60
wait_until 10 eval '[ "$(count w2 "\"type\":\"history\"")" -ge 2 ]'
expect "a wildcard subscribe with a since map answers recovered: true" \
	is w2 'sub("user/alice/+").get("recovered")' True
expect "it replays exactly the missed notifications (seq 3 4)" \
	is w2 "(seqs(hist('$NT')['messages']), [m['k'] for m in hist('$NT')['messages']], hist('$NT').get('replay'))" \
	"('3 4', ['n3', 'n4'], True)"
expect "and exactly the missed alert (seq 3)" \
	is w2 "(seqs(hist('$AT')['messages']), [m['k'] for m in hist('$AT')['messages']], hist('$AT').get('replay'))" \
	"('3', ['a3'], True)"
wsc w3 "$WS/ws?token=$ALICE" --send "{\"type\":\"subscribe\",\"topic\":\"user/alice/+\",\"since\":{\
\"$NT\":{\"epoch\":\"$EN\",\"seq\":$SN},\"$AT\":{\"epoch\":\"deadbeef-7\",\"seq\":$SA}}}" --timeout 60
wait_until 10 eval '[ "$(count w3 "\"type\":\"history\"")" -ge 2 ]'
expect "one topic of the map in another epoch: recovered: false, and that topic's full history" \
	is w3 "(sub('user/alice/+').get('recovered'), seqs(hist('$AT')['messages']))" "(False, '1 2 3')"

# ---- since after the adapter stopped following the topic -----------------------------------------
# The client was the topic's only subscriber: when it left, the adapter
# unsubscribed at the broker and never saw what was published next. It cannot
# replay that, so it must not answer "recovered": true (SPEC: "so a client
# always knows whether it missed data").
wsc solo "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/SOLO","policy":"queue"}' \
	--timeout 60
SOLO_PID=$WSC_PID
wait_until 10 has solo '"action":"subscribed"'
wait_until 10 broker_has_sub market/SOLO
for i in 1 2 3; do
	pub feed "$PUBLISHER" market/SOLO "{\"type\":\"price_update\",\"ticker\":\"SOLO\",\"n\":$i}"
done
wait_until 10 has solo '"n":3'
stop "$SOLO_PID"
ES=$(pyq solo 'live("market/SOLO")[-1]["epoch"]')
expect "when its only client leaves, the adapter unsubscribes the topic at the broker" \
	wait_until 10 broker_unsubscribed market/SOLO
for i in 4 5; do
	pub feed "$PUBLISHER" market/SOLO "{\"type\":\"price_update\",\"ticker\":\"SOLO\",\"n\":$i}"
done
wsc solo2 "$WS/ws?token=$ALICE" \
	--send "{\"type\":\"subscribe\",\"topic\":\"market/SOLO\",\"since\":{\"epoch\":\"$ES\",\"seq\":3}}" \
	--timeout 60
wait_until 10 has solo2 '"type":"history"'
expect "messages published while the adapter did not follow the topic are not passed off as recovered" \
	is solo2 'sub("market/SOLO").get("recovered")' False

# ---- overlapping filters: each message once -------------------------------------------------------
# "queue", not the default "conflate" for market/: conflation would hide a
# duplicate queued next to the original (and may drop the first of two
# messages that reach the adapter in one read).
wsc dd1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/+","policy":"queue"}' \
	--send '{"type":"subscribe","topic":"market/AAPL","policy":"queue"}' --timeout 60
wsc dd2 "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/AAPL","policy":"queue"}' \
	--timeout 60
wait_until 10 eval '[ "$(count dd1 "\"action\":\"subscribed\"")" = 2 ]'
wait_until 10 has dd2 '"action":"subscribed"'
wait_until 10 broker_has_sub market/+
wait_until 10 broker_has_sub market/AAPL
DUPS=$(stat_of mqtt_duplicates)
pub feed "$PUBLISHER" market/AAPL '{"type":"price_update","ticker":"AAPL","mark":"dd-one"}'
pub feed "$PUBLISHER" market/AAPL '{"type":"price_update","ticker":"AAPL","mark":"dd-two"}'
pub feed "$PUBLISHER" market/MSFT '{"type":"price_update","ticker":"MSFT","mark":"dd-msft"}'
wait_until 10 has dd1 '"mark":"dd-msft"'
wait_until 10 has dd2 '"mark":"dd-two"'
expect "a client on market/+ and market/AAPL gets each AAPL message exactly once" \
	eval '[ "$(count dd1 dd-one)" = 1 ] && [ "$(count dd1 dd-two)" = 1 ]'
expect "with consecutive seqs" is dd1 "seqs([m for m in live('market/AAPL') if 'mark' in m])" '1 2'
expect "a client on market/AAPL only gets each exactly once too" \
	eval '[ "$(count dd2 dd-one)" = 1 ] && [ "$(count dd2 dd-two)" = 1 ]'
expect "the broker did send overlapping copies, and the adapter dropped them" \
	wait_until 10 eval '[ "$(stat_of mqtt_duplicates)" -ge $((DUPS + 2)) ]'

# ---- rtg-sub --reconnect across an adapter restart -----------------------------------------------
rsub reco --token "$ALICE" --reconnect '{"type":"subscribe","topic":"market/RECO"}'
RECO_PID=$RSUB_PID
wait_until 10 has reco '"action":"subscribed"'
wait_until 10 broker_has_sub market/RECO
pub feed "$PUBLISHER" market/RECO '{"type":"price_update","ticker":"RECO","mark":"before"}'
wait_until 10 has reco '"mark":"before"'
OLD_EPOCH=$(pyq reco 'live("market/RECO")[-1]["epoch"]')
PORT=$ADAPTER_PORT
kill -TERM "$ADAPTER_PID"
wait "$ADAPTER_PID"
expect "the adapter's SIGTERM reaches rtg-sub as a 1001 close" wait_until 10 has reco '"_closed"' '1001'
SUBS_BEFORE=$(grep -cF "	market/RECO (QoS" "$T_DIR/broker.log")
# start_adapter's wait for the "listening" line could read the old log before the
# new process truncates it: keep the old log under another name.
mv "$T_DIR/adapter.log" "$T_DIR/adapter-before-restart.log"
start_adapter --history-size "$HISTORY_SIZE" --http-port "$PORT"
expect "the adapter restarts on the same port" test "$ADAPTER_PORT" = "$PORT"
expect "rtg-sub reconnects by itself and resubscribes with since: recovered: false (new epoch)" \
	wait_until 20 eval 'has reco "\"action\":\"subscribed\"" "\"recovered\":false"'
wait_until 10 eval '[ "$(grep -cF "	market/RECO (QoS" "$T_DIR/broker.log")" -gt "$SUBS_BEFORE" ]'
pub feed "$PUBLISHER" market/RECO '{"type":"price_update","ticker":"RECO","mark":"after"}'
expect "then it receives new messages, in the new epoch from seq 1" \
	wait_until 10 eval "is reco \"[(m['seq'], m['epoch'] != '$OLD_EPOCH') for m in live('market/RECO') if m.get('mark') == 'after']\" '[(1, True)]'"
expect "it is the same rtg-sub process throughout" kill -0 "$RECO_PID"

finish
