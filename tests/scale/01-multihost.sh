#!/bin/bash
# 01-multihost: the gateway on three hosts, made of network namespaces.
#
#   host A (10.77.1.1, 10.77.2.1): broker A + adapter 1
#   host B (10.77.1.2, 10.77.3.1): broker B, bridged to A + adapter 2 + a calc worker
#   host C (10.77.2.2, 10.77.3.2): haproxy (TCP, health-checked) in front of both
#                                  adapters, and the clients
#
# Each pair of hosts has its own veth link; nothing touches the machine's own
# interfaces or addresses, and the namespaces (named after this test's pid)
# are deleted on exit. Checks: clients spread over both adapters, a price
# published at A and a notification published at B reach every right client
# on either adapter and no other user's, a calculation asked of adapter 1
# crosses the bridge to the worker on B and back; when adapter 1 is
# SIGKILLed its clients come back through haproxy on adapter 2, learn
# "recovered": false with the retained snapshot, and keep receiving.
# Without root, ip netns or haproxy it prints one "ok - ... # SKIP reason".
. "$(dirname "$0")/../integration/lib.sh"

. "$(dirname "$0")/netns.sh"

command -v haproxy >/dev/null || skip "no haproxy (Debian package haproxy)"
three_hosts rtg$$a rtg$$b rtg$$c

# ---- brokers, bridged ------------------------------------------------------------------------
ACL=$RTG_ROOT/acl/acl.conf # it has the bridge role

# example_conf NAME EXAMPLE BRIDGE_TOKEN: netns.sh's host_bridge_conf, the bridge to A
# across the A-B link.
example_conf() {
	host_bridge_conf "$1" "$2" "$3" "$A_B" "$ACL"
}

example_conf a mosquitto-bridge-a.conf ""
example_conf b mosquitto-bridge-b.conf "$(token bridge-b bridge 3600)"
spawn "$T_DIR/a.log" ip netns exec "$NA" env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/a.conf"
check "broker A runs on host A" wait_until 20 port_open_on "$NA" 127.0.0.1 1883
spawn "$T_DIR/b.log" ip netns exec "$NB" env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/b.conf"
check "broker B runs on host B" wait_until 20 port_open_on "$NB" 127.0.0.1 1883
check "B's bridge signs in at A across the A-B link" \
	wait_until 20 file_has "$T_DIR/a.log" "from $B_A:"
[ "$T_FAILED" = 0 ] || finish
wait_until 20 file_has "$T_DIR/a.log" "as bridge-b (p"

# ---- adapters, a worker, haproxy -------------------------------------------------------------
token adapter1 gateway 86400 >"$T_DIR/adapter.token"
# start_on NS NAME: rtg-adapter in host NS on all its addresses, port 8000. Sets SPAWNED.
start_on() {
	spawn "$T_DIR/$2.log" ip netns exec "$1" "$RTG_BUILD/rtg-adapter" --http-host 0.0.0.0 --http-port 8000 \
		--mqtt-port 1883 --mqtt-token-file "$T_DIR/adapter.token" \
		--jwt-secret-file "$RTG_SECRET_FILE" --acl-file "$ACL" --static-dir "$RTG_ROOT/static" \
		--profiles-file "$RTG_ROOT/profiles/gateway.conf" \
		--stats-access any
}
healthy() {
	on "$NC" curl -s -m 2 "http://$1:8000/health" | grep -q '"broker":"connected"'
}
start_on "$NA" adapter1
AD1=$SPAWNED
start_on "$NB" adapter2
check "adapter 1 on host A is up and connected, as seen from host C" wait_until 20 healthy "$A_C"
check "adapter 2 on host B too" wait_until 20 healthy "$B_C"
[ "$T_FAILED" = 0 ] || finish
E1=$(sed -nE 's/.* as rtg-adapter-([0-9a-f]+) .*/\1/p' "$T_DIR/a.log" | head -n 1)
E2=$(sed -nE 's/.* as rtg-adapter-([0-9a-f]+) .*/\1/p' "$T_DIR/b.log" | head -n 1)

