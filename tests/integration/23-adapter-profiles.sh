#!/bin/bash
# 23-adapter-profiles: what the endpoint profiles (profiles/gateway.conf,
# docs/profiles.md) make of each path, against the real broker and adapter.
#
# Anonymous clients where an endpoint allows them (public topics only: no
# private topic, no write, no calculation), envelopes (flat with the
# publisher's bytes, nested, a type nested under its own key, renames),
# greetings and the subscriptions an endpoint makes on connect, path
# parameters, the type a payload without one gets, the first subscriber's
# history, a calculation id used again, an empty retained message, the
# broadcast API's bodies, seed 003's statistics, the token cookie, CORS, a
# watchlist subscribed at once, and a reload of the profiles on SIGHUP (a
# broken file keeps the old ones, and refuses to start).
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
# the profiles from a copy, so the reload at the end can change them
cp "$RTG_ROOT/profiles/gateway.conf" "$T_DIR/profiles.conf"
ADAPTER_PROFILES=$T_DIR/profiles.conf
start_adapter --allowed-origins "http://app.example"
ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)
SERVICE=$(token svc notifier,publisher)
CALC=$(token worker calc)

# ---- anonymous clients ------------------------------------------------------------------------------
wsc anon "$WS/ws" --send '{"type":"subscribe","channel":"market_data"}' \
	--send '{"type":"subscribe","channel":"notifications"}' \
	--send '{"type":"subscribe","topic":"user/alice/notifications"}' \
	--send '{"type":"publish","topic":"rooms/lobby","payload":"hi"}' \
	--send '{"type":"calculate","calculation_type":"npv","parameters":{}}' --timeout 20
check "/ws greets a client without a token as anonymous" \
	wait_until 10 first_has anon '"type":"connection"' '"user_id":null' '"anonymous":true'
check "an anonymous client may subscribe a public channel" \
	wait_until 10 has anon '"action":"subscribed"' '"topic":"market/+"'
check "but not a channel of the user's own: it is told to sign in" \
	wait_until 10 has anon '"type":"error"' 'for signed-in users'
check "nor another user's topic (the ACL's anonymous rules)" \
	wait_until 10 has anon '"type":"error"' "user/alice/notifications" 'anonymous'
check "nor publish" wait_until 10 has anon '"type":"error"' "cannot publish to 'rooms/lobby'"
check "nor start a calculation" wait_until 10 has anon '"type":"error"' 'calculations are for signed-in'
pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","mark":"private-1"}'
pub feed "$PUBLISHER" market/ANON '{"type":"price_update","mark":"public-1"}'
check "it gets the public feed" wait_until 10 has anon '"mark":"public-1"'
check "and nothing private" lacks anon private-1
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$HTTP/sse/notifications")
check "a private SSE endpoint still needs a token (401)" test "$code" = 401
wsc need "$WS/ws/trading/signals/" --timeout 20

# ---- envelopes, greetings, subscriptions on connect ----------------------------------------------
wsc n002 "$WS/ws/notifications?token=$ALICE" \
	--send '{"type":"subscribe_notifications","types":["security"]}' --timeout 30
check "seed 002's path greets with connection_established" \
	wait_until 10 first_has n002 '"type":"connection_established"' '"user_id":"alice"'
check "and subscribes the user's notifications, transactions, balance and announcements" \
	eval 'wait_until 10 has n002 "\"topic\":\"user/alice/notifications\"" &&
		has n002 "\"topic\":\"user/alice/transactions\"" && has n002 "\"topic\":\"user/alice/balance\"" &&
		has n002 "\"topic\":\"system/announcements\""'
# the fifth confirmation answers subscribe_notifications
wait_until 10 eval '[ "$(grep -c "\"action\":\"subscribed\"" "$T_DIR/n002.out")" = 5 ]'
wsc r000 "$WS/realtime/ws/c7?token=$ALICE" --send '{"type":"subscribe","subscription":"credit_updates"}' \
	--timeout 30
