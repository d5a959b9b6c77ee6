#!/bin/bash
# 27-tools: the tools agree with the servers they talk to.
#
# rtg-sub's exit status is the same for the same condition on WebSocket and
# SSE, against a real adapter: 3 for a bad, expired or missing token (4001,
# 401), 4 for a refused filter (a refused subscribe, 403), 0 at COUNT, 2 when
# nothing listens, 27 at -W, 5 when the server ends the stream before COUNT,
# 1 on a usage error; --help lists them. rtg-token refuses what the verifiers
# refuse (a short secret, a small RSA key, an unknown --alg) and says how to
# make a key; the commands it and the docs give (openssl rand for a secret,
# openssl genpkey for RSA 2048 and EC P-256, openssl pkey -pubout for the
# public half) are run here, and an adapter given those files accepts the
# tokens minted with them. rtg-adapter reports every config error at once.
. "$(dirname "$0")/lib.sh"

SUB=$RTG_BUILD/rtg-sub
TK=$RTG_BUILD/rtg-token

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter --auth-timeout 2

ALICE=$(token alice)
BAD=$("$TK" --sub alice --secret-file "$RTG_FIXTURES/hs_other_secret.txt")
EXPIRED=$(token alice "" -3600)

# run NAME [rtg-sub ARGS...]: runs rtg-sub in the foreground against the adapter
# (at most 15 s: a run that should have ended by itself then fails its status
# check), output in NAME.out/.err; sets RC.
run() {
	local name=$1
	shift
	"$SUB" -h 127.0.0.1 -p "$ADAPTER_PORT" -W 15 "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err"
	RC=$?
}

# status WANT NAME [rtg-sub ARGS...]: rtg-sub exits WANT (and says so when not).
status() {
	local want=$1 name=$2
	shift 2
	run "$name" "$@"
	if [ "$RC" = "$want" ]; then
		ok "rtg-sub $name: exit $want"
	else
		not_ok "rtg-sub $name: exit $want" "got $RC: $(tr '\n' ' ' <"$T_DIR/$name.err")"
	fi
}

SUB_FORBIDDEN='{"type":"subscribe","topic":"user/bob/alerts"}'
SUB_OWN='{"type":"subscribe","topic":"user/alice/alerts"}'

# ---- authentication: 3 on both transports --------------------------------------------------
status 3 ws-bad-token --token "$BAD" "$SUB_OWN"
check "the WebSocket was closed with 4001" has ws-bad-token '"_closed"' '4001'
status 3 sse-bad-token --sse --token "$BAD" --path '/sse?topic=market/AAPL'
check "the SSE request was answered 401" has sse-bad-token '"_http_error"' '401'
status 3 ws-expired-token --token "$EXPIRED" "$SUB_OWN"
status 3 sse-expired-token --sse --token "$EXPIRED" --path '/sse?topic=market/AAPL'
# a token-required endpoint without a token: closed after auth_timeout (2 s here)...
status 3 ws-no-token-required --path /ws/notifications
check "without a token it was the auth_timeout's 4001" has ws-no-token-required '4001'
# ...or told at once when it sends a request first
status 3 ws-no-token-request --path /ws/notifications '{"type":"ping"}'
check "the request was refused as not authenticated" has ws-no-token-request 'not authenticated'
# a "token upgrade" endpoint closes with 4001 at once
status 3 ws-no-token-upgrade --path /ws/trading/signals/
status 3 sse-no-token-required --sse --path /sse/notifications
# and --reconnect does not retry what would be refused again
status 3 ws-bad-token-reconnect --reconnect --token "$BAD" "$SUB_OWN"
status 3 sse-bad-token-reconnect --reconnect --sse --token "$BAD" --path '/sse?topic=market/AAPL'

# ---- authorisation: 4 on both transports ---------------------------------------------------
status 4 ws-forbidden-topic --token "$ALICE" "$SUB_FORBIDDEN"
check "the refusal is printed before the exit" has ws-forbidden-topic '"error"' 'not allowed'
status 4 sse-forbidden-topic --sse --token "$ALICE" --path '/sse?topic=user/bob/alerts'
check "the SSE request was answered 403" has sse-forbidden-topic '"_http_error"' '403'
status 4 ws-anonymous-forbidden "$SUB_OWN"
status 4 ws-forbidden-origin --token "$ALICE" --header 'Origin: http://evil.example'

