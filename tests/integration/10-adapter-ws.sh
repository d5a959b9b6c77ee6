#!/bin/bash
# 10-adapter-ws: the JSON WebSocket protocol of the adapter, end to end.
#
# A real mosquitto with the plugin, the real adapter, messages published with
# mosquitto_pub, and two independent clients: our rtg-sub (libwebsockets) and
# Debian's python3-websockets. Every SPEC message form on every endpoint path
# gets the right topic's messages, with topic, seq and epoch added; pings,
# auth by first message, publish and calculate work.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter

ALICE=$(token alice)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)
CALC=$(token worker calc)

# ---- the greeting, on every endpoint path ------------------------------------------------
for path in /ws /api/ws /ws/notifications /realtime/ws/client-7; do
	wsc "greet${path//\//_}" "$WS$path?token=$ALICE" --count 1 --timeout 5
done
# its type is the endpoint profile's: seed 002 reads connection_established
for path in /ws /api/ws /ws/notifications /realtime/ws/client-7; do
	greeting=connection
	[ "$path" = /ws/notifications ] && greeting=connection_established
	check "the greeting ($greeting) arrives first on $path" wait_until 10 first_has \
		"greet${path//\//_}" "\"type\":\"$greeting\"" '"status":"connected"' '"user_id":"alice"' \
		'"connection_id":'
done
wsc badpath "$WS/nope?token=$ALICE" --count 1 --timeout 5
wait_until 10 eval '[ -s "$T_DIR/badpath.out" ]'
check "an unknown WebSocket path is refused" has badpath '_connect_failed'

# ---- each subscribe form gets its topic's messages -----------------------------------------
# form-name | subscribe message | topic published | expected label in the confirmation
FORMS=(
	'topic|{"type":"subscribe","topic":"market/+"}|market/AAPL'
	'channel|{"type":"subscribe","channel":"market_data"}|market/MSFT'
	'ticker|{"type":"subscribe","channel":"ticker","ticker":"TSLA"}|market/TSLA'
	'subscription|{"type":"subscribe","subscription":"credit_updates"}|user/alice/credit'
	'symbol|{"type":"subscribe_symbol","symbol":"NIFTY"}|market/NIFTY'
	'room|{"type":"join_room","room":"lobby"}|rooms/lobby'
	'roomchannel|{"type":"join_room","room":"market_status"}|market/status'
	'notifications|{"type":"subscribe","channel":"notifications"}|user/alice/notifications'
	'system|{"type":"subscribe","channel":"system"}|system/announcements'
	'patterns|{"type":"subscribe","channel":"patterns"}|market/patterns/AAPL'
	'alerts|{"type":"subscribe","channel":"alerts"}|user/alice/alerts'
)
i=0
for f in "${FORMS[@]}"; do
	IFS='|' read -r name msg topic <<<"$f"
	i=$((i + 1))
	# alternate the two clients, so both speak every kind of form over the run
	if [ $((i % 2)) = 0 ]; then
		rsub "form_$name" --token "$ALICE" -W 20 "$msg"
	else
		wsc "form_$name" "$WS/ws?token=$ALICE" --send "$msg" --timeout 20
	fi
	wait_until 10 has "form_$name" '"type":"subscription"' '"action":"subscribed"'