wait_until 10 has r000 '"topic":"user/alice/credit"'
pub notify "$NOTIFIER" user/alice/notifications \
	'{"type":"notification","notification_type":"security","title":"T1","n":1796161075629123436}'
pub notify "$NOTIFIER" user/alice/notifications \
	'{"type":"notification","notification_type":"promo","title":"T2"}'
pub notify "$NOTIFIER" user/alice/transactions '{"type":"transaction_update","amount":12.50}'
pub notify "$NOTIFIER" user/alice/credit '{"type":"credit_analysis","score":712}'
check "nested: the notification under data, with its bytes as published" \
	wait_until 10 has n002 '{"type":"notification","data":{"type":"notification","notification_type":"security","title":"T1","n":1796161075629123436}'
check "subscribe_notifications narrows the notifications the path subscribed itself" \
	eval 'wait_until 10 has n002 "\"amount\":12.50" && lacks n002 "\"title\":\"T2\""'
check "a transaction arrives without being asked for, nested too" \
	has n002 '"type":"transaction_update","data":{"type":"transaction_update","amount":12.50}'
check "seed 000's path nests credit_analysis under data" \
	wait_until 10 has r000 '"type":"credit_analysis","data":{"type":"credit_analysis","score":712}'

# a path parameter in what an endpoint subscribes
wsc job "$WS/ws/ai-studio/training/j9/?token=$ALICE" --timeout 30
wait_until 10 has job '"topic":"user/alice/studio/training/j9"'
pub notify "$NOTIFIER" user/alice/studio/training/j8 '{"type":"training_update","mark":"j8"}'
pub notify "$NOTIFIER" user/alice/studio/training/j9 \
	'{"type":"training_update","progress_percentage":65.0,"mark":"j9"}'
check "seed 004's training path follows its job only, nested under progress" \
	eval 'wait_until 10 has job "\"type\":\"training_update\",\"progress\":{" "\"mark\":\"j9\"" && lacks job "\"mark\":\"j8\""'

# calculations renamed on seed 000's path
sub_start worker worker "$CALC" '$share/calc/calc/+/request'
wsc rcalc "$WS/realtime/ws/c8?token=$ALICE" \
	--send '{"type":"calculate","calculation_id":"r1","calculation_type":"npv","parameters":{}}' \
	--timeout 30
wait_until 10 grep -qF 'calc/alice~r1/request' "$T_DIR/worker.out"
pub worker "$CALC" 'calc/alice~r1/progress' \
	'{"type":"calculation_update","calculation_id":"r1","status":"processing","progress":40}'
check "seed 000's path renames calculation_update to calculation_progress" \
	wait_until 10 has rcalc '"type":"calculation_progress"' '"progress":40'

# ---- payloads without a type, plain text, the publisher's bytes ------------------------------------
wsc bytes "$WS/ws?token=$ALICE" --send '{"type":"subscribe","channel":"notifications"}' \
	--send '{"type":"subscribe","topic":"market/BYT"}' --timeout 30
wait_until 10 eval '[ "$(grep -c "\"action\":\"subscribed\"" "$T_DIR/bytes.out")" = 2 ]'
pub feed "$PUBLISHER" market/BYT '{"price":189.50,"volume":1796161075629123436}'
pub notify "$NOTIFIER" user/alice/notifications 'Hello alice'
check "a payload without a type gets its topic's (price_update), numbers as published" \
	wait_until 10 has bytes '{"price":189.50,"volume":1796161075629123436,"type":"price_update","topic":"market/BYT"'
check "plain text becomes the topic's type with the text as its message" \
	wait_until 10 has bytes '"type":"notification","message":"Hello alice"'

