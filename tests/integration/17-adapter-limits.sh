#!/bin/bash
# 17-adapter-limits: what one client may cost the adapter, and that the others
# never notice it.
#
# The inbound token bucket (errors, then close 1008 for a flood), the caps on
# subscriptions per connection, connections per user and in total, the Origin
# allow-list on upgrades, the idle timeout (a peer that never answers PING),
# the calculation timeout, and a stalled reader beside fast ones: the fast
# ones get every message in order, the stalled one is closed with 1013, and
# the adapter's memory stays bounded. Every refusal is counted in /api/stats.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter --rate-limit 5 --rate-burst 5 --rate-limit-close 8 --max-subscriptions 3 \
	--max-connections-per-user 2 --idle-timeout 2 --calc-timeout 2 \
	--allowed-origins "http://good.example"
PUBLISHER=$(token feed publisher)
RAW=$RTG_ROOT/tests/integration/raw_ws.py

# count NAME STRING: how many lines of NAME.out contain STRING.
count() {
	grep -cF -- "$2" "$T_DIR/$1.out"
}

# stat_is FIELD WANT: /api/stats (from loopback) has FIELD >= WANT.
stat_at_least() {
	local v
	v=$(curl -s "$HTTP/api/stats" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])")
	[ "${v:-0}" -ge "$2" ] || { IS_LAST="$1 is $v, expected at least $2"; return 1; }
}

# ---- the token bucket -----------------------------------------------------------------------
PINGS=()
for _ in 1 2 3 4 5 6 7; do PINGS+=(--send '{"type":"ping"}'); done
wsc burst "$WS/ws?token=$(token rate1)" "${PINGS[@]}" --timeout 3
for _ in $(seq 1 13); do PINGS+=(--send '{"type":"ping"}'); done
wsc flood "$WS/ws?token=$(token rate2)" "${PINGS[@]}" --timeout 10
wsc bystander "$WS/ws?token=$(token rate3)" --send '{"type":"subscribe","topic":"market/LIM"}' \
	--count 3 --timeout 15
BYSTANDER=$WSC_PID

wait_until 10 has flood '"_closed"'
expect "a burst gets its rate_burst answers and an error for each message beyond" \
	wait_until 10 eval '[ "$(count burst "\"pong\"")" = 5 ] && [ "$(count burst "rate limit exceeded")" = 2 ]'
check "a client over the rate but not flooding stays connected" \
	eval 'wait_until 5 has burst rate && ! wait_until 2 has burst _closed'
# the close frame arrives although pings are still coming (the lingering close, linger.c)
check "a flood is closed with 1008 and its reason" \
	has flood '"_closed"' '"code": 1008' 'message rate limit exceeded'
wait_until 10 has bystander '"subscribed"'
pub feed "$PUBLISHER" market/LIM '{"type":"price_update","price":1}'
expect "a client beside the flood is not disturbed" wait_until 10 has bystander '"price":1'
stop "$BYSTANDER"
# burst: 2 refused; flood: 20 sent, 5 pass, the 8th refusal closes, the rest is not read
expect "refusals are counted, and the flood closed after exactly rate_limit_close of them" \
	eval 'stat_at_least rate_limited 10 && ! stat_at_least rate_limited 11 && stat_at_least rate_closed 1'

# ---- subscriptions per connection -------------------------------------------------------------
wsc subs "$WS/ws?token=$(token subs1)" --send '{"type":"subscribe","topic":"market/S1"}' \
	--send '{"type":"subscribe","topic":"market/S2"}' --send '{"type":"subscribe","topic":"market/S3"}' \
	--send '{"type":"subscribe","topic":"market/S4"}' --timeout 5
expect "max_subscriptions: the fourth subscribe is refused with an error" \
	wait_until 10 eval '[ "$(count subs "\"subscribed\"")" = 3 ] && has subs "subscription limit reached (3"'
check "the subscriptions already made still work" has subs '"subscribed"' 'market/S3'

