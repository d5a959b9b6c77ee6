#!/bin/bash
# 30-broker-conf: README's mosquitto.conf snippet, pasted, starts the broker.
#
# The ```conf block of README's "The Mosquitto plugin" is written to a file as
# it is, but for its paths and port: /etc/rtg/ -> this test's directory (the
# fixture keys, the repository's ACL), /path/to/build/ -> the build, 1883 -> a
# free port (printed). Mosquitto starts with the plugin, and each option's
# value is the one written: the issuer and audience are required, the leeway
# is 30 s, both key files and the JWKS file are loaded. The README's warning
# holds: the same line with a trailing "# comment" stops the broker. Run as
# root, as README says: mosquitto becomes user "mosquitto", which cannot read
# a root-only secret; after README's chgrp/chmod it can.
. "$(dirname "$0")/../integration/lib.sh"

PORT=$(free_port)
ETC=$T_DIR/etc
mkdir -p "$ETC"
cp "$RTG_FIXTURES/hs_secret.txt" "$ETC/jwt_secret"
cp "$RTG_FIXTURES/rsa_public.pem" "$ETC/jwt_pub.pem"
"$RTG_BUILD/rtg-token" --jwks-add "$ETC/keys.json" --kid rs-test \
	--key-file "$RTG_FIXTURES/rsa_other_private.pem" >/dev/null
cp "$RTG_ROOT/acl/acl.conf" "$ETC/acl.conf"
chmod 644 "$ETC"/*

# snippet: README's conf block with the paths and the port of this test.
snippet() {
	awk '/^### The Mosquitto plugin/ {on = 1} on && /^```conf/ {take = 1; next}
		take && /^```/ {exit} take {print}' "$RTG_ROOT/README.md" |
		sed -e "s|/etc/rtg/|$ETC/|g" -e "s|/path/to/build/|$RTG_BUILD/|g" -e "s|\\b1883\\b|$PORT|g"
}
echo "# README's snippet with /etc/rtg/ -> $ETC/, /path/to/build/ -> $RTG_BUILD/, 1883 -> $PORT"
snippet >"$T_DIR/snippet.conf"
check "README has the snippet, with the leeway line" grep -q '^plugin_opt_jwt_leeway 30$' "$T_DIR/snippet.conf"
{
	cat "$T_DIR/snippet.conf"
	printf 'log_dest stderr\nlog_type all\nuser %s\n' "$(id -un)"
} >"$T_DIR/mosquitto.conf"
start_broker
check "mosquitto starts with the snippet and the plugin" \
	wait_until 10 grep -q "rtg_auth: .*loaded\|rtg_auth: keys" "$T_DIR/broker.log"
check "... and refuses no option value" eval '! grep -qi "not a number\|unknown option\|invalid" "$T_DIR/broker.log"'

# connects TOKEN: an MQTT client with TOKEN is let in by the broker.
connects() {
	mosquitto_pub -h 127.0.0.1 -p "$PORT" -V mqttv311 -u alice -P "$1" -t user/alice/x -m x \
		2>>"$T_DIR/clients.log"
}
HS=(--sub alice --secret-file "$ETC/jwt_secret")
GOOD=(--iss https://auth.example.com --aud realtime-gateway)
check "an HS256 token with the issuer and audience connects" \
	connects "$("$RTG_BUILD/rtg-token" "${HS[@]}" "${GOOD[@]}")"
check "an RS256 token (jwt_pub.pem) connects" connects "$("$RTG_BUILD/rtg-token" --sub alice \
	--key-file "$RTG_FIXTURES/rsa_private.pem" "${GOOD[@]}")"
check "a token of the JWKS file's key (by kid) connects" connects "$("$RTG_BUILD/rtg-token" \
	--sub alice --kid rs-test --key-file "$RTG_FIXTURES/rsa_other_private.pem" "${GOOD[@]}")"
check "plugin_opt_jwt_audience is read: a token without it is refused" \
	eval '! connects "$("$RTG_BUILD/rtg-token" "${HS[@]}" --iss https://auth.example.com)"'
check "plugin_opt_jwt_issuer is read: another issuer is refused" \
	eval '! connects "$("$RTG_BUILD/rtg-token" "${HS[@]}" --iss https://evil.example.com --aud realtime-gateway)"'
check "plugin_opt_jwt_leeway 30 is read: nbf 20 s ahead connects" \
	connects "$("$RTG_BUILD/rtg-token" "${HS[@]}" "${GOOD[@]}" --nbf-offset 20)"
check "... nbf 90 s ahead is refused" \
	eval '! connects "$("$RTG_BUILD/rtg-token" "${HS[@]}" "${GOOD[@]}" --nbf-offset 90)"'
stop "$BROKER_PID"

# The form the README warns about: a comment after the value.
sed 's|^plugin_opt_jwt_leeway 30$|plugin_opt_jwt_leeway 30   # seconds of clock skew|' \
	"$T_DIR/mosquitto.conf" >"$T_DIR/comment.conf"
timeout 20 /usr/sbin/mosquitto -c "$T_DIR/comment.conf" >"$T_DIR/comment.log" 2>&1
check "a trailing comment on an option stops the broker, as README says" eval \
	'grep -q "not a number" "$T_DIR/comment.log" && ! port_open "$PORT"'

# As root without a `user` line, mosquitto drops to "mosquitto" before it loads the plugin.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
	chmod 711 "$T_DIR"
	chmod 755 "$ETC"
	chmod 600 "$ETC/jwt_secret"
	grep -v '^user ' "$T_DIR/mosquitto.conf" >"$T_DIR/root.conf"
	timeout 20 /usr/sbin/mosquitto -c "$T_DIR/root.conf" >"$T_DIR/root.log" 2>&1
	check "as root, a secret only root reads stops the broker (it runs as mosquitto)" eval \
		'grep -q "Permission denied" "$T_DIR/root.log"'
	chgrp mosquitto "$ETC/jwt_secret"
	chmod 640 "$ETC/jwt_secret"
	cp "$T_DIR/root.conf" "$T_DIR/mosquitto.conf"
	start_broker
	check "... and after README's chgrp mosquitto + chmod 640 it starts" \
		connects "$("$RTG_BUILD/rtg-token" "${HS[@]}" "${GOOD[@]}")"
	check "... as user mosquitto" eval \
		'[ "$(stat -c %U "/proc/$BROKER_PID")" = mosquitto ]'
else
	echo "# not root: the checks of mosquitto's switch to user mosquitto are skipped"
fi
finish