# ---- the first subscriber's history; no message twice -------------------------------------------------
pub feed "$PUBLISHER" market/FIRST '{"type":"price_update","mark":"f-1"}' -r
wsc first "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/FIRST"}' --timeout 30
check "a topic's first subscriber gets its retained value as history" \
	wait_until 10 has first '"type":"history"' '"mark":"f-1"'
wsc second "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/FIRST"}' --timeout 30
check "and so does the next one" wait_until 10 has second '"type":"history"' '"mark":"f-1"'
pub feed "$PUBLISHER" market/FIRST '{"type":"price_update","mark":"f-2"}'
wait_until 10 has first '"mark":"f-2"'
check "the retained value reached the first subscriber once, not also as a message" \
	eval '[ "$(grep -c "\"mark\":\"f-1\"" "$T_DIR/first.out")" = 1 ]'
check "the history of market/<ticker> names the ticker (seed 003)" \
	has first '"type":"history"' '"ticker":"FIRST"'

# ---- a calculation id used again -------------------------------------------------------------------
pub worker "$CALC" 'calc/alice~again/progress' \
	'{"type":"calculation_update","calculation_id":"again","status":"completed","progress":100,"mark":"old"}' -r
wsc again "$WS/ws?token=$ALICE" \
	--send '{"type":"calculate","calculation_id":"again","calculation_type":"npv","parameters":{}}' \
	--timeout 30
wait_until 10 has again '"type":"calculation_accepted"'
wait_until 10 grep -qF 'calc/alice~again/request' "$T_DIR/worker.out"
pub worker "$CALC" 'calc/alice~again/progress' \
	'{"type":"calculation_update","calculation_id":"again","status":"started","progress":0,"mark":"new"}'
check "a calculation id used again never answers with the previous calculation's state" \
	eval 'wait_until 10 has again "\"mark\":\"new\"" && lacks again "\"mark\":\"old\""'

# ---- an empty retained message clears the topic's value ---------------------------------------------
pub feed "$PUBLISHER" market/CLR '{"type":"price_update","mark":"clr-1"}' -r
wsc clr1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/CLR"}' --timeout 30
wait_until 10 has clr1 '"mark":"clr-1"'
pub feed "$PUBLISHER" market/CLR '' -r
pub feed "$PUBLISHER" market/CLR2 '{"type":"price_update","mark":"clr-sentinel"}' -r
wsc clr2 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/CLR"}' \
	--send '{"type":"subscribe","topic":"market/CLR2"}' --timeout 30
check "after an empty retained message a new subscriber gets no old value" \
	eval 'wait_until 10 has clr2 "\"mark\":\"clr-sentinel\"" && lacks clr2 "\"mark\":\"clr-1\""'
check "and the subscribers get no empty message" lacks clr1 '"payload":""'

# ---- the broadcast API ---------------------------------------------------------------------------------
wsc bc "$WS/ws?token=$ALICE" --send '{"type":"subscribe","channel":"notifications"}' \
	--send '{"type":"subscribe","topic":"market/updates"}' \
	--send '{"type":"subscribe","topic":"market/alerts/+"}' --timeout 40
wait_until 10 eval '[ "$(grep -c "\"action\":\"subscribed\"" "$T_DIR/bc.out")" = 3 ]'
pub feed "$PUBLISHER" market/indicators '{"type":"market_update","tech_index":102.5}' -r
# post NAME PATH BODY [TOKEN]: POST BODY to PATH; status in NAME.code, body in NAME.body
post() {
	curl -s --max-time 10 -o "$T_DIR/$1.body" -w '%{http_code}' -H "Authorization: Bearer ${4:-$SERVICE}" \
		-H 'Content-Type: application/json' -d "$3" "$HTTP$2" >"$T_DIR/$1.code"
}
post bn /ws/broadcast/notification \
	'{"user_id":"alice","title":"B1","type":"security","n":1796161075629123436}'
