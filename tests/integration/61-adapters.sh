#!/bin/bash
# 61-adapters: several adapters on one port, several calc workers, one of each lost.
#
# Three rtg-adapter processes share one port (reuse_port 1, SO_REUSEPORT): the
# kernel spreads clients over them (a client's adapter is the epoch its
# connection_id starts with) and every client gets every message. One adapter
# is SIGKILLed: its rtg-sub --reconnect clients land on the others, resume
# with "since" and learn "recovered": false (another adapter, another epoch)
# with the retained snapshot, and the others' clients notice nothing. Two
# calc workers on $share take calculations sent through the adapters, each
# exactly once; a worker SIGKILLed mid-calculation costs the client a
# "failed" update saying "timed out" within calc_timeout, not a wait forever.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker

CALC_TIMEOUT=3
PORT=$(free_port)
ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)

# adapters_seen: the number of adapters that have signed in at the broker.
adapters_seen() {
	grep -c " as rtg-adapter-" "$T_DIR/broker.log"
}

# ---- three adapters on one port ------------------------------------------------------------
APID=()
EPOCH=()
for n in 0 1 2; do
	start_adapter --http-port "$PORT" --reuse-port 1 --calc-timeout "$CALC_TIMEOUT"
	mv "$T_DIR/adapter.log" "$T_DIR/adapter-$n.log"
	APID[n]=$ADAPTER_PID
	# The health check above may have reached an older adapter: wait for this one's sign-in.
	wait_until 20 eval '[ "$(adapters_seen)" -gt "$n" ]'
	EPOCH[n]=$(sed -nE 's/.* as rtg-adapter-([0-9a-f]+) .*/\1/p' "$T_DIR/broker.log" | tail -n 1)
done
check "three adapters listen on the same port" eval '[ "$(grep -l "^listening 127.0.0.1 $PORT\$" \
	"$T_DIR"/adapter-[012].log | wc -l)" = 3 ] && kill -0 ${APID[0]} ${APID[1]} ${APID[2]}'
check "each with its own epoch" eval '[ "$(printf "%s\n" "${EPOCH[@]}" | sort -u | grep -c .)" = 3 ]'

# epoch_index EPOCH: the index of the adapter with that epoch, or "none".
epoch_index() {
	local n
	for n in 0 1 2; do
		[ "${EPOCH[n]}" = "$1" ] && { echo "$n"; return; }
	done
	echo none
}

# ---- clients spread, each gets every message ----------------------------------------------------
CLIENTS=12
for i in $(seq 1 $CLIENTS); do
	if [ $((i % 2)) = 1 ]; then who=alice tok=$ALICE; else who=bob tok=$BOB; fi
	rsub "c$i" --token "$tok" --reconnect \
		'{"type":"subscribe","topic":"market/SPREAD","policy":"queue"}' \
		'{"type":"subscribe","topic":"user/'"$who"'/notifications","policy":"queue"}'
done
all_subscribed() {
	local i
	for i in $(seq 1 $CLIENTS); do
		[ "$(grep -c '"action":"subscribed"' "$T_DIR/c$i.out")" -ge 2 ] || return 1
	done
}
wait_until 20 all_subscribed
declare -A ON=()
for i in $(seq 1 $CLIENTS); do
	ON[$i]=$(epoch_index "$(pyq "c$i" 'adapter()')")
done
check "every client landed on one of the three adapters" \
	eval '! printf "%s\n" "${ON[@]}" | grep -q none'
USED=$(printf "%s\n" "${ON[@]}" | sort -u | grep -c .)
check "the kernel spread the $CLIENTS clients over several adapters ($USED)" test "$USED" -ge 2
wait_until 10 eval '[ "$(grep -cF "	market/SPREAD (QoS" "$T_DIR/broker.log")" -ge "$USED" ]'

