#!/bin/bash
# 62-broker-failover: two brokers bridged both ways, and broker A SIGKILLed.
#
# Brokers A and B run examples/mosquitto-bridge-{a,b}.conf (as 60-bridge.sh).
# The adapter (mqtt_brokers A,B; mqtt_failback 2), a market simulator and a
# calc worker (--mqtt-broker A,B --mqtt-failback 2) start on A, the first.
# When A is killed: the browsers (a WebSocket and an SSE rtg-sub) stay
# connected, the adapter moves to B at once and subscribes there again, what is
# published on B reaches them, a calculation asked after the switch completes
# on the worker (now on B), and a client resuming with "since" learns
# "recovered": false with the latest value (B's retained copy of it), as after
# a broker restart (40-broker-restart.sh). When A is back, all three return to
# it. failover_probe.py measures kill -> first message published on B after
# the kill delivered to a browser (RTG_FAILOVER_RUNS runs, default 1). Bad
# broker lists stop each program with a clear message.
. "$(dirname "$0")/lib.sh"

ACL=$RTG_ROOT/acl/acl.conf
PA=$(free_port)
PB=$(free_port)
A=127.0.0.1:$PA
B=127.0.0.1:$PB
ALICE=$(token alice)
PUBLISHER=$(token feed publisher)
token feed publisher >"$T_DIR/publisher.token"
token worker calc >"$T_DIR/calc.token"
token adapter1 gateway 86400 >"$T_DIR/adapter.token"

# ---- bad broker lists ------------------------------------------------------------------------
# refused NAME STATUS TEXT CMD...: CMD exits with STATUS and says TEXT on stderr.
refused() {
	local name=$1 status=$2 text=$3 rc
	shift 3
	"$@" >"$T_DIR/$name.out" 2>&1
	rc=$?
	[ "$rc" = "$status" ] && file_has "$T_DIR/$name.out" "$text"
}
ADAPTER=("$RTG_BUILD/rtg-adapter" --mqtt-token-file "$T_DIR/adapter.token"
	--jwt-secret-file "$RTG_SECRET_FILE" --acl-file "$ACL")
check "the adapter refuses a broker list with an empty item" refused bad1 1 \
	"rtg-adapter: --mqtt-brokers: an empty item in the list" \
	"${ADAPTER[@]}" --mqtt-brokers "$A,,$B"
check "... and mqtt_brokers with mqtt_host" refused bad2 1 \
	"mqtt_brokers and mqtt_host/mqtt_port are both set" \
	"${ADAPTER[@]}" --mqtt-brokers "$A,$B" --mqtt-host 127.0.0.1
printf 'mqtt_brokers %s, 127.0.0.1:http\n' "$A" >"$T_DIR/bad.conf"
check "... and a bad port in its file, with file and line" refused bad3 1 \
	"$T_DIR/bad.conf:1: mqtt_brokers: '127.0.0.1:http': the port is not a number in 1-65535" \
	"${ADAPTER[@]}" -c "$T_DIR/bad.conf"
check "a simulator refuses a bad --mqtt-broker (status 2)" refused bad4 2 \
	"rtg-market-sim: --mqtt-broker: '127.0.0.1:0': the port is not a number in 1-65535" \
	"$RTG_BUILD/rtg-market-sim" --token-file "$T_DIR/publisher.token" --mqtt-broker 127.0.0.1:0
check "... and --mqtt-broker with --mqtt-port" refused bad5 2 \
	"--mqtt-broker and --mqtt-host/--mqtt-port are both given" \
	"$RTG_BUILD/rtg-market-sim" --token-file "$T_DIR/publisher.token" --mqtt-broker "$A" \
	--mqtt-port "$PB"
check "the calc worker refuses a broker listed twice" refused bad6 1 \
	"rtg-calc-worker: --mqtt-broker: a broker is listed twice" \
	"$RTG_BUILD/rtg-calc-worker" --token-file "$T_DIR/calc.token" --mqtt-broker "$A" \
	--mqtt-broker "$A"