check "seed 002's POST /ws/broadcast/notification is served" grep -qx 200 "$T_DIR/bn.code"
check "the body's own type becomes notification_type, never the message type" \
	wait_until 10 has bc '"title":"B1"' '"notification_type":"security"' '"type":"notification"' \
	'"n":1796161075629123436'
post bw /api/broadcast/notification '{"user_id":"alice","data":{"title":"W1","type":"security"}}'
check "a body that only wraps its data ({user_id, data}) publishes the data" \
	wait_until 10 has bc '{"title":"W1","notification_type":"security","type":"notification","topic":'
post bt /api/broadcast/notification \
	'{"user_id":"alice","type":"notification","notification_type":"info","title":"B2"}'
check "a body's own notification_type stays (its type is then just dropped)" \
	wait_until 10 has bc '{"user_id":"alice","notification_type":"info","title":"B2","type":"notification","topic"'
post bm /ws/broadcast/market '{"type":"stock","symbol":"MTN","price":10.25}'
check "a market broadcast goes to market/updates as market_update" \
	wait_until 10 has bc '"topic":"market/updates"' '"type":"market_update"' '"price":10.25'
wsc ind "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/indicators"}' --timeout 20
check "and the simulator's retained indicators stay as they were" \
	wait_until 10 has ind '"type":"history"' '"tech_index":102.5'
post ba /api/ws/broadcast/alert '{"ticker":"AAPL","alert_type":"breakout","current_price":150.25}'
check "seed 003's alert without a user goes to market/alerts/<ticker>" \
	wait_until 10 has bc '"topic":"market/alerts/AAPL"' '"type":"alert_trigger"' '"current_price":150.25'
post bk /api/broadcast/nosuch '{}'
check "an unknown broadcast kind is a 404" grep -qx 404 "$T_DIR/bk.code"
post bu /api/broadcast/notification '{"title":"no user"}'
check "a body without the topic's parameter is a 400 naming it" \
	eval 'grep -qx 400 "$T_DIR/bu.code" && grep -q user_id "$T_DIR/bu.body"'
post br /api/broadcast/notification '{"user_id":"alice","title":"x"}' "$ALICE"
check "a broadcast needs a service role (403)" grep -qx 403 "$T_DIR/br.code"

# ---- errors carry message and error ------------------------------------------------------------------
wsc err "$WS/ws?token=$ALICE" --send '{"type":"frobnicate"}' --count 2 --timeout 10
check "an error carries both message and error (seed 004 reads data.error)" \
	wait_until 10 has err '"type":"error"' '"message":"unknown message type' '"error":"unknown message type'

# ---- seed 003: statistics and a watchlist at once -------------------------------------------------------
WATCH=()
for i in $(seq 1 50); do WATCH+=(--send "{\"type\":\"subscribe\",\"channel\":\"ticker\",\"ticker\":\"W$i\"}"); done
wsc watch "$WS/api/ws?token=$ALICE" "${WATCH[@]}" --send '{"type":"subscribe","channel":"patterns"}' \
	--timeout 40
check "50 subscribes sent at once are all confirmed" \
	wait_until 15 eval '[ "$(grep -c "\"action\":\"subscribed\"" "$T_DIR/watch.out")" = 51 ]'
check "with the ticker named in each confirmation, and no error" \
	eval 'has watch "\"ticker\":\"W50\"" && lacks watch "\"type\":\"error\""'
check "GET /api/ws/stats has seed 003's fields" \
	wait_until 10 eval 'curl -s "$HTTP/api/ws/stats" | "$PY" -c "
