#!/bin/bash
# 11-adapter-isolation: what the adapter refuses, and that refusing never
# disturbs anyone else.
#
# alice never receives bob's user/ or calc/ messages whatever she tries; bad
# tokens close with 4001; malformed, unknown, incomplete and oversized input
# gets an error or a clear close while other clients keep receiving; two
# clients on one topic make one broker subscription, gone when both leave;
# an ACL reload ends subscriptions it no longer allows; SIGTERM closes with 1001.
. "$(dirname "$0")/lib.sh"

ACL=$T_DIR/acl.conf
cp "$RTG_ROOT/acl/acl.conf" "$ACL"
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
ADAPTER_ACL=$ACL start_adapter --auth-timeout 2 --max-message-size 65536

ALICE=$(token alice)
BOB=$(token bob)
NOTIFIER=$(token notify notifier)
PUBLISHER=$(token feed publisher)
CALC=$(token worker calc)

# ---- alice never gets bob's messages --------------------------------------------------------
wsc bob "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"user/bob/#"}' \
	--send '{"type":"calculate","calculation_id":"b1","calculation_type":"npv","parameters":{}}' \
	--timeout 30
wsc alice "$WS/ws?token=$ALICE" \
	--send '{"type":"subscribe","topic":"user/bob/#"}' \
	--send '{"type":"subscribe","topic":"user/+/notifications"}' \
	--send '{"type":"subscribe","topic":"#"}' \
	--send '{"type":"subscribe","topic":"calc/#"}' \
	--send '{"type":"subscribe","topic":"calc/bob~b1/progress"}' \
	--send '{"type":"subscribe","channel":"calculations"}' \
	--send '{"type":"subscribe","topic":"user/alice/#"}' \
	--send '{"type":"calculate","calculation_id":"b1","calculation_type":"npv","parameters":{}}' \
	--timeout 30
wait_until 10 has alice '"action":"subscribed"' '"topic":"user/alice/#"'
wait_until 10 has bob '"type":"calculation_accepted"'
for f in 'user/bob/#' 'user/+/notifications' '#' 'calc/#' 'calc/bob~b1/progress'; do
	check "alice's subscribe to $f is refused with an error" \
		has alice '"type":"error"' "cannot subscribe to '$f'"
done
pub notify "$NOTIFIER" user/bob/notifications '{"type":"notification","secret":"bob-only"}'
pub worker "$CALC" 'calc/bob~b1/progress' '{"type":"calculation_update","calculation_id":"b1","secret":"bob-calc"}'
pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","n":"alice-sentinel"}'
wait_until 10 has bob '"secret":"bob-calc"'
if wait_until 10 has alice '"n":"alice-sentinel"' && lacks alice 'bob-only' && lacks alice 'bob-calc'; then
	ok "alice receives none of bob's user/ or calc/ messages, even with the same calculation id"
else
	not_ok "alice receives none of bob's user/ or calc/ messages, even with the same calculation id"
fi
check "bob receives his own" has bob '"secret":"bob-only"'

# SSE and the HTTP API: the same rules.
code=$(curl -s -o "$T_DIR/sse_bob.out" -w '%{http_code}' -m 5 \
	-H "Authorization: Bearer $ALICE" "$HTTP/sse/credit-score/bob")
check "alice's SSE stream of bob's credit score is refused with 403" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $ALICE" \
	"$HTTP/sse?topic=user/%2B/notifications")
check "an SSE stream on user/+/notifications is refused with 403" test "$code" = 403

# ---- bad tokens -------------------------------------------------------------------------------------
# /ws/notifications needs a token (/ws would greet an anonymous client: 10-adapter-ws)
wsc notoken "$WS/ws/notifications" --timeout 10
wsc badsig "$WS/ws?token=$("$RTG_BUILD/rtg-token" --sub alice --secret-file "$RTG_FIXTURES/hs_other_secret.txt")" --timeout 10
wsc expired "$WS/ws?token=$(token alice "" -100)" --timeout 10
wsc garbage "$WS/ws/notifications" --send '{"type":"auth","token":"garbage"}' --timeout 10
check "no token: closed with 4001 after the auth timeout" \
	wait_until 10 has notoken '"code": 4001' 'authentication timeout'
check "a bad signature: closed with 4001 and the reason" \
	wait_until 10 has badsig '"code": 4001' 'bad signature'
check "an expired token: closed with 4001" wait_until 10 has expired '"code": 4001' 'expired'
check "a garbage auth message: closed with 4001" wait_until 10 has garbage '"code": 4001' 'malformed'
rsub rbad --token not-a-token -W 10
check "rtg-sub reports the 4001 close" wait_until 10 has rbad '"_closed"' '4001'
code=$(curl -s -o "$T_DIR/sse401.out" -w '%{http_code}' -m 5 -H "Authorization: Bearer nope" "$HTTP/sse/market-updates")
check "SSE with a bad token answers 401 with a JSON error" eval \
	'[ "$code" = 401 ] && grep -q "\"error\"" "$T_DIR/sse401.out"'