# ---- two brokers, bridged both ways ----------------------------------------------------------
bridge_example_conf a mosquitto-bridge-a.conf "$PA" "" "$PA" "$ACL"
bridge_example_conf b mosquitto-bridge-b.conf "$PB" "$(token bridge-b bridge 3600)" "$PA" "$ACL"
start_named a "$PA" || { not_ok "broker A starts"; finish; }
A_PID=$SPAWNED
start_named b "$PB" || { not_ok "broker B starts"; finish; }
check "B's bridge signs in at A" wait_until 20 file_has "$T_DIR/a.log" "as bridge-b (p"

ADAPTER_BROKERS="$A,$B" start_adapter --mqtt-failback 2
BROKERS=(--mqtt-broker "$A,$B" --mqtt-failback 2)
spawn "$T_DIR/market.log" "$RTG_BUILD/rtg-market-sim" "${BROKERS[@]}" \
	--token-file "$T_DIR/publisher.token" --client-id sim62 --tickers T62S --rate 10
MARKET_PID=$SPAWNED
spawn "$T_DIR/calcw.log" "$RTG_BUILD/rtg-calc-worker" "${BROKERS[@]}" \
	--token-file "$T_DIR/calc.token" --client-id calcw62 --step-delay-ms 0
CALC_PID=$SPAWNED

# on_broker LOG CLIENT: broker LOG has CLIENT signed in.
on_broker() {
	grep -q "New client connected from .* as $2 " "$T_DIR/$1.log"
}
check "the adapter starts on A, the first broker" \
	file_has "$T_DIR/adapter.log" "bridge: connected to $A"
check "the worker starts on A" wait_until 20 eval \
	'on_broker a calcw62 && ! on_broker b calcw62 && file_has "$T_DIR/calcw.log" subscribed'
check "the simulator starts on A" wait_until 20 eval \
	'on_broker a sim62 && ! on_broker b sim62'

at_a() { BROKER_PORT=$PA pub "$@"; }
at_b() { BROKER_PORT=$PB pub "$@"; }
at_a feed "$PUBLISHER" market/T62 '{"type":"price_update","ticker":"T62","mark":"before"}' -r
rsub ws -q --token "$ALICE" '{"type":"subscribe","topic":"market/+"}' \
	'{"type":"subscribe","channel":"calculations"}'
WS_PID=$RSUB_PID
rsub sse -q --sse --token "$ALICE" --path '/sse?topic=market/T62S'
SSE_PID=$RSUB_PID

health() { curl -s -o /dev/null -w '%{http_code}' "$HTTP/health"; }
calc() { calc_roi "$1"; }

check "before: prices flow to the WebSocket client" \
	wait_until 20 has ws '"topic":"market/T62S"' price_update
check "before: and to the SSE client" wait_until 20 has sse '"topic":"market/T62S"'
check "before: the retained value is in the history" wait_until 10 has ws '"mark":"before"'
calc before1
check "before: a calculation completes" wait_until 20 has ws before1 completed
EPOCH=$(pyq ws 'hist(L, "market/T62")["epoch"]')
SEQ=$(pyq ws 'hist(L, "market/T62")["last_seq"]')

# ---- broker A killed ----------------------------------------------------------------------------
# probe KILL: failover_probe.py against the adapter, publishing on B; its recovery time
# in RECOVERY (ms), its exit status in PROBE_RC.
probe() {
	"$PY" "$RTG_ROOT/tests/integration/failover_probe.py" --ws "$WS/ws?token=$ALICE" \
		--topic market/PROBE --mqtt-host 127.0.0.1 --mqtt-port "$PB" --user feed \
		--token "$PUBLISHER" --kill "$1" --timeout 60 >"$T_DIR/probe.out" 2>"$T_DIR/probe.log"
	PROBE_RC=$?
	RECOVERY=$(awk '/^recovery_ms/ {print $2}' "$T_DIR/probe.out")
}
WS_MARK=$(lines ws)
SSE_MARK=$(lines sse)
probe "kill -KILL $A_PID"
wait "$A_PID" 2>/dev/null
TIMES=("$RECOVERY")
check "a browser gets the first message published on B after the kill (${RECOVERY:-no} ms)" \
	eval '[ "$PROBE_RC" = 0 ] && [ -n "$RECOVERY" ]'
check "the adapter moved to B, one line naming both" \
	wait_until 20 file_has "$T_DIR/adapter.log" "bridge: connected to $B, switched from $A"
