#!/bin/bash
# 02-broker-failover: the host of the active broker removed, not just its process.
#
#   host A (10.77.1.1, 10.77.2.1): broker A
#   host B (10.77.1.2, 10.77.3.1): broker B, bridged to A
#   host C (10.77.2.2, 10.77.3.2): the adapter (mqtt_brokers A,B; mqtt_failback 2),
#                                  a market simulator and a calc worker (both brokers),
#                                  the browsers
#
# Host A is removed: its links deleted first (no FIN or RST ever reaches C), then
# broker A killed and the namespace deleted. The adapter, the simulator and the
# worker notice by the keepalive (5 s) and move to B; the browsers stay
# connected, get what is published on B, resume with since (recovered: false,
# the latest value) and a calculation completes. A new host A comes up with the
# same addresses and everyone returns to it. failover_probe.py measures host
# removed -> first message published on B after it at a browser
# (RTG_FAILOVER_RUNS runs, default 1). Without root or ip: one "ok - # SKIP".
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/netns.sh"

three_hosts rtg$$fa rtg$$fb rtg$$fc

ACL=$RTG_ROOT/acl/acl.conf
ALICE=$(token alice)
PUBLISHER=$(token feed publisher)
host_bridge_conf a mosquitto-bridge-a.conf "" "$A_B" "$ACL"
host_bridge_conf b mosquitto-bridge-b.conf "$(token bridge-b bridge 3600)" "$A_B" "$ACL"
# The bridge too should notice a vanished A soon and come back soon: 5 s keepalive, 1-2 s retry.
sed -i -e 's/^keepalive_interval .*/keepalive_interval 5/' -e 's/^restart_timeout .*/restart_timeout 1 2/' \
	"$T_DIR/b.conf"

# start_a: broker A on host A. Sets A_PID.
start_a() {
	fresh_log "$T_DIR/a.log"
	spawn "$T_DIR/a.log" ip netns exec "$NA" env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/a.conf"
	A_PID=$SPAWNED
	wait_until 20 port_open_on "$NA" 127.0.0.1 1883
}
check "broker A runs on host A" start_a
spawn "$T_DIR/b.log" ip netns exec "$NB" env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/b.conf"
check "broker B runs on host B" wait_until 20 port_open_on "$NB" 127.0.0.1 1883
check "B's bridge signs in at A" wait_until 20 file_has "$T_DIR/a.log" "as bridge-b (p"
[ "$T_FAILED" = 0 ] || finish

# ---- on host C: the adapter, a simulator, a worker, the browsers ----------------------------------
token adapter1 gateway 86400 >"$T_DIR/adapter.token"
token feed publisher >"$T_DIR/publisher.token"
token worker calc >"$T_DIR/calc.token"
spawn "$T_DIR/adapter.log" ip netns exec "$NC" "$RTG_BUILD/rtg-adapter" --http-port 8000 \
	--mqtt-brokers "$A_C:1883,$B_C:1883" --mqtt-failback 2 \
	--mqtt-token-file "$T_DIR/adapter.token" --jwt-secret-file "$RTG_SECRET_FILE" \
	--acl-file "$ACL" --static-dir "$RTG_ROOT/static" \
	--profiles-file "$RTG_ROOT/profiles/gateway.conf"
healthy() {
	on "$NC" curl -s -m 2 http://127.0.0.1:8000/health | grep -q '"broker":"connected"'
}
check "the adapter on host C is connected, to A" wait_until 20 eval \
	'healthy && file_has "$T_DIR/adapter.log" "bridge: connected to $A_C:1883"'
BROKERS=(--mqtt-broker "$A_C:1883,$B_C:1883" --mqtt-failback 2)
spawn "$T_DIR/market.log" ip netns exec "$NC" "$RTG_BUILD/rtg-market-sim" "${BROKERS[@]}" \
	--token-file "$T_DIR/publisher.token" --client-id simf --tickers TF --rate 10
spawn "$T_DIR/calcw.log" ip netns exec "$NC" "$RTG_BUILD/rtg-calc-worker" "${BROKERS[@]}" \
	--token-file "$T_DIR/calc.token" --client-id calcwf --step-delay-ms 0
