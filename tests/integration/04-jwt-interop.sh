#!/bin/bash
# 04-jwt-interop: tokens from an independent implementation (Debian's
# python3-jwt, PyJWT) are accepted by the plugin, and PyJWT accepts ours,
# for HS256, RS256 and ES256. HS/RS confusion and alg:none made by hand are
# refused by a broker that allows both HS256 and RS256.
. "$(dirname "$0")/lib.sh"

cat >"$T_DIR/acl.conf" <<'EOF'
pattern readwrite user/%u/#
EOF
broker_conf "$(free_port)" "$T_DIR/acl.conf" \
	"plugin_opt_jwt_public_key_file $RTG_FIXTURES/rsa_public.pem
plugin_opt_jwt_algorithms HS256,RS256"
start_broker
RSA_PORT=$BROKER_PORT

# pyjwt_sign ALG KEYFILE [strip-newline]: a PyJWT token for sub=alice, roles=[ops].
pyjwt_sign() {
	"$PY" - "$@" <<'PY'
import sys, time, jwt
alg, keyfile = sys.argv[1], sys.argv[2]
key = open(keyfile, "rb").read()
if alg.startswith("HS"):
    key = key.rstrip(b"\n")
now = int(time.time())
print(jwt.encode({"sub": "alice", "roles": ["ops"], "iat": now, "exp": now + 300}, key, algorithm=alg))
PY
}

# pyjwt_verify TOKEN ALG KEYFILE: PyJWT verifies TOKEN and prints its sub and roles.
pyjwt_verify() {
	"$PY" - "$@" <<'PY'
import sys, jwt
tok, alg, keyfile = sys.argv[1:4]
key = open(keyfile, "rb").read()
if alg.startswith("HS"):
    key = key.rstrip(b"\n")
c = jwt.decode(tok, key, algorithms=[alg])
print(c["sub"], ",".join(c.get("roles", [])))
PY
}

# accepted TOKEN: the broker on $BROKER_PORT lets alice in with TOKEN.
accepted() {
	pub alice "$1" user/alice/interop hello
}

refused() {
	local err
	err=$(mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u alice -P "$1" -t user/alice/x -m m 2>&1)
	[ $? -ne 0 ] && [[ "$err" == *"not authorised"* ]]
}

check "a PyJWT HS256 token is accepted" accepted "$(pyjwt_sign HS256 "$RTG_SECRET_FILE")"
check "a PyJWT RS256 token is accepted" \
	accepted "$(pyjwt_sign RS256 "$RTG_FIXTURES/rsa_private.pem")"

ours=$("$RTG_BUILD/rtg-token" --sub alice --roles ops,calc --secret-file "$RTG_SECRET_FILE")
out=$(pyjwt_verify "$ours" HS256 "$RTG_SECRET_FILE" 2>&1)
check "PyJWT verifies our HS256 token" test "$out" = "alice ops,calc"
ours=$("$RTG_BUILD/rtg-token" --sub alice --roles ops --key-file "$RTG_FIXTURES/rsa_private.pem" \
	--alg RS256)
out=$(pyjwt_verify "$ours" RS256 "$RTG_FIXTURES/rsa_public.pem" 2>&1)
check "PyJWT verifies our RS256 token" test "$out" = "alice ops"
check "the broker accepts our RS256 token" accepted "$ours"

# HS256 signed with the RSA public key as the HMAC secret: the classic confusion.
CONFUSED=$("$PY" - "$RTG_FIXTURES/rsa_public.pem" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = open(sys.argv[1], "rb").read()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "alice", "exp": int(time.time()) + 300}).encode())
sig = hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest()
print(head + "." + body + "." + b64(sig))
PY
)
check "an HS256 token signed with the RSA public key is refused" refused "$CONFUSED"
check "a PyJWT RS256 token signed with another key is refused" \
	refused "$(pyjwt_sign RS256 "$RTG_FIXTURES/rsa_other_private.pem")"
check "a PyJWT ES256 token is refused where ES256 is not allowed" \
	refused "$(pyjwt_sign ES256 "$RTG_FIXTURES/ec_private.pem")"

# ES256 on a broker configured with the EC public key.
stop "$BROKER_PID"
broker_conf "$(free_port)" "$T_DIR/acl.conf" \
	"plugin_opt_jwt_public_key_file $RTG_FIXTURES/ec_public.pem
plugin_opt_jwt_algorithms ES256"
start_broker
check "a PyJWT ES256 token is accepted" accepted "$(pyjwt_sign ES256 "$RTG_FIXTURES/ec_private.pem")"
ours=$("$RTG_BUILD/rtg-token" --sub alice --roles ops --key-file "$RTG_FIXTURES/ec_private.pem" \
	--alg ES256)
out=$(pyjwt_verify "$ours" ES256 "$RTG_FIXTURES/ec_public.pem" 2>&1)
check "PyJWT verifies our ES256 token" test "$out" = "alice ops"
check "the broker accepts our ES256 token" accepted "$ours"
check "an HS256 token is refused where only ES256 is allowed" refused "$(token alice)"

finish
