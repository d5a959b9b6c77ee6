#!/bin/bash
# 24-adapter-key-rotation: rotating the adapter's keys through a JWKS file,
# with HS256 and with RS256, for WebSocket and SSE sessions.
#
# The adapter starts with key A in jwt_jwks_file. A WebSocket and an SSE
# session with A's tokens stay through a SIGHUP that adds B; B's tokens then
# work; a kid outside the set is refused (4001 / 401). Removing A ends A's
# sessions with a reason (WebSocket: close 4001 "token key removed"; SSE: an
# auth_revoked event, then the end of the stream) and only them: B's sessions
# keep receiving. A broken JWKS on SIGHUP keeps the keys there were. The
# broker keeps its own key (the fixture secret) throughout.
. "$(dirname "$0")/lib.sh"

TK=$RTG_BUILD/rtg-token
JWKS=$T_DIR/keys.json
PUB_TOKEN=

# key_args KEYFILE: the rtg-token option for a secret file or a PEM key.
key_args() {
	case $1 in
	*.pem) echo --key-file "$1" ;;
	*) echo --secret-file "$1" ;;
	esac
}

# ktok KEYFILE KID SUB: a token signed with KEYFILE, its header naming KID.
ktok() {
	# shellcheck disable=SC2046 # key_args gives two words on purpose
	"$TK" --sub "$3" --kid "$2" $(key_args "$1")
}

# reload_adapter: SIGHUP, then waits for the outcome in the log; 0 reloaded, 1 refused.
reload_adapter() {
	local log=$T_DIR/adapter.log before
	before=$(grep -c "reloaded keys\|reload failed" "$log")
	kill -HUP "$ADAPTER_PID"
	wait_until 10 eval '[ "$(grep -c "reloaded keys\|reload failed" "$log")" -gt "$before" ]' ||
		return 2
	grep "reloaded keys\|reload failed" "$log" | tail -n 1 | grep -q "reloaded keys"
}

# sse NAME TOKEN: an SSE stream of market/rot with curl -N; the body in NAME.out.
sse() {
	: >"$T_DIR/$1.out"
	curl -s -N --max-time 100 -H "Authorization: Bearer $2" "$HTTP/sse?topic=market/rot" \
		>"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
	SSE_PID=$!
	T_PIDS+=("$SSE_PID")
}

# ws NAME TOKEN: a WebSocket session subscribed to market/rot. Sets WSC_PID.
ws() {
	wsc "$1" "$WS/ws?token=$2" --send '{"type":"subscribe","topic":"market/rot"}' --timeout 100
}

# publish WORD: a market/rot message through the broker; every live session should get it.
publish() {
	pub op "$PUB_TOKEN" market/rot "{\"word\":\"$1\"}"
}

# got_word NAME WORD: the session NAME received the message with WORD.
got_word() {
	file_has "$T_DIR/$1.out" "\"word\":\"$2\""
}

rotation() {
	local n=$1 key_a=$2 key_b=$3 A B code WA_PID SA_PID WB_PID
	rm -f "$JWKS"
	"$TK" --jwks-add "$JWKS" --kid A $(key_args "$key_a") || return 1
	start_adapter --jwt-jwks-file "$JWKS"
	A=$(ktok "$key_a" A alice)

	ws "$n-wa" "$A"
	WA_PID=$WSC_PID
	sse "$n-sa" "$A"
	SA_PID=$SSE_PID
	check "$n: a WebSocket and an SSE session with key A's token connect" wait_until 10 eval \
		"has $n-wa '\"type\":\"subscription\"' && file_has '$T_DIR/$n-sa.out' 'event: connection'"

	"$TK" --jwks-add "$JWKS" --kid B $(key_args "$key_b")
	check "$n: SIGHUP adds key B" reload_adapter
	publish one
	check "$n: A's sessions stay through the reload and still receive" \
		wait_until 10 eval "got_word $n-wa one && got_word $n-sa one"
	check "$n: and nothing was closed" eval \
		"lacks $n-wa '\"code\": 4001' && lacks $n-sa 'auth_revoked' && kill -0 $SA_PID"

	B=$(ktok "$key_b" B bob)
	ws "$n-wb" "$B"
	WB_PID=$WSC_PID
	sse "$n-sb" "$B"
	check "$n: sessions with key B's token connect" wait_until 10 eval \
		"has $n-wb '\"type\":\"subscription\"' && file_has '$T_DIR/$n-sb.out' 'event: connection'"
	wsc "$n-wc" "$WS/ws?token=$(ktok "$key_b" C carol)" --timeout 10
	check "$n: a token whose kid is not in the set is refused with 4001" \
		wait_until 10 has "$n-wc" '"code": 4001'
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		-H "Authorization: Bearer $(ktok "$key_b" C carol)" "$HTTP/sse?topic=market/rot")
	if [ "$code" = 401 ]; then ok "$n: and with 401 on SSE"; else
		not_ok "$n: and with 401 on SSE" "got $code"; fi

	"$TK" --jwks-remove "$JWKS" --kid A
	check "$n: SIGHUP removes key A" reload_adapter
	check "$n: A's WebSocket closes with 4001 'token key removed'" wait_until 10 eval \
		"has $n-wa '\"code\": 4001' 'token key removed' && ! kill -0 $WA_PID 2>/dev/null"
	check "$n: A's SSE stream gets auth_revoked and ends" wait_until 10 eval \
		"file_has '$T_DIR/$n-sa.out' 'event: auth_revoked' && ! kill -0 $SA_PID 2>/dev/null"
	check "$n: the log says why" file_has "$T_DIR/adapter.log" \
		"ending a session of 'alice': the key of its token (kid 'A'"
	publish two
	check "$n: B's sessions stay and keep receiving" \
		wait_until 10 eval "got_word $n-wb two && got_word $n-sb two"
	check "$n: A's sessions got nothing more" eval "! got_word $n-wa two && ! got_word $n-sa two"
	check "$n: B's WebSocket was not closed" eval "kill -0 $WB_PID && lacks $n-wb '\"code\"'"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		-H "Authorization: Bearer $A" "$HTTP/sse?topic=market/rot")
	if [ "$code" = 401 ]; then ok "$n: a token of the removed key is refused"; else
		not_ok "$n: a token of the removed key is refused" "got $code"; fi

	echo '{"keys": [' >"$JWKS"
	reload_adapter
	if [ $? -eq 1 ]; then ok "$n: a broken JWKS is refused on SIGHUP"; else
		not_ok "$n: a broken JWKS is refused on SIGHUP"; fi
	check "$n: and the log says why" file_has "$T_DIR/adapter.log" "jwks_file $JWKS: not a JWKS"
	publish three
	check "$n: the keys there were stay: B's sessions still receive" \
		wait_until 10 eval "got_word $n-wb three && got_word $n-sb three"
	stop "$ADAPTER_PID"
}

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
PUB_TOKEN=$(token op publisher)
rotation hs256 "$RTG_FIXTURES/hs_other_secret.txt" "$RTG_FIXTURES/hs_secret.txt"
rotation rs256 "$RTG_FIXTURES/rsa_private.pem" "$RTG_FIXTURES/rsa_other_private.pem"

finish
