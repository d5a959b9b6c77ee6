#!/bin/bash
# 15-adapter-expiry: a token that expires on a live WebSocket. The client is
# warned ahead (auth_expiring), may refresh in band with {"type":"auth"}, and
# is otherwise closed with 4001; a refresh for another subject is refused.
# Last, with the same leeway on broker and adapter, one token ends at the same
# moment (exp + leeway) on MQTT, WebSocket and SSE.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter --jwt-leeway 0

# The warning comes 60 s ahead, so a 3 s token is warned at once.
wsc short "$WS/ws?token=$(token alice "" 3)" --timeout 15
check "a client is warned before its token expires" \
	wait_until 10 has short '"type":"auth_expiring"' '"expires_in":'
check "at expiry the connection closes with 4001" \
	wait_until 10 has short '"code": 4001' 'token expired'

# Refreshing in band keeps the connection.
FRESH=$(token alice "" 3600)
OLD_EXP=$(($(date +%s) + 3))
wsc refresh "$WS/ws?token=$(token alice "" 3)" \
	--send-after 2 "{\"type\":\"auth\",\"token\":\"$FRESH\"}" \
	--send-after 3 '{"type":"ping"}' --timeout 12
REFRESH_PID=$WSC_PID
check "a refresh is confirmed" wait_until 10 has refresh '"type":"auth"' '"status":"refreshed"'
check "the refreshed connection stays usable past the old expiry" \
	wait_until 10 has refresh '"type":"pong"'
past() { [ "$(date +%s)" -ge "$1" ]; }
wait_until 10 past $((OLD_EXP + 2))
check "and is not closed at the old expiry" eval \
	'lacks refresh "\"code\": 4001" && kill -0 "$REFRESH_PID" 2>/dev/null'

# A refresh for another user is refused and changes nothing.
wsc other "$WS/ws?token=$(token alice)" \
	--send-after 1 "{\"type\":\"auth\",\"token\":\"$(token bob)\"}" --send-after 2 '{"type":"ping"}' \
	--timeout 10
check "a refresh with another subject is refused" \
	wait_until 10 has other '"type":"error"' 'another subject'
check "and the connection stays" wait_until 10 has other '"type":"pong"'

# ---- one token, the same end on MQTT, WebSocket and SSE ----------------------------
# Broker and adapter with leeway 3 and a token of 2 s: all three connections must end
# at exp + 3, within about a second of each other (each side checks once a second).
# Before, the adapter ended at exp and the broker at exp + leeway, 3 s apart.
LW=3
stop "$ADAPTER_PID"
stop "$BROKER_PID"
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf" "plugin_opt_jwt_leeway $LW"
start_broker
start_adapter --jwt-leeway "$LW"

# ended NAME CMD...: runs CMD in the background; when it ends, the time goes to NAME.end.
ended() {
	local name=$1
	shift
	rm -f "$T_DIR/$name.end"
	("$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err"; date +%s.%N >"$T_DIR/$name.end") &
	T_PIDS+=($!)
}
TOK=$(token alice "" 2)
EXP=$("$PY" -c 'import base64, json, sys
p = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["exp"])' "$TOK")
ended lw-mqtt mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -V mqttv5 -u alice -P "$TOK" \
	-i lw-mqtt -t market/lw -d -W 30
ended lw-ws "$PY" "$RTG_ROOT/tests/integration/ws_client.py" "$WS/ws?token=$TOK" --timeout 30
ended lw-sse curl -s -N --max-time 30 -H "Authorization: Bearer $TOK" "$HTTP/sse?topic=market/lw"
all_ended() { [ -s "$T_DIR/lw-mqtt.end" ] && [ -s "$T_DIR/lw-ws.end" ] && [ -s "$T_DIR/lw-sse.end" ]; }
check "MQTT, WebSocket and SSE connections of one token all end" wait_until 25 all_ended
check "each was connected (MQTT 5 DISCONNECT, 4001, auth_expired)" eval \
	"grep -q 'Received DISCONNECT (152)' '$T_DIR/lw-mqtt.out' &&
	 has lw-ws '\"code\": 4001' 'token expired' && file_has '$T_DIR/lw-sse.out' 'event: auth_expired'"
# same_end: every end lies in [exp + LW - 0.2, exp + LW + 2.5] and the three within 1.5 s.
same_end() {
	"$PY" - "$EXP" "$LW" "$T_DIR"/lw-{mqtt,ws,sse}.end <<'PY'
import sys
end = float(sys.argv[1]) + float(sys.argv[2])
t = {p.rsplit("/", 1)[1]: float(open(p).read()) for p in sys.argv[3:]}
print("# ends relative to exp + leeway:", {k: round(v - end, 2) for k, v in t.items()})
ok = all(end - 0.2 <= v <= end + 2.5 for v in t.values()) and max(t.values()) - min(t.values()) <= 1.5
sys.exit(0 if ok else 1)
PY
}
check "they end at exp + leeway, within about a second of each other" same_end

finish