# ---- connections per user -----------------------------------------------------------------------
CAROL=$(token carol)
wsc carol1 "$WS/ws?token=$CAROL" --timeout 20
C1=$WSC_PID
wsc carol2 "$WS/ws?token=$CAROL" --timeout 20
C2=$WSC_PID
wait_until 10 has carol1 '"connection"' && wait_until 10 has carol2 '"connection"'
wsc carol3 "$WS/ws?token=$CAROL" --timeout 10
expect "a third WebSocket of the same user is closed with 1008 and a reason" \
	wait_until 10 has carol3 '"_closed"' 1008 'too many connections for this user'
SSE_STATUS=$(curl -s -o "$T_DIR/carol_sse.out" -w '%{http_code}' --max-time 5 \
	"$HTTP/sse?topic=market/X&token=$CAROL")
check "an SSE stream beyond the per-user cap gets 429 with a JSON reason" \
	eval '[ "$SSE_STATUS" = 429 ] && grep -q "too many connections" "$T_DIR/carol_sse.out"'
stop "$C1"
wsc carol4 "$WS/ws?token=$CAROL" --timeout 10
expect "when one of them leaves, the user may connect again" \
	wait_until 10 has carol4 '"connection"'
stop "$C2"

# ---- origins ------------------------------------------------------------------------------------
# upgrade NAME PATH [CURL ARGS...]: the status of a WebSocket upgrade request, by curl.
upgrade() {
	local path=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Connection: Upgrade' \
		-H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$@" "$HTTP$path"
}
EVIL=$(upgrade "/ws?token=$(token o1)" -H 'Origin: http://evil.example')
check "an upgrade from a foreign Origin is refused with 403" [ "$EVIL" = 403 ]
wsc good "$WS/ws?token=$(token o2)" --header 'Origin: http://good.example' --timeout 5
check "an upgrade from an allowed Origin connects" wait_until 10 has good '"connection"'
wsc own "$WS/ws?token=$(token o3)" --header "Origin: $HTTP" --timeout 5
check "an upgrade from the adapter's own origin connects" wait_until 10 has own '"connection"'
expect "refused origins are counted" stat_at_least refused_origin 1

# ---- idle timeout -------------------------------------------------------------------------------
: >"$T_DIR/idle.out"
"$PY" "$RAW" "$WS/ws?token=$(token idle1)" --mode idle --timeout 15 >"$T_DIR/idle.out" 2>&1 &
T_PIDS+=($!)
check "a connection that never answers gets a PING first" wait_until 10 has idle ping
check "then is closed with a reason once silent past idle_timeout" \
	wait_until 10 has idle 'close 1008 idle timeout'
check "and the socket is gone" wait_until 10 has idle eof
wsc live "$WS/ws?token=$(token idle2)" --timeout 8
# ten more (rtg-sub: lws answers PINGs), so some answer just after a timer tick
for i in 0 1 2 3 4 5 6 7 8 9; do
	rsub "live$i" --token "$(token "idle3$i")" --wait 8
done
lives_greeted() { for i in 0 1 2 3 4 5 6 7 8 9; do has "live$i" '"connection"' || return 1; done; }
lives_closed() { for i in 0 1 2 3 4 5 6 7 8 9; do has "live$i" _closed && return 0; done; return 1; }
check "clients that answer PINGs outlive the idle timeout (twice over)" \
	eval 'wait_until 5 has live "\"connection\"" && wait_until 5 lives_greeted &&
	! wait_until 5 eval "has live _closed || lives_closed"'
expect "idle closes are counted" stat_at_least idle_closed 1

# ---- calculation timeout ------------------------------------------------------------------------
wsc calc "$WS/ws?token=$(token calc1)" \
	--send '{"type":"calculate","calculation_id":"lost1","calculation_type":"npv","parameters":{}}' \
	--timeout 15
check "with no worker, a calculation fails with a timeout after calc_timeout" \
	wait_until 15 has calc '"calculation_update"' '"lost1"' '"failed"' 'timed out'
expect "calculation timeouts are counted" stat_at_least calc_timeouts 1