# ---- bad input never disturbs others ------------------------------------------------------------------
wsc steady "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/STEADY"}' --timeout 40
wait_until 10 has steady '"action":"subscribed"'
wsc bad "$WS/ws?token=$ALICE" --send 'this is not json' --send '{"no":"type"}' \
	--send '{"type":"frobnicate"}' --send '{"type":"subscribe"}' \
	--send '{"type":"subscribe","topic":"a/#/b"}' --send '{"type":"publish","topic":"market/X"}' \
	--send '{"type":"calculate"}' --send '[1,2,3]' --send '{"type":"ping"}' --timeout 20
check "malformed JSON gets an error" wait_until 10 has bad '"type":"error"' 'malformed JSON'
check "a message without a type gets an error" has bad '"type":"error"' 'string \"type\"'
check "an unknown type gets an error naming it" has bad '"type":"error"' "frobnicate"
check "a subscribe without a target gets an error" has bad '"type":"error"' 'subscribe needs one of'
check "an invalid filter gets an error" has bad '"type":"error"' 'invalid topic filter'
check "a publish without payload gets an error" has bad '"type":"error"' 'needs a \"payload\"'
check "a calculate without type gets an error" has bad '"type":"error"' 'calculation_type'
check "after all that the connection still answers" wait_until 10 has bad '"type":"pong"'
wsc huge "$WS/ws?token=$ALICE" --raw-bytes 1048576 --timeout 10
check "a 1 MiB frame closes that connection with 1009" wait_until 10 has huge '"code": 1009'
pub feed "$PUBLISHER" market/STEADY '{"type":"price_update","n":"still-here"}'
check "other clients keep receiving" wait_until 10 has steady '"n":"still-here"'

# ---- one broker subscription per distinct filter ------------------------------------------------------
broker_subs() {
	curl -s "$HTTP/api/stats" | "$PY" -c \
		'import json,sys; print(json.load(sys.stdin)["subscriptions"].get(sys.argv[1], 0))' "$1"
}
# two1 unsubscribes once it has a message on the topic (its third message).
wsc two1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/TWO"}' \
	--send-after 3 '{"type":"unsubscribe","topic":"market/TWO"}' --timeout 30
wsc two2 "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/TWO"}' --timeout 30
wait_until 10 has two1 '"action":"subscribed"'
wait_until 10 has two2 '"action":"subscribed"'
check "two clients on one topic make one broker subscription" \
	eval '[ "$(grep -c "	market/TWO (QoS 0)" "$T_DIR/broker.log")" = 1 ]'
check "the adapter counts two clients on it" eval '[ "$(broker_subs market/TWO)" = 2 ]'
pub feed "$PUBLISHER" market/TWO '{"type":"price_update","n":"two"}'
wait_until 10 has two1 '"action":"unsubscribed"'
stop "$WSC_PID"
unsubscribed_at_broker() {
	grep -A1 "Received UNSUBSCRIBE from rtg-adapter" "$T_DIR/broker.log" | grep -q "market/TWO"
}
check "when both leave the broker subscription is gone" wait_until 10 unsubscribed_at_broker
check "and the adapter counts none for it" eval '[ "$(broker_subs market/TWO)" = 0 ]'

# ---- an ACL reload ends what it no longer allows --------------------------------------------------------
wsc lobby "$WS/ws?token=$ALICE" --send '{"type":"join_room","room":"lobby"}' --timeout 30
wait_until 10 has lobby '"action":"subscribed"'
# acl.conf opens every room with one line; removing it closes the lobby too
check "acl.conf opens the rooms with 'topic readwrite rooms/+'" \
	grep -qx 'topic readwrite rooms/+' "$ACL"
sed -i 's|^topic readwrite rooms/+$|# rooms closed|' "$ACL"
kill -HUP "$ADAPTER_PID"
check "after an ACL reload the lost subscription ends with a reason" \
	wait_until 10 has lobby '"action":"unsubscribed"' '"topic":"rooms/lobby"' '"reason":'

# ---- tokens never reach the log ---------------------------------------------------------------------
if grep -qF "${ALICE##*.}" "$T_DIR/adapter.log" || grep -qF "${BOB##*.}" "$T_DIR/adapter.log"; then
	not_ok "tokens (by query, header or message) never appear in the adapter's log"
else
	ok "tokens (by query, header or message) never appear in the adapter's log"
fi

# ---- SIGTERM: 1001 for every client, exit 0 ------------------------------------------------------------
wsc last "$WS/ws?token=$ALICE" --timeout 20
wait_until 10 has last '"type":"connection"'
kill -TERM "$ADAPTER_PID"
check "SIGTERM closes WebSockets with 1001" wait_until 10 has last '"code": 1001'
wait "$ADAPTER_PID"
check "the adapter exits 0 on SIGTERM" test $? -eq 0

finish
