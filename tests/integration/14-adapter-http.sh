#!/bin/bash
# 14-adapter-http: the adapter's plain HTTP API, with curl.
#
# /health follows the broker connection (200, 503 while the broker is down,
# 200 again after it is back, with subscriptions restored); /api/stats,
# /ws/stats and /metrics report what happens and are closed to non-ops with
# stats_access ops; /api/publish and /api/broadcast/{kind} are role- and
# ACL-gated and reach MQTT and WebSocket subscribers; /api/calculations
# reaches a calc worker; every refusal is a JSON error with the right status.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
MAX=1024
start_adapter --max-message-size "$MAX" --allowed-origins "http://example.com, https://app.example.org"

ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)
OPS=$(token admin ops)
CALC=$(token worker calc)

# req NAME [CURL ARGS...] URL: one request; body in NAME.out, headers in NAME.hdr.
req() {
	local name=$1
	shift
	curl -s --max-time 10 -D "$T_DIR/$name.hdr" -o "$T_DIR/$name.out" "$@"
}

# status NAME: the HTTP status of request NAME.
status() {
	awk 'NR == 1 {print $2}' "$T_DIR/$1.hdr"
}

# header NAME FIELD: the value of a response header of request NAME (case-insensitive name).
header() {
	awk -v f="$2" 'BEGIN {FS = ": "}
		tolower($1) == tolower(f) {sub(/\r$/, "", $2); print $2; exit}' "$T_DIR/$1.hdr"
}

# post NAME PATH TOKEN BODY [CURL ARGS...]: a JSON POST (no Authorization if TOKEN is "").
post() {
	local name=$1 path=$2 tok=$3 body=$4
	shift 4
	local auth=()
	[ -n "$tok" ] && auth=(-H "Authorization: Bearer $tok")
	req "$name" -X POST "${auth[@]}" -H 'Content-Type: application/json' --data-binary "$body" \
		"$@" "$HTTP$path"
}

# json NAME EXPR: evaluates the Python expression EXPR on the JSON body of request
# NAME (as J) and prints it.
json() {
	"$PY" -c 'import json, sys; J = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$T_DIR/$1.out" "$2" 2>/dev/null
}

# is NAME EXPR WANT: "json NAME EXPR" prints exactly WANT (lib.sh is_via).
is() {
	is_via json "$@"
}

# refused NAME STATUS: request NAME got STATUS with a JSON {"error":..,"status":STATUS}.
refused() {
	[ "$(status "$1")" = "$2" ] || { IS_LAST="$1: HTTP $(status "$1"), expected $2: $(cat "$T_DIR/$1.out")"; return 1; }
	[[ "$(header "$1" content-type)" == application/json* ]] || { IS_LAST="$1: not JSON"; return 1; }
	is "$1" '(J["status"], bool(J["error"]))' "($2, True)"
}

# health_is CODE BROKER: GET /health answers CODE with "broker": BROKER.
health_is() {
	req health "$HTTP/health" && [ "$(status health)" = "$1" ] && is health 'J["broker"]' "$2"
}

# ---- /health ---------------------------------------------------------------------------------------
req health "$HTTP/health"
expect "GET /health answers 200 with status ok and the broker connected" \
	eval '[ "$(status health)" = 200 ] && is health "(J[\"status\"], J[\"broker\"])" "('"'ok', 'connected'"')"'
expect "and says how long the adapter has been up" is health 'isinstance(J["uptime"], (int, float))' True

# ---- /api/stats and /ws/stats ---------------------------------------------------------------------------
wsc st1 "$WS/ws?token=$ALICE" --send '{"type":"subscribe","channel":"ticker","ticker":"AAPL"}' \
	--send '{"type":"subscribe","topic":"market/+"}' --send '{"type":"ping"}' --timeout 60
