#!/bin/bash
# 01-plugin-auth: the plugin authenticates MQTT clients by JWT (password = token).
#
# A real mosquitto with the plugin on a free port; mosquitto_pub/sub as clients.
# Valid tokens connect; bad signature, expired, garbage, alg:none, oversized,
# missing tokens and a username that is not the token's sub are refused with
# "not authorised"; tokens never reach the log; a token that expires on a live
# connection gets the client disconnected.
. "$(dirname "$0")/lib.sh"

cat >"$T_DIR/acl.conf" <<'EOF'
topic read market/#
pattern readwrite user/%u/#
EOF
broker_conf "$(free_port)" "$T_DIR/acl.conf" "plugin_opt_jwt_leeway 0"
start_broker

ALICE=$(token alice)

# refused USER PASSWORD: connecting is refused with "not authorised".
refused() {
	local err
	err=$(mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u "$1" -P "$2" -t user/x/y -m m 2>&1)
	[ $? -ne 0 ] && [[ "$err" == *"not authorised"* ]]
}

check "a valid token connects" pub alice "$ALICE" user/alice/ping hello
check "a token signed with another secret is refused" \
	refused alice "$("$RTG_BUILD/rtg-token" --sub alice --secret-file "$RTG_FIXTURES/hs_other_secret.txt")"
check "an expired token is refused" refused alice "$(token alice "" -60)"
check "a garbage token is refused" refused alice "not-a-jwt"
check "an empty-signature token is refused" refused alice "${ALICE%.*}."

NONE_TOKEN=$(python3 - <<'PY'
import base64, json, time
b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
print(b64({"alg": "none", "typ": "JWT"}) + "." + b64({"sub": "alice", "exp": int(time.time()) + 600}) + ".")
PY
)
check "an alg:none token is refused" refused alice "$NONE_TOKEN"
check "a token over 8 KiB is refused" refused alice "$(token alice "$(printf 'r%.0s,' {1..3000})x")"
check "a username other than the token's sub is refused" refused bob "$ALICE"

err=$(mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u alice -t user/alice/x -m m 2>&1)
if [ $? -ne 0 ] && [[ "$err" == *"not authorised"* ]]; then
	ok "a client without a password is refused"
else
	not_ok "a client without a password is refused" "$err"
fi

# MQTT 5 allows a password without a username: the broker's username becomes sub.
if mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -V mqttv5 -P "$ALICE" -q 1 -t user/alice/v5 -m m \
	2>>"$T_DIR/clients.log"; then
	ok "an MQTT 5 client may omit the username"
else
	not_ok "an MQTT 5 client may omit the username"
fi

if wait_until 5 file_has "$T_DIR/broker.log" "refused client" &&
	file_has "$T_DIR/broker.log" "token expired" &&
	file_has "$T_DIR/broker.log" "bad signature" &&
	file_has "$T_DIR/broker.log" "username does not match token subject"; then
	ok "refusals are logged with their reason"
else
	not_ok "refusals are logged with their reason"
fi
if grep -qF "${ALICE%%.*}" "$T_DIR/broker.log" || grep -qF "${ALICE##*.}" "$T_DIR/broker.log"; then
	not_ok "tokens never appear in the broker log"
else
	ok "tokens never appear in the broker log"
fi

# A live connection whose token expires is refused and disconnected.
SHORT=$(token carol "" 3)
if sub_start short carol "$SHORT" user/carol/# && sub_granted short; then
	ok "a short-lived token connects and subscribes"
else
	not_ok "a short-lived token connects and subscribes"
fi
if wait_until 15 eval '! kill -0 $SUB_PID 2>/dev/null' &&
	wait_until 5 file_has "$T_DIR/broker.log" "disconnecting client"; then
	ok "a client whose token expires is disconnected"
else
	not_ok "a client whose token expires is disconnected"
fi

finish