done
for f in "${FORMS[@]}"; do
	IFS='|' read -r name msg topic <<<"$f"
	case "$topic" in
	market/*) pub feed "$PUBLISHER" "$topic" "{\"type\":\"price_update\",\"form\":\"$name\"}" ;;
	rooms/*) pub alice "$ALICE" "$topic" "{\"type\":\"room_message\",\"form\":\"$name\"}" ;;
	*) pub notify "$NOTIFIER" "$topic" "{\"type\":\"notification\",\"form\":\"$name\"}" ;;
	esac
done
for f in "${FORMS[@]}"; do
	IFS='|' read -r name msg topic <<<"$f"
	check "subscribe form '$name' receives $topic with topic and seq" \
		wait_until 10 has "form_$name" "\"form\":\"$name\"" "\"topic\":\"$topic\"" '"seq":' \
		'"epoch":'
done

# ---- /ws/notifications subscribes the user's notifications by itself -----------------------
wsc autonote "$WS/ws/notifications?token=$ALICE" --timeout 20
wait_until 10 has autonote '"action":"subscribed"'
pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","title":"auto"}'
check "/ws/notifications delivers the user's notifications without a subscribe" \
	wait_until 10 has autonote '"title":"auto"'

# ---- notification types ------------------------------------------------------------------------
wsc types "$WS/ws?token=$ALICE" --send \
	'{"type":"subscribe_notifications","types":["transaction","security"]}' --timeout 20
wait_until 10 has types '"action":"subscribed"'
pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","notification_type":"savings","n":1}'
pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","notification_type":"security","n":2}'
if wait_until 10 has types '"n":2' && lacks types '"n":1'; then
	ok "subscribe_notifications passes only the chosen types"
else
	not_ok "subscribe_notifications passes only the chosen types"
fi

# ---- non-JSON payloads are wrapped ---------------------------------------------------------------
wsc raw "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/RAW"}' --timeout 20
wait_until 10 has raw '"action":"subscribed"'
pub feed "$PUBLISHER" market/RAW 'plain text 42'
check "a non-JSON payload arrives as the topic's type, its text as message and payload" \
	wait_until 10 has raw '"type":"price_update"' '"topic":"market/RAW"' '"message":"plain text 42"' \
	'"payload":"plain text 42"'

# ---- unsubscribe stops the flow --------------------------------------------------------------------
wsc unsub "$WS/ws?token=$ALICE" --send '{"type":"subscribe_symbol","symbol":"UNS"}' \
	--send-after 3 '{"type":"unsubscribe_symbol","symbol":"UNS"}' --timeout 20
wait_until 10 has unsub '"action":"subscribed"'
pub feed "$PUBLISHER" market/UNS '{"type":"price_update","n":"before"}'
wait_until 10 has unsub '"action":"unsubscribed"'
pub feed "$PUBLISHER" market/UNS '{"type":"price_update","n":"after"}'
pub feed "$PUBLISHER" market/AAPL '{"type":"price_update","n":"sentinel"}'
check "a form-specific unsubscribe is confirmed" has unsub '"action":"unsubscribed"' '"topic":"market/UNS"'
check "after unsubscribing, no more messages arrive" eval \
	'wait_until 10 has form_topic "\"n\":\"sentinel\"" && lacks unsub "\"n\":\"after\""'

# ---- ping, auth by first message, publish ---------------------------------------------------------
wsc ping "$WS/ws?token=$ALICE" --send '{"type":"ping"}' --count 2 --timeout 10
check "ping is answered by pong" wait_until 10 has ping '"type":"pong"' '"timestamp":'
# /ws also serves clients without a token (seed 001): one is greeted as
# anonymous at once, and an auth message then signs it in.
wsc authmsg "$WS/ws" --send "{\"type\":\"auth\",\"token\":\"$ALICE\"}" --send '{"type":"ping"}' \
	--count 3 --timeout 10
check "without a token, /ws greets an anonymous client" \
	wait_until 10 first_has authmsg '"type":"connection"' '"user_id":null' '"anonymous":true'
check "an auth message then signs it in" \
	wait_until 10 has authmsg '"type":"auth"' '"status":"authenticated"' '"user_id":"alice"'
check "and the connection is then usable" wait_until 10 has authmsg '"type":"pong"'
wsc authfirst "$WS/ws/notifications" --send "{\"type\":\"auth\",\"token\":\"$ALICE\"}" \
	--count 1 --timeout 10
check "where a token is required, a first auth message authenticates and then greets" \
	wait_until 10 first_has authfirst '"type":"connection_established"' '"user_id":"alice"'
rsub authsub --token "$ALICE" --auth-message -C 3 '{"type":"ping"}'
check "rtg-sub can authenticate by message" wait_until 10 has authsub '"type":"pong"'

wsc pubber "$WS/ws?token=$ALICE" --send \
	'{"type":"publish","topic":"rooms/lobby","payload":{"type":"chat","text":"hello room"}}' \
	--timeout 10
check "a client may publish where the ACL allows" wait_until 10 has form_room '"text":"hello room"'
check "and gets an acknowledgement" wait_until 10 has pubber '"type":"published"'

# ---- calculate ------------------------------------------------------------------------------------------
sub_start worker worker "$CALC" '$share/calc/calc/+/request'
wsc calc "$WS/ws?token=$ALICE" --send \
	'{"type":"calculate","calculation_id":"c1","calculation_type":"npv","parameters":{"rate":0.1}}' \
	--timeout 20
check "calculate is accepted with its id" wait_until 10 has calc '"type":"calculation_accepted"' '"calculation_id":"c1"'
check "the request reaches a calc worker with the requesting user" \
	wait_until 10 has worker 'calc/alice~c1/request' '"user_id":"alice"' '"calculation_type":"npv"'
pub worker "$CALC" 'calc/alice~c1/progress' \
	'{"type":"calculation_update","calculation_id":"c1","status":"completed","progress":100}' -r
check "progress is relayed to the requesting client" \
	wait_until 10 has calc '"type":"calculation_update"' '"status":"completed"'

finish