# ---- total connections and the slow consumer: a second adapter ------------------------------
stop "$ADAPTER_PID"
start_adapter --max-connections 4 --queue-max-messages 200 --slow-consumer-timeout 2 \
	--socket-sndbuf 4096 --rate-limit 100
CAP=()
for u in cap1 cap2 cap3 cap4; do
	wsc "$u" "$WS/ws?token=$(token "$u")" --timeout 30
	CAP+=("$WSC_PID")
	wait_until 10 has "$u" '"connection"'
done
UPGRADE=$(upgrade "/ws?token=$(token cap5)")
check "max_connections: one more upgrade gets 503" [ "$UPGRADE" = 503 ]
SSE_STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	"$HTTP/sse?topic=market/X&token=$(token cap6)")
check "and one more SSE stream gets 503" [ "$SSE_STATUS" = 503 ]
for pid in "${CAP[@]}"; do stop "$pid"; done
expect "connections refused for capacity are counted" stat_at_least refused_capacity 2

N=4000
SUBSCRIBE='{"type":"subscribe","topic":"market/SLOW","policy":"queue"}'
: >"$T_DIR/stall.out"
"$PY" "$RAW" "$WS/ws?token=$(token slow1)" --mode stall --rcvbuf 4096 --hold 60 \
	--send "$SUBSCRIBE" >"$T_DIR/stall.out" 2>&1 &
T_PIDS+=($!)
wait_until 10 has stall ready
wsc fast1 "$WS/ws?token=$(token fast1)" --send "$SUBSCRIBE" --count $((N + 2)) --timeout 60
F1=$WSC_PID
wsc fast2 "$WS/ws?token=$(token fast2)" --send "$SUBSCRIBE" --count $((N + 2)) --timeout 60
F2=$WSC_PID
wait_until 10 has fast1 '"subscribed"' && wait_until 10 has fast2 '"subscribed"'
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$ADAPTER_PID/status"; }
RSS0=$(rss_kib)
PAD=$(head -c 400 /dev/zero | tr '\0' x)
# 1,000 messages/s for 4 s: the stalled queue is full within a second and stays full
"$PY" -c '
import sys, time
n, pad = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
for i in range(1, n + 1):
    print("{\"type\":\"price_update\",\"n\":%d,\"pad\":\"%s\"}" % (i, pad), flush=True)
    time.sleep(max(0.0, t0 + i / 1000.0 - time.monotonic()))
' "$N" "$PAD" | mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u feed -P "$PUBLISHER" -q 1 \
	-t market/SLOW -l 2>>"$T_DIR/clients.log"
wait "$F1" 2>/dev/null
wait "$F2" 2>/dev/null

# in_order NAME: NAME.out has n = 1..N exactly, in order, with contiguous seq.
in_order() {
	"$PY" - "$T_DIR/$1.out" "$N" <<'PY'
import json, sys
ns, seqs = [], []
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("topic") == "market/SLOW" and "n" in m:
        ns.append(m["n"]); seqs.append(m["seq"])
n = int(sys.argv[2])
ok = ns == list(range(1, n + 1)) and seqs == list(range(seqs[0], seqs[0] + n))
sys.exit(0 if ok else 1)
PY
}
check "beside a stalled reader, fast client 1 gets every message in order" in_order fast1
check "and fast client 2 too" in_order fast2
expect "the stalled reader is closed with 1013 once its queue stays full" \
	wait_until 15 stat_at_least slow_closed 1
RSS1=$(rss_kib)
# AddressSanitizer keeps freed memory in quarantine (up to 256 MiB) and valgrind
# has its own: RSS means little under either
BOUND=20480
[ "${#BROKER_ENV[@]}" -gt 0 ] || [ "${RTG_VALGRIND:-0}" = 1 ] && BOUND=131072
check "the adapter's memory stayed bounded ($RSS0 KiB -> $RSS1 KiB)" [ $((RSS1 - RSS0)) -lt "$BOUND" ]
expect "the messages it could not take are counted as dropped" stat_at_least dropped 1

finish