check "the simulator and the worker are on A" wait_until 20 eval \
	'grep -q " as simf " "$T_DIR/a.log" && grep -q " as calcwf " "$T_DIR/a.log" &&
	 file_has "$T_DIR/calcw.log" subscribed'

mqtt_on() {
	local ns=$1 topic=$2 msg=$3
	shift 3
	on "$ns" mosquitto_pub -h 127.0.0.1 -p 1883 -V mqttv311 -u feed -P "$PUBLISHER" -q 1 \
		-t "$topic" -m "$msg" "$@" 2>>"$T_DIR/clients.log"
}
# browser NAME ARGS...: rtg-sub on host C against the adapter, output in NAME.out. Sets SPAWNED.
browser() {
	local name=$1
	shift
	: >"$T_DIR/$name.out"
	ip netns exec "$NC" "$RTG_BUILD/rtg-sub" -h 127.0.0.1 -p 8000 "$@" >"$T_DIR/$name.out" \
		2>"$T_DIR/$name.err" &
	SPAWNED=$!
	T_PIDS+=("$SPAWNED")
}
mqtt_on "$NA" market/TV '{"type":"price_update","ticker":"TV","mark":"before"}' -r
browser ws -q --token "$ALICE" '{"type":"subscribe","topic":"market/+"}' \
	'{"type":"subscribe","channel":"calculations"}'