# ---- the rest of the table -----------------------------------------------------------------
status 0 ws-count -C 2 --token "$ALICE" "$SUB_OWN"
check "COUNT lines were printed" has ws-count '"subscribed"'
status 0 sse-count -C 1 --sse --token "$ALICE" --path '/sse?topic=user/alice/alerts'
status 27 ws-wait -W 1 -C 1000 --token "$ALICE"
# -W 1 comes after run()'s -W 15 and wins
status 27 sse-wait -W 1 -C 1000 --sse --token "$ALICE" --path '/sse?topic=market/AAPL'
status 1 usage --bogus
CLOSED_PORT=$(free_port)
status 2 ws-nothing-listens -p "$CLOSED_PORT"
status 2 sse-nothing-listens -p "$CLOSED_PORT" --sse
status 2 sse-not-found --sse --path /nowhere
"$SUB" --help >"$T_DIR/help.out"
check "--help lists every exit status" eval 'for s in "  0 " "  1 " "  2 " "  3 " "  4 " "  5 " "  27 "; do grep -q "^$s" "$T_DIR/help.out" || exit 1; done'

# ---- rtg-token refuses what the verifiers refuse -------------------------------------------
printf 'short12\n' >"$T_DIR/short_secret"
"$TK" --sub alice --secret-file "$T_DIR/short_secret" >"$T_DIR/tk-short.out" 2>"$T_DIR/tk-short.err"
RC=$?
check "rtg-token refuses a 7-byte secret (exit 1, no token)" \
	eval '[ "$RC" = 1 ] && [ ! -s "$T_DIR/tk-short.out" ]'
check "in the verifier's words, with how to make one" grep -qF \
	"short_secret: HS256 needs a secret of at least 32 bytes, not 7; make one with: (umask 077 && openssl rand -hex 32 > $T_DIR/short_secret)" \
	"$T_DIR/tk-short.err"
timeout 20 "$RTG_BUILD/rtg-adapter" --http-port 0 --mqtt-port "$BROKER_PORT" --mqtt-token-file "$T_DIR/adapter.token" \
	--jwt-secret-file "$T_DIR/short_secret" --acl-file "$RTG_ROOT/acl/acl.conf" \
	--profiles-file "$RTG_ROOT/profiles/gateway.conf" >"$T_DIR/short-adapter.out" 2>&1
check "the adapter refuses that secret with the same words" \
	grep -q "HS256 needs a secret of at least 32 bytes, not 7" "$T_DIR/short-adapter.out"
for bad in HS999 none; do
	"$TK" --sub alice --secret-file "$RTG_SECRET_FILE" --alg "$bad" >/dev/null 2>"$T_DIR/tk-alg.err"
	RC=$?
	check "rtg-token refuses --alg $bad" eval '[ "$RC" = 1 ] && grep -q "not an algorithm" "$T_DIR/tk-alg.err"'
done
SECRET=$T_DIR/run/jwt_secret
mkdir -p "$T_DIR/run"
"$TK" --sub alice --secret-file "$SECRET" >/dev/null 2>"$T_DIR/tk-missing.err"
RC=$?
check "a missing secret file: exit 1, the reason and the command that makes one" eval \
	'[ "$RC" = 1 ] && [ "$(wc -l <"$T_DIR/tk-missing.err")" = 1 ] && grep -qF "jwt_secret: No such file or directory; make one with: (umask 077 && openssl rand -hex 32 > $SECRET)" "$T_DIR/tk-missing.err"'

# The commands of the docs, as written there (with the paths of this test).
(umask 077 && openssl rand -hex 32 >"$SECRET")
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_DIR/private.pem" 2>/dev/null
openssl pkey -in "$T_DIR/private.pem" -pubout -out "$T_DIR/public.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T_DIR/ec_private.pem"
openssl pkey -in "$T_DIR/ec_private.pem" -pubout -out "$T_DIR/ec_public.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T_DIR/small.pem" 2>/dev/null

"$TK" --sub alice --key-file "$T_DIR/small.pem" >"$T_DIR/tk-small.out" 2>"$T_DIR/tk-small.err"
RC=$?
check "rtg-token refuses a 1024-bit RSA key, as the verifiers do" \
	eval '[ "$RC" = 1 ] && grep -q "RSA key of 1024 bits, below 2048" "$T_DIR/tk-small.err"'
"$TK" --sub alice --key-file "$T_DIR/ec_private.pem" --alg RS256 >/dev/null 2>"$T_DIR/tk-fam.err"
RC=$?
check "rtg-token refuses an EC key for RS256" \
	eval '[ "$RC" = 1 ] && grep -q "RS256 needs an RSA key, not an EC key" "$T_DIR/tk-fam.err"'

