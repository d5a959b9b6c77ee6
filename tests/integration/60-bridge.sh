#!/bin/bash
# 60-bridge: two Mosquitto brokers bridged as in examples/, the plugin on both.
#
# Broker A and broker B run examples/mosquitto-bridge-{a,b}.conf with only
# their CHANGE ME lines replaced. B's bridge signs in at A with a JWT of role
# "bridge". A price published at A reaches the WebSocket clients of an adapter
# attached to B (retained value included); a notification published at B
# reaches its user's MQTT device on A and nobody else's; each broker refuses
# what the ACL refuses, so nothing refused on one side leaks through the
# bridge to the other; a bridge token without the role, or signed with
# another key, carries nothing.
. "$(dirname "$0")/lib.sh"

# The stack's ACL, with its role for a Mosquitto bridge (docs/scaling.md).
ACL=$RTG_ROOT/acl/acl.conf

PA=$(free_port)
PB=$(free_port)
ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)

# example_conf NAME EXAMPLE PORT BRIDGE_TOKEN: lib.sh's bridge_example_conf, the bridge to A.
example_conf() {
	bridge_example_conf "$1" "$2" "$3" "$4" "$PA" "$ACL"
}

# at PORT FN ARGS...: runs a lib.sh MQTT helper (pub, sub_start) against the broker on PORT.
at() {
	local BROKER_PORT=$1
	shift
	"$@"
}

# bridge_subscribed LOG: the bridge's subscription to market/# is in broker A's LOG.
bridge_subscribed() {
	grep -A6 "Received SUBSCRIBE from $2" "$T_DIR/$1.log" | grep -qF "	market/#"
}

# ---- the example configurations ----------------------------------------------------------
example_conf a mosquitto-bridge-a.conf "$PA" ""
example_conf b mosquitto-bridge-b.conf "$PB" "$(token bridge-b bridge 3600)"
check "the examples need no change but their CHANGE ME lines" \
	eval '! grep -v "^#" "$T_DIR/a.conf" "$T_DIR/b.conf" | grep -qE "/etc/rtg|/usr/local|/var/lib|PASTE"'
check "broker A starts with the plugin" start_named a "$PA"
check "broker B starts with the plugin and the bridge" start_named b "$PB"
expect "B's bridge signs in at A with its JWT" \
	wait_until 20 file_has "$T_DIR/a.log" "as bridge-b (p"
check "and subscribes there to the bridged topics" wait_until 10 bridge_subscribed a bridge-b

# The adapter and the devices: the adapter on B, devices on A.
BROKER_PORT=$PB ADAPTER_ACL=$ACL start_adapter
check "an adapter runs against broker B" adapter_broker_up

# ---- A to B: prices -------------------------------------------------------------------------
at "$PA" pub feed "$PUBLISHER" market/BRG '{"type":"price_update","ticker":"BRG","price":10,"mark":"ret"}' -r
wsc late "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/BRG"}' --timeout 60
expect "a price retained at A is the retained value at B: a new WebSocket client of B's adapter gets it" \
	wait_until 10 has late '"mark":"ret"' '"topic":"market/BRG"'
wsc prices "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"market/+"}' --timeout 60
wait_until 10 has prices '"action":"subscribed"'
wait_until 10 grep -qF "	market/+ (QoS" "$T_DIR/b.log"
at "$PA" pub feed "$PUBLISHER" market/BRG '{"type":"price_update","ticker":"BRG","price":11,"mark":"live"}'
expect "a price published at A reaches the WebSocket clients of B's adapter" \
	wait_until 10 eval 'has prices "\"mark\":\"live\"" && has late "\"mark\":\"live\""'
check "once each" eval '[ "$(grep -c "\"mark\":\"live\"" "$T_DIR/prices.out")" = 1 ]'