WS_PID=$SPAWNED
browser sse -q --sse --token "$ALICE" --path '/sse?topic=market/TF'
SSE_PID=$SPAWNED
calc() { calc_roi "$1" http://127.0.0.1:8000 ip netns exec "$NC"; }
check "before: prices reach the WebSocket and SSE browsers" wait_until 20 eval \
	'has ws "\"topic\":\"market/TF\"" && has sse "\"topic\":\"market/TF\"" && has ws "\"mark\":\"before\""'
calc f1
check "before: a calculation completes" wait_until 20 has ws f1 completed
EPOCH=$(pyq ws 'hist(L, "market/TV")["epoch"]')
SEQ=$(pyq ws 'hist(L, "market/TV")["last_seq"]')

# ---- host A removed ------------------------------------------------------------------------------
# probe: failover_probe.py on host C, publishing on B; removing host A is its kill
# command. Sets RECOVERY (ms) and PROBE_RC.
probe() {
	on "$NC" "$PY" "$RTG_ROOT/tests/integration/failover_probe.py" \
		--ws "ws://127.0.0.1:8000/ws?token=$ALICE" --topic market/PROBE --mqtt-host "$B_C" \
		--mqtt-port 1883 --user feed --token "$PUBLISHER" --timeout 90 --kill-delay-ms 5000 \
		--kill "ip -n $NA link del ac; ip -n $NA link del ab; kill -KILL $A_PID; ip netns del $NA" \
		>"$T_DIR/probe.out" 2>"$T_DIR/probe.log"
	PROBE_RC=$?
	RECOVERY=$(awk '/^recovery_ms/ {print $2}' "$T_DIR/probe.out")
	wait "$A_PID" 2>/dev/null
}
# host_a_back: a new host A, same addresses and links, broker A on it again.
host_a_back() {
	make_host "$NA" && link "$NA" ab $A_B "$NB" ba $B_A && link "$NA" ac $A_C "$NC" ca $C_A &&
		start_a
}
WS_MARK=$(lines ws)
SSE_MARK=$(lines sse)
probe
TIMES=("$RECOVERY")
check "a browser gets the first message published on B after host A vanished (${RECOVERY:-no} ms)" \
	eval '[ "$PROBE_RC" = 0 ] && [ -n "$RECOVERY" ]'
check "host A is gone" eval '! ip netns list | grep -qw "$NA"'
check "the adapter noticed by the keepalive and moved to B" wait_until 30 eval \
	'file_has "$T_DIR/adapter.log" "bridge: lost $A_C:1883: no answer within the keepalive" &&
	 file_has "$T_DIR/adapter.log" "bridge: connected to $B_C:1883, switched from $A_C:1883"'
check "the browsers stayed connected" \
	eval 'alive $WS_PID && alive $SSE_PID && lacks ws _closed && lacks sse _closed'
mqtt_on "$NB" market/TV '{"type":"price_update","ticker":"TV","mark":"after-b"}' -r
check "a price published on B reaches the same WebSocket browser" \
	wait_until 15 after ws "$WS_MARK" '"mark":"after-b"'
check "the simulator and the worker moved to B" wait_until 30 eval \
	'file_has "$T_DIR/market.log" "connected to $B_C:1883, switched from $A_C:1883" &&
	 file_has "$T_DIR/calcw.log" "connected to $B_C:1883, switched from $A_C:1883"'
check "the simulator's prices reach both browsers again" wait_until 20 eval \
	'after ws "$WS_MARK" "\"topic\":\"market/TF\"" && after sse "$SSE_MARK" "\"topic\":\"market/TF\""'
wait_until 20 eval '[ "$(grep -c subscribed "$T_DIR/calcw.log")" -ge 2 ]'
calc f2
check "a calculation asked after the switch completes" wait_until 20 after ws "$WS_MARK" f2 completed
: >"$T_DIR/resume.out"
on "$NC" "$PY" "$RTG_ROOT/tests/integration/ws_client.py" "ws://127.0.0.1:8000/ws?token=$ALICE" \
	--timeout 30 --send "{\"type\":\"subscribe\",\"topic\":\"market/TV\",\"since\":{\"epoch\":\"$EPOCH\",\"seq\":$SEQ}}" \
	>"$T_DIR/resume.out" 2>"$T_DIR/resume.err" &
T_PIDS+=($!)
expect "a browser resuming with since learns recovered: false, with the latest value" wait_until 10 \
	is resume '(sub(L, "market/TV").get("recovered"), [m.get("mark") for m in hist(L, "market/TV").get("messages", [])][-1:])' \
	"(False, ['after-b'])"

# ---- host A back ------------------------------------------------------------------------------------
WS_MARK=$(lines ws)
check "a new host A comes up with broker A" host_a_back
check "the adapter, the simulator and the worker return to A (failback 2 s)" wait_until 30 eval \
	'file_has "$T_DIR/adapter.log" "bridge: connected to $A_C:1883, switched from $B_C:1883" &&
	 file_has "$T_DIR/market.log" "connected to $A_C:1883, switched from $B_C:1883" &&
	 file_has "$T_DIR/calcw.log" "connected to $A_C:1883, switched from $B_C:1883"'
mqtt_on "$NA" market/TV '{"type":"price_update","ticker":"TV","mark":"back-a"}'
check "a price published on A reaches the same browser" wait_until 15 after ws "$WS_MARK" '"mark":"back-a"'
check "the browsers never lost their connection" \
	eval 'alive $WS_PID && alive $SSE_PID && lacks ws _closed && lacks sse _closed'

# ---- more runs of the measure (RTG_FAILOVER_RUNS) -----------------------------------------------------
for run in $(seq 2 "${RTG_FAILOVER_RUNS:-1}"); do
	# the probe's messages reach the adapter on A through B's bridge
	wait_until 30 eval '[ "$(grep -c "as bridge-b (p" "$T_DIR/a.log")" -ge 1 ]' || break
	n=$(grep -c "switched from $B_C" "$T_DIR/adapter.log")
	probe
	[ "$PROBE_RC" = 0 ] || { not_ok "run $run: the probe measures" "$(cat "$T_DIR/probe.log")"; break; }
	TIMES+=("$RECOVERY")
	host_a_back || break
	wait_until 30 eval '[ "$(grep -c "switched from $B_C" "$T_DIR/adapter.log")" -gt "$n" ]' || break
done
echo "# host A removed (links deleted, no reset), recovery in ms (removal -> first message published on B after it, at a browser): ${TIMES[*]}"

t_stop_all
MADE=("${NETNS_MADE[@]}")
delete_namespaces
check "the namespaces are gone" eval '! ip netns list | grep -qwE "$(IFS="|"; echo "${MADE[*]}")"'
finish