HS=$("$TK" --sub alice --secret-file "$SECRET")
RS=$("$TK" --sub alice --key-file "$T_DIR/private.pem" --alg RS256)
ES=$("$TK" --sub alice --key-file "$T_DIR/ec_private.pem" --alg ES256)
ES_AUTO=$("$TK" --sub alice --key-file "$T_DIR/ec_private.pem")
check "without --alg an EC P-256 key signs ES256" \
	eval '[ "$(printf %s "$ES_AUTO" | cut -d. -f1 | base64 -d 2>/dev/null)" = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}" ]'

# A broker and an adapter with the made secret (the adapter's own MQTT token is signed with
# it, and checked by both), the adapter also with the RSA public key, accept both tokens...
stop "$ADAPTER_PID"
stop "$BROKER_PID"
RTG_SECRET_FILE=$SECRET
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter --jwt-public-key-file "$T_DIR/public.pem"
status 0 hs-new-secret -C 1 --token "$HS"
check "the HS256 token of the made secret is alice's" has hs-new-secret '"user_id":"alice"'
status 0 rs256-made-key -C 1 --sse --token "$RS" --path '/sse?topic=market/AAPL'
check "the RS256 token of the made key is alice's" has rs256-made-key '"user_id":"alice"'
# ...and no longer one of the fixture secret (so it did check the new one)
status 3 old-secret-refused --token "$ALICE" "$SUB_OWN"
stop "$ADAPTER_PID"
start_adapter --jwt-public-key-file "$T_DIR/ec_public.pem" --jwt-leeway 0
status 0 es256-made-key -C 1 --token "$ES"
check "the ES256 token of the made key is alice's" has es256-made-key '"user_id":"alice"'
status 0 es256-auto -C 1 --sse --token "$ES_AUTO" --path '/sse?topic=market/AAPL'
# a token that expires while connected: 4001 on a WebSocket, auth_expired on SSE; both 3
status 3 ws-token-expires --token "$("$TK" --sub alice --key-file "$T_DIR/ec_private.pem" --ttl 2)" "$SUB_OWN"
check "the WebSocket was closed with 4001 token expired" has ws-token-expires '4001' 'expired'
status 3 sse-token-expires --sse --token "$("$TK" --sub alice --key-file "$T_DIR/ec_private.pem" --ttl 2)" \
	--path '/sse?topic=market/AAPL'
check "the SSE stream ended with auth_expired" has sse-token-expires '"event":"auth_expired"'

# ---- 5: the server ends the connection before COUNT (the adapter stops) ------------------
rsub ws-end -C 1000 -W 20 --token "$ES" "$SUB_OWN"
WS_END=$RSUB_PID
rsub sse-end -C 1000 -W 20 --sse --token "$ES" --path '/sse?topic=market/AAPL'
SSE_END=$RSUB_PID
wait_until 10 has ws-end '"subscribed"'
wait_until 10 has sse-end '"connection"'
stop "$ADAPTER_PID"
wait "$WS_END"
RC=$?
check "rtg-sub -C exits 5 when the adapter closes the WebSocket (1001)" eval '[ "$RC" = 5 ]'
wait "$SSE_END"
RC=$?
check "rtg-sub -C exits 5 when the adapter ends the SSE stream" eval '[ "$RC" = 5 ]'

# ---- rtg-adapter reports every config error at once ----------------------------------------
printf 'http_port abc\nfoo bar\nlog_level loud\n' >"$T_DIR/bad.conf"
timeout 20 "$RTG_BUILD/rtg-adapter" -c "$T_DIR/bad.conf" --jwt-leeway -1 >"$T_DIR/badconf.out" 2>&1
RC=$?
check "rtg-adapter: a bad config exits 1" eval '[ "$RC" = 1 ]'
check "every error of the file and the flags is reported at once" eval \
	'grep -q "bad.conf:1: http_port: .abc. is not a number" "$T_DIR/badconf.out" &&
	 grep -q "bad.conf:2: unknown option .foo." "$T_DIR/badconf.out" &&
	 grep -q "bad.conf:3: log_level: .loud. is not one of" "$T_DIR/badconf.out" &&
	 grep -q "^--jwt-leeway: -1 is out of range 0-3600" "$T_DIR/badconf.out" &&
	 grep -q "^acl_file is required" "$T_DIR/badconf.out"'

finish