token w1 calc >"$T_DIR/w1.token"
spawn "$T_DIR/w1.log" ip netns exec "$NB" "$RTG_BUILD/rtg-calc-worker" --mqtt-port 1883 \
	--token-file "$T_DIR/w1.token" --client-id w1 --step-delay-ms 50
wait_until 15 file_has "$T_DIR/w1.log" "subscribed \$share/calc/calc/+/request as w1"

cat >"$T_DIR/haproxy.cfg" <<EOF
global
	log stderr format raw local0 info
defaults
	mode tcp
	log global
	option tcplog
	timeout connect 2s
	timeout client 1h
	timeout server 1h
	# a connection refused by a dead adapter is retried on the other one
	retries 2
	option redispatch
listen adapters
	bind 127.0.0.1:8000
	balance roundrobin
	option httpchk GET /health
	default-server inter 300ms fall 1 rise 2
	server adapter1 $A_C:8000 check
	server adapter2 $B_C:8000 check
EOF
spawn "$T_DIR/haproxy.log" ip netns exec "$NC" haproxy -db -f "$T_DIR/haproxy.cfg"
check "haproxy listens on host C" wait_until 20 port_open_on "$NC" 127.0.0.1 8000

# ---- clients on host C, through haproxy ----------------------------------------------------------
ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)

# client I USER TOKEN: rtg-sub --reconnect on host C through haproxy, output in cI.out.
client() {
	: >"$T_DIR/c$1.out"
	ip netns exec "$NC" "$RTG_BUILD/rtg-sub" -h 127.0.0.1 -p 8000 --token "$3" --reconnect \
		'{"type":"subscribe","topic":"market/MH","policy":"queue"}' \
		'{"type":"subscribe","topic":"user/'"$2"'/notifications","policy":"queue"}' \
		>"$T_DIR/c$1.out" 2>"$T_DIR/c$1.err" &
	T_PIDS+=($!)
}
USERS=(x alice alice bob bob alice alice bob bob)
N=8
for i in $(seq 1 $N); do
	if [ "${USERS[i]}" = alice ]; then client "$i" alice "$ALICE"; else client "$i" bob "$BOB"; fi
	# one at a time, so round robin alternates and each user has clients on both adapters
	wait_until 10 eval "[ \"\$(grep -c '\"action\":\"subscribed\"' \"\$T_DIR/c$i.out\")\" = 2 ]"
done
every() {
	all_is "$1" "$2" $(seq -f c%g 1 "$N")
}
ON1=()
for i in $(seq 1 $N); do
	[ "$(pyq "c$i" 'adapter()')" = "$E1" ] && ON1+=("$i")
done
check "haproxy spread the clients: ${#ON1[@]} of $N on adapter 1, the rest on adapter 2" \
	eval '[ "${#ON1[@]}" -ge 1 ] && [ "${#ON1[@]}" -lt $N ] && every "adapter() in (\"$E1\", \"$E2\")" True'
wait_until 10 eval 'grep -qF "	market/MH (QoS" "$T_DIR/a.log" && grep -qF "	market/MH (QoS" "$T_DIR/b.log"'

# ---- delivery and isolation across hosts -----------------------------------------------------------
mqtt_on() {
	local ns=$1 user=$2 tok=$3 topic=$4 msg=$5
	shift 5
	on "$ns" mosquitto_pub -h 127.0.0.1 -p 1883 -V mqttv311 -u "$user" -P "$tok" -q 1 \
		-t "$topic" -m "$msg" "$@" 2>>"$T_DIR/clients.log"
}
for m in m1 m2; do
	mqtt_on "$NA" feed "$PUBLISHER" market/MH '{"type":"price_update","ticker":"MH","mark":"'$m'"}' -r