# ---- B to A: notifications --------------------------------------------------------------------
at "$PA" sub_start dev_alice alice "$ALICE" 'user/alice/#'
at "$PA" sub_start dev_bob bob "$BOB" 'user/bob/#'
at "$PA" sub_start dev_peek bob "$BOB" 'user/alice/#'
check "bob's device on A may not subscribe to alice's topics" sub_denied dev_peek
at "$PB" sub_start devb_peek bob "$BOB" 'user/#'
check "nor on B" sub_denied devb_peek
at "$PB" pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","n":"for-alice"}'
at "$PB" pub notify "$NOTIFIER" user/bob/notifications '{"type":"notification","n":"for-bob"}'
expect "a notification published at B reaches its user's MQTT device on A" \
	wait_until 10 got dev_alice 'user/alice/notifications {"type":"notification","n":"for-alice"}'
wait_until 10 has dev_bob 'for-bob'
check "another user's device on A does not get it" lacks dev_bob 'for-alice'
check "the user's own device gets only its own" lacks dev_alice 'for-bob'

# ---- what one broker refuses never crosses the bridge -----------------------------------------
# A refused publish is dropped where it is made; the sentinel after it, on the
# same path, shows the bridge carried everything that was accepted.
at "$PA" sub_start dev_market bob "$BOB" 'market/BRG'
at "$PB" pub alice "$ALICE" market/BRG '{"type":"price_update","ticker":"BRG","mark":"forged-at-b"}'
at "$PA" pub alice "$ALICE" user/bob/notifications '{"type":"notification","n":"forged-at-a"}'
at "$PB" pub feed "$PUBLISHER" market/BRG '{"type":"price_update","ticker":"BRG","mark":"sentinel-b"}'
at "$PA" pub notify "$NOTIFIER" user/bob/notifications '{"type":"notification","n":"sentinel-a"}'
wait_until 10 has dev_market 'sentinel-b'
wait_until 10 has dev_bob 'sentinel-a'
wait_until 10 has prices 'sentinel-b'
check "a price alice may not publish at B reaches neither B's clients nor A" \
	eval 'lacks prices forged-at-b && lacks dev_market forged-at-b && has dev_market sentinel-b'
check "a notification alice may not publish at A reaches nobody" lacks dev_bob 'forged-at-a'
check "and B's plugin logged the refusal" file_has "$T_DIR/b.log" "denied write 'market/BRG'"
wsc ws_peek "$WS/ws?token=$BOB" --send '{"type":"subscribe","topic":"user/alice/notifications"}' \
	--timeout 30
check "B's adapter refuses bob alice's notifications" \
	wait_until 10 has ws_peek '"type":"error"' "user/alice/notifications"

# ---- bridges A refuses ------------------------------------------------------------------------
PC=$(free_port)
example_conf c mosquitto-bridge-b.conf "$PC" "$(token bridge-c "" 3600)"
sed -i 's/bridge-b/bridge-c/' "$T_DIR/c.conf"
start_named c "$PC"
PD=$(free_port)
example_conf d mosquitto-bridge-b.conf "$PD" \
	"$("$RTG_BUILD/rtg-token" --sub bridge-d --roles bridge --secret-file "$RTG_FIXTURES/hs_other_secret.txt")"
sed -i 's/bridge-b/bridge-d/' "$T_DIR/d.conf"
start_named d "$PD"
expect "a bridge whose token is signed with another key is refused by A" \
	wait_until 20 file_has "$T_DIR/a.log" "refused client 'bridge-d'"
expect "a bridge whose token lacks the bridge role signs in at A" \
	wait_until 20 file_has "$T_DIR/a.log" "as bridge-c (p"
# Every user reads market/#, so A lets any signed-in client, this bridge too,
# have prices; user/# it refuses.
check "a bridge without the bridge role gets no user topics from A" \
	wait_until 10 file_has "$T_DIR/a.log" "denied subscribe 'user/#' to client 'bridge-c'"
at "$PC" sub_start devc alice "$ALICE" 'user/alice/#'
at "$PA" pub notify "$NOTIFIER" user/alice/notifications '{"type":"notification","n":"after-c"}'
wait_until 10 has dev_alice 'after-c'
check "so a user's notification published at A never reaches that bridge's broker" \
	lacks devc 'after-c'

finish
