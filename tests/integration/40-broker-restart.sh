#!/bin/bash
# 40-broker-restart: the real mosquitto stops and comes back on the same port.
#
# With persistence on, retained values survive. Through the outage the
# adapter keeps its WebSocket and SSE clients connected and answers /health
# with 503, then 200 once it has reconnected; it subscribes again to every
# filter its clients need, so messages published after the restart reach the
# same clients. The market and notification simulators and the calc worker
# reconnect with backoff and publish (and answer) again.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter

ALICE=$(token alice)
FEED=$(token feed publisher)
token feed publisher >"$T_DIR/publisher.token"
token notify notifier >"$T_DIR/notifier.token"
token worker calc >"$T_DIR/calc.token"

pub feed "$FEED" market/T40 '{"type":"price_update","ticker":"T40","price":40.5}' -r

SIM=(--mqtt-port "$BROKER_PORT")
spawn "$T_DIR/market.log" "$RTG_BUILD/rtg-market-sim" "${SIM[@]}" \
	--token-file "$T_DIR/publisher.token" --tickers T40S --rate 10
MARKET_PID=$SPAWNED
spawn "$T_DIR/notify.log" "$RTG_BUILD/rtg-notify-sim" "${SIM[@]}" \
	--token-file "$T_DIR/notifier.token" --users alice --interval 0.2
NOTIFY_PID=$SPAWNED
spawn "$T_DIR/calcw.log" "$RTG_BUILD/rtg-calc-worker" "${SIM[@]}" \
	--token-file "$T_DIR/calc.token" --client-id calcw --step-delay-ms 0
CALC_PID=$SPAWNED

rsub ws -q --token "$ALICE" '{"type":"subscribe","topic":"market/+"}' \
	'{"type":"subscribe","channel":"notifications"}' '{"type":"subscribe","channel":"calculations"}'
WS_PID=$RSUB_PID
rsub sse -q --sse --token "$ALICE" --path '/sse?topic=market/T40S'
SSE_PID=$RSUB_PID

health() { curl -s -o /dev/null -w '%{http_code}' "$HTTP/health"; }
is_health() { [ "$(health)" = "$1" ]; }
calc() { calc_roi "$1"; }

check "before: the adapter is healthy" is_health 200
check "before: prices flow to the WebSocket client" \
	wait_until 20 has ws '"topic":"market/T40S"' price_update
check "before: notifications flow" wait_until 20 has ws '"topic":"user/alice/notifications"'
check "before: the SSE client gets prices" wait_until 20 has sse '"topic":"market/T40S"'
check "before: the calc worker subscribed" wait_until 20 file_has "$T_DIR/calcw.log" "subscribed"
calc before1
check "before: a calculation completes" wait_until 20 has ws before1 completed

stop "$BROKER_PID"
WS_MARK=$(lines ws)
SSE_MARK=$(lines sse)
check "while the broker is down /health answers 503" wait_until 10 is_health 503
check "... and says so" eval 'curl -s "$HTTP/health" | grep -q disconnected'
check "the simulators notice" wait_until 10 eval \
	'file_has "$T_DIR/market.log" "connection lost" && file_has "$T_DIR/notify.log" "connection lost"'
start_broker
check "after the restart /health answers 200 again" wait_until 30 is_health 200
check "the WebSocket client stayed connected" eval 'alive $WS_PID && lacks ws _closed'
check "the SSE client stayed connected" eval 'alive $SSE_PID && lacks sse _closed'
check "the adapter subscribed again to every filter" wait_until 10 eval \
	'[ "$(grep -c "market/+ (QoS" "$T_DIR/broker.log")" -ge 1 ] &&
	 grep -q "user/alice/notifications (QoS" "$T_DIR/broker.log" &&
	 grep -q "market/T40S (QoS" "$T_DIR/broker.log"'

check "the market simulator publishes again, to the same WebSocket client" \
	wait_until 30 after ws "$WS_MARK" '"topic":"market/T40S"' price_update
check "and to the same SSE client" wait_until 30 after sse "$SSE_MARK" '"topic":"market/T40S"'
check "the notification simulator publishes again" \
	wait_until 30 after ws "$WS_MARK" '"topic":"user/alice/notifications"'
pub feed "$FEED" market/T40 '{"type":"price_update","ticker":"T40","price":41.5}'
check "a message published after the restart reaches the client" \
	wait_until 10 after ws "$WS_MARK" '"price":41.5'
check "the calc worker resubscribed" wait_until 20 eval \
	'[ "$(grep -c "subscribed" "$T_DIR/calcw.log")" -ge 2 ]'
calc after1
check "and answers a calculation started after the restart" \
	wait_until 20 after ws "$WS_MARK" after1 completed
check "the simulators are the same processes" eval \
	'alive $MARKET_PID && alive $NOTIFY_PID && alive $CALC_PID'

# The broker's retained values survived; a new client gets them from the adapter.
check "the retained value survived the restart (broker)" eval \
	'timeout 10 mosquitto_sub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u alice -P "$ALICE" \
		-t market/T40 -C 1 -W 5 | grep -q "\"price\":40.5"'
stop "$BROKER_PID"
start_broker
rsub late -q --token "$ALICE" -C 2 '{"type":"subscribe","topic":"market/T40"}'
check "after a second restart a new client gets the retained value in its history" \
	wait_until 20 has late '"type":"history"' '"price":40.5'

finish
