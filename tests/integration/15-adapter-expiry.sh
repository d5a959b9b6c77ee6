#!/bin/bash
# 15-adapter-expiry: a token that expires on a live WebSocket. The client is
# warned ahead (auth_expiring), may refresh in band with {"type":"auth"}, and
# is otherwise closed with 4001; a refresh for another subject is refused.
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

finish