wsc st2 "$WS/ws?token=$BOB" --send '{"type":"subscribe_symbol","symbol":"AAPL"}' --timeout 60
wait_until 10 has st1 '"type":"pong"'
wait_until 10 has st2 '"action":"subscribed"'
wait_until 10 grep -qF "	market/AAPL (QoS" "$T_DIR/broker.log"
wait_until 10 grep -qF "	market/+ (QoS" "$T_DIR/broker.log"
req stats0 "$HTTP/api/stats"
pub feed "$PUBLISHER" market/AAPL '{"type":"price_update","ticker":"AAPL","price":190}'
wait_until 10 has st1 '"price":190'
wait_until 10 has st2 '"price":190'
for path in /api/stats /ws/stats; do
	n=stats${path//\//_}
	req "$n" "$HTTP$path"
	expect "GET $path from loopback answers 200 JSON" \
		eval '[ "$(status $n)" = 200 ] && [[ "$(header $n content-type)" == application/json* ]]'
	expect "$path has every SPEC figure" \
		is "$n" 'sorted(k for k in ["active_connections", "total_connections", "ticker_subscriptions", "subscriptions", "messages_sent", "messages_received", "dropped", "errors", "uptime", "broker"] if k not in J)' '[]'
	expect "$path counts the two open connections" \
		is "$n" '(J["active_connections"], J["total_connections"] >= 2)' '(2, True)'
	expect "$path counts the clients per filter" \
		is "$n" '(J["subscriptions"].get("market/AAPL"), J["subscriptions"].get("market/+"))' '(2, 1)'
	expect "$path counts the ticker subscriptions" is "$n" 'J["ticker_subscriptions"]' "{'AAPL': 2}"
	expect "$path says the broker is connected" is "$n" 'J["broker"]["state"]' connected
done
expect "messages_sent grows with what the clients were sent" \
	eval '[ "$(json stats_api_stats "J[\"messages_sent\"]")" -ge $(($(json stats0 "J[\"messages_sent\"]") + 2)) ]'
expect "messages_received counts what the clients sent (3 from st1, 1 from st2)" \
	is stats_api_stats 'J["messages_received"] >= 4' True
expect "uptime is a number of seconds" is stats_api_stats 'isinstance(J["uptime"], (int, float)) and J["uptime"] >= 0' True
ERRORS_BEFORE=$(json stats_api_stats 'J["errors"]')
wsc bad "$WS/ws?token=$ALICE" --send 'not json' --timeout 10
wait_until 10 has bad '"type":"error"'
req stats2 "$HTTP/api/stats"
expect "errors counts an error reply" is stats2 "J['errors'] > $ERRORS_BEFORE" True

# ---- /metrics ---------------------------------------------------------------------------------------------
req metrics "$HTTP/metrics"
expect "GET /metrics answers 200 in the Prometheus text format 0.0.4" \
	eval '[ "$(status metrics)" = 200 ] && [[ "$(header metrics content-type)" == text/plain*version=0.0.4* ]]'
expect "every sample line belongs to a metric declared by a # TYPE line, and parses" "$PY" -c '
import re, sys
types, samples = {}, []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r"# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$", line)
    if m:
        types[m.group(1)] = m.group(2)
        continue
    if line.startswith("#") or not line:
        continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\"(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$", line)
    if not m or m.group(1) not in types:
        sys.exit("bad sample: " + line)
    float(m.group(3))
    samples.append(m.group(1))
sys.exit(not samples)' "$T_DIR/metrics.out"
expect "there are counters, and their names end in _total" "$PY" -c '
import re, sys
c = re.findall(r"^# TYPE (\S+) counter$", open(sys.argv[1]).read(), re.M)
sys.exit(not c or any(not n.endswith("_total") for n in c))' "$T_DIR/metrics.out"
expect "the connection counter matches /api/stats" \
	eval 'grep -qx "rtg_adapter_connections_total $(json stats2 "J[\"total_connections\"]")" "$T_DIR/metrics.out"'
expect "the per-filter gauge shows the clients of market/AAPL" \
	grep -qx 'rtg_adapter_subscriptions{filter="market/AAPL"} 2' "$T_DIR/metrics.out"

# ---- POST /api/publish --------------------------------------------------------------------------------
sub_start msub alice "$ALICE" 'market/PUB'
sub_start spy admin "$OPS" '#'
post pub_ok /api/publish "$PUBLISHER" '{"topic":"market/PUB","payload":{"type":"price_update","mark":"via-http"}}'
expect "POST /api/publish with a publisher token answers 200 published" \
	eval '[ "$(status pub_ok)" = 200 ] && is pub_ok "(J[\"status\"], J[\"topic\"])" "('"'published', 'market/PUB'"')"'
expect "and an MQTT subscriber receives the payload as JSON text" \
	wait_until 10 got msub 'market/PUB {"type":"price_update","mark":"via-http"}'