import json, sys
s = json.load(sys.stdin)
assert s[\"pattern_subscribers\"] >= 1 and s[\"ticker_subscriptions\"][\"W7\"] == 1, s
for k in (\"active_connections\", \"alert_subscribers\", \"market_status_subscribers\",
          \"total_connections\", \"messages_sent\", \"messages_received\", \"errors\", \"uptime\"):
    assert k in s, k
"'

# ---- the token cookie and CORS -------------------------------------------------------------------------
curl -s -D "$T_DIR/sess.hdr" -o "$T_DIR/sess.body" -X POST -H "Authorization: Bearer $ALICE" \
	"$HTTP/api/session"
check "POST /api/session sets the token as an HttpOnly, SameSite cookie" \
	eval 'grep -qi "^set-cookie: rtg_token=$ALICE; Path=/; HttpOnly; SameSite=Strict; Max-Age=" "$T_DIR/sess.hdr"'
code=$(curl -s -o "$T_DIR/cookie.out" -w '%{http_code}' --max-time 2 --cookie "rtg_token=$ALICE" \
	"$HTTP/sse/notifications")
check "which an SSE request then authenticates with" grep -q '"user_id":"alice"' "$T_DIR/cookie.out"
curl -s -D "$T_DIR/del.hdr" -o /dev/null -X DELETE "$HTTP/api/session"
check "DELETE /api/session clears it" grep -qi '^set-cookie: rtg_token=;.*Max-Age=0' "$T_DIR/del.hdr"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$HTTP/api/session")
check "POST /api/session without a token is a 401" test "$code" = 401
curl -s -D "$T_DIR/js.hdr" -o /dev/null -H "Origin: http://app.example" "$HTTP/rtg-client.js"
check "the JS client file carries CORS for an allowed origin" \
	grep -qi '^access-control-allow-origin: http://app.example' "$T_DIR/js.hdr"
curl -s -N -D "$T_DIR/ssecors.hdr" -o /dev/null --max-time 2 -H "Origin: http://app.example" \
	"$HTTP/sse/market-updates"
check "an SSE stream allows an allowed origin with credentials (EventSource withCredentials)" \
	eval 'grep -qi "^access-control-allow-origin: http://app.example" "$T_DIR/ssecors.hdr" &&
		grep -qi "^access-control-allow-credentials: true" "$T_DIR/ssecors.hdr"'
code=$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/ws")
check "a WebSocket path asked for without an upgrade answers 426" test "$code" = 426

check "seed 004's endpoints take the token with the request only: 4001 at once without one" \
	wait_until 5 has need '"code": 4001' 'authentication required'

# ---- reloading the profiles ------------------------------------------------------------------------------
printf '\nendpoint /ws/extra\n\ttransport websocket\n\tgreeting hello_extra\n' >>"$T_DIR/profiles.conf"
kill -HUP "$ADAPTER_PID"
wait_until 10 file_has "$T_DIR/adapter.log" "reloaded keys"
wsc extra "$WS/ws/extra?token=$ALICE" --count 1 --timeout 10
check "SIGHUP reloads the profiles: a new path is served" wait_until 10 has extra '"type":"hello_extra"'
echo "endpont /broken" >>"$T_DIR/profiles.conf"
kill -HUP "$ADAPTER_PID"
check "a broken profile file is refused with its line" \
	wait_until 10 file_has "$T_DIR/adapter.log" "profiles.conf:$(wc -l <"$T_DIR/profiles.conf"): unknown directive 'endpont'"
wsc extra2 "$WS/ws/extra?token=$ALICE" --count 1 --timeout 10
check "and the profiles in force stay" wait_until 10 has extra2 '"type":"hello_extra"'
"$RTG_BUILD/rtg-adapter" --http-port 0 --mqtt-port "$BROKER_PORT" --mqtt-token-file "$T_DIR/adapter.token" \
	--jwt-secret-file "$RTG_SECRET_FILE" --acl-file "$RTG_ROOT/acl/acl.conf" \
	--profiles-file "$T_DIR/profiles.conf" >"$T_DIR/broken-start.log" 2>&1
status=$?
check "the adapter does not start with a broken profile file, and says where" \
	eval '[ $status -ne 0 ] && grep -q "unknown directive" "$T_DIR/broken-start.log"'

finish