done
expect "prices published on host A reach every client on both adapters, once, in order" \
	wait_until 15 every 'marks(L, "market/MH")' "['m1', 'm2']"
mqtt_on "$NB" notify "$NOTIFIER" user/alice/notifications '{"type":"notification","n":"for-alice"}'
mqtt_on "$NB" notify "$NOTIFIER" user/bob/notifications '{"type":"notification","n":"for-bob"}'
# users_got PREFIX SUFFIX: every client has the notification "n":"PREFIX<its user>SUFFIX".
users_got() {
	local i
	for i in $(seq 1 $N); do
		has "c$i" "\"n\":\"$1${USERS[i]}$2\"" || return 1
	done
}
check "a notification published on host B reaches its user's clients on both adapters" \
	wait_until 15 users_got for- ""
# only_own A B: the clients of alice lack B, those of bob lack A.
only_own() {
	local i
	for i in $(seq 1 $N); do
		if [ "${USERS[i]}" = alice ]; then lacks "c$i" "$2" || return 1; else
			lacks "c$i" "$1" || return 1; fi
	done
}
check "and no other user's" eval 'users_got for- "" && only_own for-alice for-bob'

: >"$T_DIR/calc.out"
ip netns exec "$NC" "$PY" "$RTG_ROOT/tests/integration/ws_client.py" "ws://$A_C:8000/ws?token=$ALICE" \
	--timeout 30 --send '{"type":"calculate","calculation_id":"x1","calculation_type":"roi","parameters":{"cost":100,"gain":150}}' \
	>"$T_DIR/calc.out" 2>"$T_DIR/calc.err" &
T_PIDS+=($!)
expect "a calculation asked of adapter 1 on A is done by the worker on B and the result comes back" \
	wait_until 15 is calc '(final("x1")["status"], final("x1")["worker"], final("x1")["result"]["roi"])' \
	"('completed', 'w1', 0.5)"

# ---- adapter 1 lost ---------------------------------------------------------------------------------
kill -KILL "$AD1"
wait "$AD1" 2>/dev/null
moved() {
	local i
	[ "${#ON1[@]}" -ge 1 ] || return 1
	for i in "${ON1[@]}"; do
		[ "$(pyq "c$i" 'len(G)')" -ge 2 ] && is "c$i" 'adapter()' "$E2" &&
			is "c$i" 'sum(m.get("action") == "subscribed" for m in S)' 2 || return 1
	done
}
expect "adapter 1's clients come back through haproxy, on adapter 2" wait_until 20 moved
moved_is() {
	all_is "$1" "$2" "${ON1[@]/#/c}"
}
expect "they resumed with since and learn recovered: false" \
	moved_is '[m.get("recovered") for m in S if m.get("type") == "subscription"]' "[False, False]"
expect "with the retained snapshot: the latest price in the history" \
	moved_is '[m.get("mark") for m in hist(S, "market/MH").get("messages", [])][-1:]' "['m2']"
mqtt_on "$NA" feed "$PUBLISHER" market/MH '{"type":"price_update","ticker":"MH","mark":"m3"}' -r
expect "a price published on A still reaches every client, now all through adapter 2" \
	wait_until 15 every '(adapter() == "'"$E2"'", marks(L, "market/MH").count("m3"))' "(True, 1)"
mqtt_on "$NB" notify "$NOTIFIER" user/bob/notifications '{"type":"notification","n":"bob-2"}'
mqtt_on "$NB" notify "$NOTIFIER" user/alice/notifications '{"type":"notification","n":"alice-2"}'
check "and each user's notifications still reach only that user" \
	eval 'wait_until 10 users_got "" -2 && only_own alice-2 bob-2'

# ---- teardown -------------------------------------------------------------------------------------
t_stop_all
MADE=("${NETNS_MADE[@]}")
delete_namespaces
check "the namespaces are gone" eval '! ip netns list | grep -qwE "$(IFS="|"; echo "${MADE[*]}")"'
finish