post pub_str /api/publish "$OPS" '{"topic":"market/PUB","payload":"plain words"}'
expect "a string payload is published as its bytes (ops token)" \
	wait_until 10 got msub 'market/PUB plain words'
post pub_ret /api/publish "$PUBLISHER" '{"topic":"market/PUBR","payload":{"mark":"kept"},"retain":true}'
sub_start mret alice "$ALICE" 'market/PUBR'
expect "with retain: true the broker keeps it for later subscribers" \
	wait_until 10 got mret 'market/PUBR {"mark":"kept"}'

post pub_user /api/publish "$ALICE" '{"topic":"market/PUB","payload":{"mark":"from-alice"}}'
expect "a plain user token gets 403" refused pub_user 403
post pub_acl /api/publish "$PUBLISHER" '{"topic":"user/alice/notifications","payload":{"mark":"forged"}}'
expect "a publisher writing outside its ACL (user/...) gets 403" refused pub_acl 403
post pub_none /api/publish "" '{"topic":"market/PUB","payload":{"mark":"anon"}}'
expect "no token gets 401" refused pub_none 401
post pub_badtok /api/publish "not.a.token" '{"topic":"market/PUB","payload":{"mark":"anon"}}'
expect "a bad token gets 401" refused pub_badtok 401
post pub_malformed /api/publish "$PUBLISHER" '{"topic":"market/PUB","payload":'
expect "malformed JSON gets 400" refused pub_malformed 400
post pub_array /api/publish "$PUBLISHER" '["market/PUB"]'
expect "a JSON array gets 400" refused pub_array 400
post pub_notopic /api/publish "$PUBLISHER" '{"payload":{"mark":"nowhere"}}'
expect "a missing topic gets 400" refused pub_notopic 400
post pub_wild /api/publish "$PUBLISHER" '{"topic":"market/+","payload":{"mark":"wild"}}'
expect "a wildcard topic gets 400" refused pub_wild 400
post pub_nopayload /api/publish "$PUBLISHER" '{"topic":"market/PUB"}'
expect "a missing payload gets 400" refused pub_nopayload 400
req pub_get "$HTTP/api/publish"
expect "a GET gets 405" refused pub_get 405
expect "with an Allow header naming POST" eval '[ "$(header pub_get allow)" = POST ]'
BIG=$("$PY" -c "import sys; print('{\"topic\":\"market/PUB\",\"payload\":\"' + 'x' * $MAX + '\"}')")
post pub_big /api/publish "$PUBLISHER" "$BIG"
expect "a body over --max-message-size gets 413" refused pub_big 413
pub feed "$PUBLISHER" market/PUB 'sentinel'
wait_until 10 got spy 'market/PUB sentinel'
expect "none of the refused publishes reached the broker (an ops subscriber on # saw none)" \
	eval 'got spy "market/PUB {\"type\":\"price_update\",\"mark\":\"via-http\"}" &&
		! grep -q "from-alice\|anon\|nowhere\|wild\|forged\|xxxx" "$T_DIR/spy.out"'

# ---- POST /api/broadcast/{kind} -------------------------------------------------------------------------
wsc nalice "$WS/ws?token=$ALICE" --send '{"type":"subscribe","channel":"notifications"}' --timeout 60
wsc nbob "$WS/ws?token=$BOB" --send '{"type":"subscribe","channel":"notifications"}' --timeout 60
wsc price "$WS/ws?token=$BOB" --send '{"type":"subscribe","channel":"ticker","ticker":"BRDC"}' --timeout 60
wait_until 10 has nalice '"action":"subscribed"'
wait_until 10 has nbob '"action":"subscribed"'
wait_until 10 has price '"action":"subscribed"'
wait_until 10 grep -qF "	user/alice/notifications (QoS" "$T_DIR/broker.log"
wait_until 10 grep -qF "	user/bob/notifications (QoS" "$T_DIR/broker.log"
wait_until 10 grep -qF "	market/BRDC (QoS" "$T_DIR/broker.log"
post bc_note /api/broadcast/notification "$NOTIFIER" \
	'{"user_id":"alice","title":"For alice","message":"only you"}'
expect "POST /api/broadcast/notification answers 200, published to the user's topic" \
	eval '[ "$(status bc_note)" = 200 ] && is bc_note "J[\"topic\"]" user/alice/notifications'