check "/health answers 200" eval '[ "$(health)" = 200 ]'
check "the WebSocket client stayed connected" eval 'alive $WS_PID && lacks ws _closed'
check "the SSE client stayed connected" eval 'alive $SSE_PID && lacks sse _closed'
check "the adapter subscribed again on B" wait_until 10 eval \
	'grep -qF "	market/+ (QoS" "$T_DIR/b.log" && grep -qF "	market/T62S (QoS" "$T_DIR/b.log"'
at_b feed "$PUBLISHER" market/T62 '{"type":"price_update","ticker":"T62","mark":"after-b"}' -r
check "a price published on B reaches the same WebSocket client" \
	wait_until 10 after ws "$WS_MARK" '"mark":"after-b"'
check "the simulator moved to B" wait_until 20 file_has "$T_DIR/market.log" \
	"connected to $B, switched from $A"
check "its prices reach the same WebSocket and SSE clients" wait_until 20 eval \
	'after ws "$WS_MARK" "\"topic\":\"market/T62S\"" && after sse "$SSE_MARK" "\"topic\":\"market/T62S\""'
check "the worker moved to B" wait_until 20 eval \
	'file_has "$T_DIR/calcw.log" "connected to $B, switched from $A" && on_broker b calcw62'
wait_until 20 eval '[ "$(grep -c subscribed "$T_DIR/calcw.log")" -ge 2 ]'
calc after1
check "a calculation asked after the switch completes" \
	wait_until 20 after ws "$WS_MARK" after1 completed
wsc resume "$WS/ws?token=$ALICE" --timeout 30 --send \
	"{\"type\":\"subscribe\",\"topic\":\"market/T62\",\"since\":{\"epoch\":\"$EPOCH\",\"seq\":$SEQ}}"
expect "a client resuming with since learns recovered: false (another broker, another epoch)" \
	wait_until 10 is resume 'sub(L, "market/T62").get("recovered")' False
expect "with the latest value in its history" \
	is resume '[m.get("mark") for m in hist(L, "market/T62").get("messages", [])][-1:]' "['after-b']"
check "the simulator and the worker are the same processes" eval 'alive $MARKET_PID && alive $CALC_PID'

# ---- broker A back: failback ------------------------------------------------------------------------
start_named a "$PA" || not_ok "broker A starts again"
A_PID=$SPAWNED
WS_MARK=$(lines ws)
check "the adapter returns to A (mqtt_failback 2)" wait_until 30 \
	file_has "$T_DIR/adapter.log" "bridge: connected to $A, switched from $B"
check "so do the simulator and the worker" wait_until 30 eval \
	'file_has "$T_DIR/market.log" "connected to $A, switched from $B" &&
	 file_has "$T_DIR/calcw.log" "connected to $A, switched from $B"'
at_a feed "$PUBLISHER" market/T62 '{"type":"price_update","ticker":"T62","mark":"back-a"}'
check "a price published on A reaches the same WebSocket client" \
	wait_until 10 after ws "$WS_MARK" '"mark":"back-a"'
wait_until 20 eval '[ "$(grep -c subscribed "$T_DIR/calcw.log")" -ge 3 ]'
calc back1
check "a calculation completes on A" wait_until 20 after ws "$WS_MARK" back1 completed
check "the browsers never lost their connection" \
	eval 'alive $WS_PID && alive $SSE_PID && lacks ws _closed && lacks sse _closed'

# ---- more runs of the measure (RTG_FAILOVER_RUNS) -------------------------------------------------
for run in $(seq 2 "${RTG_FAILOVER_RUNS:-1}"); do
	probe "kill -KILL $A_PID"
	wait "$A_PID" 2>/dev/null
	[ "$PROBE_RC" = 0 ] || { not_ok "run $run: the probe measures" "$(cat "$T_DIR/probe.log")"; break; }
	TIMES+=("$RECOVERY")
	n=$(grep -c "switched from $B" "$T_DIR/adapter.log")
	start_named a "$PA" || break
	A_PID=$SPAWNED
	wait_until 30 eval '[ "$(grep -c "switched from $B" "$T_DIR/adapter.log")" -gt "$n" ]' || break
done
echo "# broker A killed (kill -9), recovery in ms (kill -> first message published on B after it, at a browser): ${TIMES[*]}"

finish
