#!/bin/bash
# 05-key-rotation: rotating the plugin's keys through a JWKS file, with HS256
# and with RS256, without kicking anyone who need not go.
#
# The broker starts with key A only (plugin_opt_jwt_jwks_file, no secret
# file). MQTT 3.1.1 and MQTT 5 subscribers connect with A's tokens. Adding B
# and reloading keeps them; B's tokens then connect; a kid outside the set is
# refused. Removing A and reloading disconnects A's clients (MQTT 5 gets
# DISCONNECT 0x98, the log names the kid) and only them: B's subscriber keeps
# receiving. A broken JWKS on reload keeps the keys there were.
. "$(dirname "$0")/lib.sh"

TK=$RTG_BUILD/rtg-token
JWKS=$T_DIR/keys.json
ACL=$RTG_ROOT/acl/acl.conf

# key_args KEYFILE: the rtg-token option for a secret file or a PEM key.
key_args() {
	case $1 in
	*.pem) echo --key-file "$1" ;;
	*) echo --secret-file "$1" ;;
	esac
}

# ktok KEYFILE KID SUB [ROLES]: a token signed with KEYFILE, its header naming KID.
ktok() {
	local roles=()
	[ -n "${4:-}" ] && roles=(--roles "$4")
	# shellcheck disable=SC2046 # key_args gives two words on purpose
	"$TK" --sub "$3" --kid "$2" $(key_args "$1") "${roles[@]}"
}

# jwks_edit add KID KEYFILE | jwks_edit remove KID
jwks_edit() {
	if [ "$1" = add ]; then
		# shellcheck disable=SC2046
		"$TK" --jwks-add "$JWKS" --kid "$2" $(key_args "$3")
	else
		"$TK" --jwks-remove "$JWKS" --kid "$2"
	fi
}

# rotation NAME KEY_A KEY_B: the whole sequence with one kind of key.
rotation() {
	local n=$1 key_a=$2 key_b=$3 A B
	rm -f "$JWKS"
	jwks_edit add A "$key_a"
	broker_conf "$(free_port)" "$ACL" "plugin_opt_jwt_jwks_file $JWKS"
	sed -i '/^plugin_opt_jwt_secret_file/d' "$T_DIR/mosquitto.conf"
	start_broker
	A=$(ktok "$key_a" A alice)

	sub_start "$n-a3" alice "$A" market/rot -i "$n-a3"
	check "$n: a client with key A's token connects (MQTT 3.1.1)" sub_granted "$n-a3"
	sub_start "$n-a5" alice "$A" market/rot -i "$n-a5" -V mqttv5
	check "$n: a client with key A's token connects (MQTT 5)" sub_granted "$n-a5"

	jwks_edit add B "$key_b"
	check "$n: a reload adds key B" reload_broker
	pub pa "$(ktok "$key_a" A pa publisher)" market/rot one
	check "$n: A's clients stay connected through the reload and still receive" \
		wait_until 10 eval "got $n-a3 'market/rot one' && got $n-a5 'market/rot one'"
	check "$n: and the broker disconnected no one" eval \
		"! file_has '$T_DIR/broker.log' 'disconnecting client'"

	B=$(ktok "$key_b" B bob)
	sub_start "$n-b5" bob "$B" market/rot -i "$n-b5" -V mqttv5
	check "$n: a token of key B connects" sub_granted "$n-b5"
	if pub pc "$(ktok "$key_b" C pc publisher)" market/rot never; then
		not_ok "$n: a token whose kid is not in the set is refused"
	else
		check "$n: a token whose kid is not in the set is refused" \
			file_has "$T_DIR/broker.log" "unknown key id (kid)"
	fi

	jwks_edit remove A
	check "$n: a reload removes key A" reload_broker
	check "$n: A's MQTT 5 client gets DISCONNECT 0x98 (administrative action)" \
		wait_until 10 grep -q "Received DISCONNECT (152)" "$T_DIR/$n-a5.out"
	check "$n: the log says which clients ended and why" eval \
		"file_has '$T_DIR/broker.log' \"disconnecting client '$n-a3' (sub 'alice'): the key of its token (kid 'A'\" &&
		 file_has '$T_DIR/broker.log' \"disconnecting client '$n-a5' (sub 'alice')\""
	check "$n: B's client was not disconnected" eval \
		"! file_has '$T_DIR/broker.log' \"disconnecting client '$n-b5'\""
	pub pb "$(ktok "$key_b" B pb publisher)" market/rot two
	check "$n: B's client keeps receiving" wait_until 10 got "$n-b5" 'market/rot two'
	check "$n: A's clients receive nothing more" eval \
		"! got $n-a3 'market/rot two' && ! got $n-a5 'market/rot two'"
	if pub pa "$(ktok "$key_a" A pa publisher)" market/rot never; then
		not_ok "$n: a token of the removed key is refused"
	else
		ok "$n: a token of the removed key is refused"
	fi

	echo '{"keys": [' >"$JWKS"
	reload_broker
	RELOADED=$?
	check "$n: a broken JWKS is refused on reload" [ "$RELOADED" = 1 ]
	check "$n: and says why" file_has "$T_DIR/broker.log" "jwks_file $JWKS: not a JWKS"
	pub pb "$(ktok "$key_b" B pb publisher)" market/rot three
	check "$n: the keys there were stay: B's client still receives" \
		wait_until 10 got "$n-b5" 'market/rot three'
	stop "$BROKER_PID"
}

rotation hs256 "$RTG_FIXTURES/hs_secret.txt" "$RTG_FIXTURES/hs_other_secret.txt"
rotation rs256 "$RTG_FIXTURES/rsa_private.pem" "$RTG_FIXTURES/rsa_other_private.pem"

finish