expect "that user's WebSocket client gets it as a notification" \
	wait_until 10 has nalice '"type":"notification"' '"title":"For alice"' '"message":"only you"' \
	'"topic":"user/alice/notifications"'
post bc_note2 /api/broadcast/notification "$NOTIFIER" '{"user_id":"bob","title":"For bob","message":"yours"}'
wait_until 10 has nbob '"title":"For bob"'
expect "another user's client does not get it" lacks nbob 'For alice'
post bc_price /api/broadcast/price "$PUBLISHER" '{"ticker":"BRDC","price":42,"change":1}'
expect "POST /api/broadcast/price reaches a market subscriber as a price_update" \
	wait_until 10 has price '"type":"price_update"' '"ticker":"BRDC"' '"price":42' '"topic":"market/BRDC"'
post bc_user /api/broadcast/notification "$ALICE" '{"user_id":"bob","title":"spoof","message":"x"}'
expect "a plain user may not broadcast (403)" refused bc_user 403
post bc_unknown /api/broadcast/weather "$PUBLISHER" '{"city":"Oslo"}'
expect "an unknown broadcast kind gets 404" refused bc_unknown 404
post bc_nouser /api/broadcast/notification "$NOTIFIER" '{"title":"to whom?"}'
expect "a notification without user_id gets 400" refused bc_nouser 400
post bc_huge /api/broadcast/notification "$NOTIFIER" '{"user_id":1e300,"title":"huge"}'
expect "a user_id number that is no exact integer gets 400" refused bc_huge 400
wait_until 10 has nalice '"title":"For alice"'
expect "and nothing refused reached anyone" eval 'lacks nbob spoof && lacks nalice spoof'

# ---- POST /api/calculations ------------------------------------------------------------------------------
sub_start worker worker "$CALC" '$share/calc/calc/+/request'
post calc /api/calculations "$ALICE" '{"calculation_type":"npv","parameters":{"rate":0.1}}'
CID=$(json calc 'J.get("calculation_id", "")')
expect "POST /api/calculations with a user token answers 202 with a calculation_id" \
	eval '[ "$(status calc)" = 202 ] && [ -n "$CID" ]'
expect "a calc worker gets the request, with the requesting user" \
	wait_until 10 eval "has worker 'calc/alice~$CID/request' '\"user_id\":\"alice\"' '\"calculation_type\":\"npv\"' '\"calculation_id\":\"$CID\"'"
post calc_anon /api/calculations "" '{"calculation_type":"npv","parameters":{}}'
expect "without a token it gets 401" refused calc_anon 401
post calc_bad /api/calculations "$ALICE" '{"parameters":{}}'
expect "without a calculation_type it gets 400" refused calc_bad 400

# ---- unknown paths, methods, CORS preflight ------------------------------------------------------------
req unknown "$HTTP/api/nope"
expect "an unknown API path gets a 404 JSON error" refused unknown 404
req unknown2 "$HTTP/no/such/page"
expect "an unknown page gets a 404 JSON error" refused unknown2 404
req health_post -X POST -d '{}' "$HTTP/health"
expect "POST /health gets 405" refused health_post 405
req options -X OPTIONS -H 'Origin: http://example.com' -H 'Access-Control-Request-Method: POST' \
	-H 'Access-Control-Request-Headers: authorization, content-type' "$HTTP/api/publish"
expect "an OPTIONS preflight gets 204 with Access-Control-Allow-Origin" \
	eval '[ "$(status options)" = 204 ] && [ -n "$(header options access-control-allow-origin)" ]'
expect "allowing POST and the Authorization header" \
	eval '[[ "$(header options access-control-allow-methods)" == *POST* ]] && [[ "$(header options access-control-allow-headers)" == *Authorization* ]]'
expect "CORS echoes the allowed origin, not *" \
	eval '[ "$(header options access-control-allow-origin)" = http://example.com ] && [ "$(header options vary)" = Origin ]'
req options_bad -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST' \
	"$HTTP/api/publish"
expect "a preflight from an origin not in allowed_origins gets 403 and no CORS header" \
	eval '[ "$(status options_bad)" = 403 ] && [ -z "$(header options_bad access-control-allow-origin)" ] && grep -q "not allowed" "$T_DIR/options_bad.out"'