# every_client EXPR WANT: pyq EXPR prints WANT for every client.
every_client() {
	all_is "$1" "$2" $(seq -f c%g 1 "$CLIENTS")
}
for m in m1 m2 m3; do
	pub feed "$PUBLISHER" market/SPREAD '{"type":"price_update","ticker":"SPREAD","mark":"'$m'"}' -r
done
expect "every client, whatever its adapter, gets every price once, in order" \
	wait_until 10 every_client 'marks(L, "market/SPREAD")' "['m1', 'm2', 'm3']"
pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","n":"for-alice"}'
pub notify "$NOTIFIER" user/bob/notifications '{"type":"notification","n":"for-bob"}'
alice_and_bob_got() {
	local i
	for i in $(seq 1 $CLIENTS); do
		if [ $((i % 2)) = 1 ]; then has "c$i" '"n":"for-alice"' || return 1; else
			has "c$i" '"n":"for-bob"' || return 1; fi
	done
}
check "each user's clients on every adapter get that user's notification" \
	wait_until 10 alice_and_bob_got
check "and not the other user's" eval '! grep -l "for-bob" "$T_DIR"/c*[13579].out &&
	! grep -lE "for-alice" "$T_DIR"/c*[02468].out'

# ---- one adapter lost ---------------------------------------------------------------------------
# The busiest adapter is SIGKILLed: no close frame, its clients see the socket die.
K=$(printf "%s\n" "${ON[@]}" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
MOVED=()
STAYED=()
for i in $(seq 1 $CLIENTS); do
	if [ "${ON[$i]}" = "$K" ]; then MOVED+=("$i"); else STAYED+=("$i"); fi
done
kill -KILL "${APID[K]}"
wait "${APID[K]}" 2>/dev/null
moved_elsewhere() {
	local i n
	for i in "${MOVED[@]}"; do
		[ "$(grep -c '"type":"connection"' "$T_DIR/c$i.out")" -ge 2 ] || return 1
		n=$(epoch_index "$(pyq "c$i" 'adapter()')")
		[ "$n" != none ] && [ "$n" != "$K" ] || return 1
		[ "$(pyq "c$i" 'sum(m.get("action") == "subscribed" for m in S)')" = 2 ] || return 1
	done
}
expect "the ${#MOVED[@]} clients of the killed adapter reconnect to the others, on the same port" \
	wait_until 20 moved_elsewhere
every_moved() {
	all_is "$1" "$2" "${MOVED[@]/#/c}"
}
expect "they resume with since and learn recovered: false (another adapter's epochs)" \
	every_moved '[m.get("recovered") for m in S if m.get("type") == "subscription"]' "[False, False]"
# the history follows the second confirmation, and may still be on its way
expect "and get the retained snapshot: the latest price, in the history" \
	wait_until 10 every_moved '[m.get("mark") for m in hist(S, "market/SPREAD").get("messages", [])][-1:]' "['m3']"
check "the epoch of their market/SPREAD changed" every_moved \
	'hist(S, "market/SPREAD").get("epoch") != [m for m in L if m.get("mark") == "m1"][0]["epoch"]' True
stayed_put() {
	local i
	for i in "${STAYED[@]}"; do
		[ "$(grep -c '"type":"connection"' "$T_DIR/c$i.out")" = 1 ] || return 1
	done
}
check "the other adapters' clients were not disturbed (one connection each)" stayed_put
pub feed "$PUBLISHER" market/SPREAD '{"type":"price_update","ticker":"SPREAD","mark":"m4"}' -r
expect "after the loss every client gets the next price once" \
	wait_until 10 every_client 'marks(S, "market/SPREAD")[-1:] + [marks(L, "market/SPREAD").count("m4")]' \
	"['m4', 1]"

# ---- calc workers on a shared subscription -------------------------------------------------------
# start_worker NAME DELAY_MS: rtg-calc-worker with client id NAME. Sets WORKER_PID.
start_worker() {
	token "$1" calc >"$T_DIR/$1.token"
	spawn "$T_DIR/$1.log" "$RTG_BUILD/rtg-calc-worker" --mqtt-port "$BROKER_PORT" \
		--token-file "$T_DIR/$1.token" --client-id "$1" --step-delay-ms "$2"
	WORKER_PID=$SPAWNED
}
worker_subscribed() {
	file_has "$T_DIR/$1.log" "subscribed \$share/calc/calc/+/request as $1"
}
start_worker w1 20
W1=$WORKER_PID
start_worker w2 20
W2=$WORKER_PID
check "two workers share the requests" wait_until 15 eval 'worker_subscribed w1 && worker_subscribed w2'
NPV='"parameters":{"cash_flows":[100,120,140],"discount_rate":0.1,"initial_investment":300}'
CALCS=()
for k in 1 2 3 4; do
	sends=()
	for j in 1 2 3 4 5; do
		sends+=(--send '{"type":"calculate","calculation_id":"k'$k-$j'","calculation_type":"npv",'"$NPV"'}')
		CALCS+=("k$k-$j")
	done
	wsc "calc$k" "ws://127.0.0.1:$PORT/ws?token=$ALICE" --timeout 60 "${sends[@]}"
done
all_final() {
	local k j
	for k in 1 2 3 4; do
		for j in 1 2 3 4 5; do
			is "calc$k" "final('k$k-$j')['status']" completed || return 1
		done
	done
}
expect "20 calculations sent through the adapters each complete, with one final update" \
	wait_until 30 all_final
# done_once: every calculation has updates from one worker and one "started" update.
done_once() {
	local c
	for c in "${CALCS[@]}"; do
		is "calc${c:1:1}" "(len({u['worker'] for u in U('$c')}), [u['status'] for u in U('$c')].count('started'))" \
			"(1, 1)" || return 1
	done
}
expect "each was done once: one worker, one started update" done_once
check "both workers took some" eval '[ "$(cat "$T_DIR"/calc*.out | grep -o "\"worker\":\"w[12]\"" | sort -u | wc -l)" = 2 ]'

# ---- a worker lost mid-calculation ---------------------------------------------------------------
kill -TERM "$W1" "$W2"
wait "$W1" "$W2"
start_worker w3 1000
W3=$WORKER_PID
start_worker w4 1000
W4=$WORKER_PID
wait_until 15 eval 'worker_subscribed w3 && worker_subscribed w4'
wsc slow "ws://127.0.0.1:$PORT/ws?token=$BOB" --timeout 60 \
	--send '{"type":"calculate","calculation_id":"slow1","calculation_type":"npv",'"$NPV"'}'
wait_until 10 is slow '[u["status"] for u in U("slow1")][:1]' "['started']"
VICTIM=$(pyq slow 'U("slow1")[0]["worker"]')
if [ "$VICTIM" = w3 ]; then VPID=$W3 SURVIVOR=w4; else VPID=$W4 SURVIVOR=w3; fi
kill -KILL "$VPID"
KILLED_AT=$SECONDS
wait "$VPID" 2>/dev/null
expect "the client of a worker SIGKILLed mid-calculation gets a failed update saying it timed out" \
	wait_until $((CALC_TIMEOUT + 3)) is slow \
	'(final("slow1")["status"], "timed out" in final("slow1").get("error", ""))' "('failed', True)"
check "within calc_timeout ($CALC_TIMEOUT s) of the last update" \
	test $((SECONDS - KILLED_AT)) -le $((CALC_TIMEOUT + 2))
wsc after "ws://127.0.0.1:$PORT/ws?token=$BOB" --timeout 60 \
	--send '{"type":"calculate","calculation_id":"after1","calculation_type":"npv",'"$NPV"'}'
expect "the surviving worker takes the next calculation" \
	wait_until 15 is after '(final("after1")["status"], final("after1")["worker"])' \
	"('completed', '$SURVIVOR')"
# The survivor works one request at a time: had it redone slow1, it would have before after1.
check "and no worker redid the lost one" is slow '[u["status"] for u in U("slow1")][-1]' failed

finish