post evil_post /api/publish "$ALICE" '{"topic":"rooms/x","payload":"csrf"}' -H 'Origin: http://evil.example'
expect "a POST from a foreign origin is refused with 403 before it acts" refused evil_post 403
req evil_get -H 'Origin: http://evil.example' "$HTTP/health"
expect "a GET from a foreign origin is answered without CORS headers" \
	eval '[ "$(status evil_get)" = 200 ] && [ -z "$(header evil_get access-control-allow-origin)" ]'
req same_get -H "Origin: $HTTP" "$HTTP/health"
expect "the adapter's own origin is always allowed" \
	eval '[ "$(header same_get access-control-allow-origin)" = "$HTTP" ]'

# ---- the broker goes away and comes back ---------------------------------------------------------------
wsc survivor "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/SURV","policy":"queue"}' \
	--timeout 100
wait_until 10 has survivor '"action":"subscribed"'
wait_until 10 grep -qF "	market/SURV (QoS" "$T_DIR/broker.log"
stop "$BROKER_PID"
expect "with the broker stopped, /health answers 503 with the broker disconnected" \
	wait_until 20 health_is 503 disconnected
expect "and its status is no longer ok" is health 'J["status"] != "ok"' True
req stats_down "$HTTP/api/stats"
expect "/api/stats shows the broker state" is stats_down 'J["broker"]["state"] in ("disconnected", "connecting")' True
post pub_down /api/publish "$PUBLISHER" '{"topic":"market/SURV","payload":{"mark":"while-down"}}'
expect "POST /api/publish while the broker is down gets 503" refused pub_down 503
# start_broker writes a fresh broker.log: keep the old one under another name.
mv "$T_DIR/broker.log" "$T_DIR/broker-before-restart.log"
start_broker
expect "after the broker is back, /health answers 200 connected again" \
	wait_until 30 health_is 200 connected
expect "the adapter subscribes its clients' filters again" \
	wait_until 10 grep -qF "	market/SURV (QoS" "$T_DIR/broker.log"
pub feed "$PUBLISHER" market/SURV '{"type":"price_update","mark":"after-restart"}'
expect "and a client subscribed before the outage receives new messages (subscriptions restored)" \
	wait_until 10 has survivor '"mark":"after-restart"'

# ---- SIGTERM, then stats_access ops ---------------------------------------------------------------------
# The adapter has a dozen broker subscriptions here; SPEC (Shutdown): "MQTT
# disconnects cleanly".
kill -TERM "$ADAPTER_PID"
wait "$ADAPTER_PID"
expect "the adapter exits 0 on SIGTERM" test $? -eq 0
wait_until 10 grep -q "Client rtg-adapter-[^ ]* \(disconnected\|closed its connection\)" "$T_DIR/broker.log"
clean_disconnect() {
	IS_LAST="the broker logged: $(grep -E "rtg-adapter-[^ ]* (disconnected|closed)|DISCONNECT from rtg-adapter" \
		"$T_DIR/broker.log" | tr '\n' ' ')"
	grep -q "Received DISCONNECT from rtg-adapter-" "$T_DIR/broker.log" &&
		! grep -q "Client rtg-adapter-[^ ]* disconnected: " "$T_DIR/broker.log"
}
expect "on SIGTERM the adapter ends its MQTT connection cleanly, with a DISCONNECT" clean_disconnect
# start_adapter's wait for the "listening" line could read the old log before the
# new process truncates it: keep the old log under another name.
mv "$T_DIR/adapter.log" "$T_DIR/adapter-before-restart.log"
start_adapter --stats-access ops
for path in /api/stats /ws/stats /metrics; do
	n=ops${path//\//_}
	req "$n" "$HTTP$path"
	expect "with --stats-access ops, $path without a token gets 403 even from loopback" refused "$n" 403
	req "${n}_user" -H "Authorization: Bearer $ALICE" "$HTTP$path"
	expect "with --stats-access ops, $path with a user token gets 403" refused "${n}_user" 403
	req "${n}_ops" -H "Authorization: Bearer $OPS" "$HTTP$path"
	expect "with --stats-access ops, $path with an ops token gets 200" eval "[ \"\$(status ${n}_ops)\" = 200 ]"
done
expect "and the ops token gets the figures" is ops_api_stats_ops 'J["broker"]["state"]' connected

finish
