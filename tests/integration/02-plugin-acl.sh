#!/bin/bash
# 02-plugin-acl: the plugin enforces the project's ACL file on every publish,
# subscribe and delivery, for users and roles.
#
# Runs the broker with acl/acl.conf itself (the file `make run` uses): users
# read market/# and their own user/<sub>/#, never another user's; only the
# publisher role writes market/#; calc workers share calc requests; users talk
# in any room (rooms/+); ops may do everything; retained values survive a
# broker restart (persistence on).
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker

ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)
OPS=$(token root-op ops)
CALC=$(token worker1 calc)
GATEWAY=$(token adapter1 gateway)

# ---- reading what one may ----------------------------------------------------------
sub_start alice_market alice "$ALICE" 'market/#'
check "a user may subscribe market/#" sub_granted alice_market
sub_start alice_own alice "$ALICE" 'user/alice/#'
check "a user may subscribe its own user/<sub>/#" sub_granted alice_own
sub_start ops_all root-op "$OPS" '#'
check "ops may subscribe #" sub_granted ops_all

pub feed "$PUBLISHER" market/AAPL '{"type":"price_update","price":1}'
check "the publisher role may publish market data and users read it" \
	wait_until 10 got alice_market 'market/AAPL {"type":"price_update","price":1}'
pub notify "$NOTIFIER" user/alice/notifications note-for-alice
check "a user receives its own notifications" \
	wait_until 10 got alice_own 'user/alice/notifications note-for-alice'

# ---- what one may not ----------------------------------------------------------------
i=0
for filter in 'user/bob/#' 'user/+/notifications' 'user/#' '#' '+/bob/notifications'; do
	i=$((i + 1))
	sub_start "deny$i" alice "$ALICE" "$filter"
	check "a user may not subscribe $filter" sub_denied "deny$i"
done

sub_start bob_own bob "$BOB" 'user/bob/#'
pub notify "$NOTIFIER" user/alice/notifications secret-for-alice
pub notify "$NOTIFIER" user/bob/notifications sentinel-for-bob
if wait_until 10 got bob_own 'user/bob/notifications sentinel-for-bob' &&
	! grep -q secret-for-alice "$T_DIR/bob_own.out"; then
	ok "a user never receives another user's messages"
else
	not_ok "a user never receives another user's messages"
fi

# A forbidden publish is dropped: ops, who reads everything, sees the sentinel
# published after it, but never the forged price.
pub alice "$ALICE" market/AAPL forged-by-alice
pub bob "$BOB" user/alice/notifications forged-by-bob
pub feed "$PUBLISHER" market/AAPL sentinel-price
if wait_until 10 got ops_all 'market/AAPL sentinel-price' &&
	! grep -q 'forged-by' "$T_DIR/ops_all.out"; then
	ok "publishing without write access is dropped"
else
	not_ok "publishing without write access is dropped"
fi
check "the refused publish is logged" \
	wait_until 5 file_has "$T_DIR/broker.log" "denied write 'market/AAPL' to client"

# ---- ops and roles ---------------------------------------------------------------------
pub root-op "$OPS" user/bob/notifications from-ops
check "ops may publish anywhere" wait_until 10 got bob_own 'user/bob/notifications from-ops'
sub_start ops_sys root-op "$OPS" '$SYS/broker/uptime'
check "ops may read \$SYS" sub_granted ops_sys
sub_start alice_sys alice "$ALICE" '$SYS/#'
check "a user may not read \$SYS" sub_denied alice_sys

sub_start calc1 worker1 "$CALC" '$share/calc/calc/+/request'
check "a calc worker may take a shared subscription on calc requests" sub_granted calc1
pub adapter1 "$GATEWAY" calc/c42/request '{"type":"calculate"}'
check "the gateway's calc request reaches the worker" \
	wait_until 10 got calc1 'calc/c42/request {"type":"calculate"}'
sub_start calc_evil alice "$ALICE" '$share/g/calc/+/request'
check "a user may not take a shared subscription on calc requests" sub_denied calc_evil

# ---- rooms and the notifier's system and studio topics -------------------------------
sub_start bob_rooms bob "$BOB" 'rooms/+'
check "a user may subscribe every room, rooms/+" sub_granted bob_rooms
sub_start alice_rooms_deep alice "$ALICE" 'rooms/#'
check "a user may not subscribe rooms/# (rooms are one level)" sub_denied alice_rooms_deep
sub_start alice_health alice "$ALICE" 'system/health'
check "a user may subscribe system/health" sub_granted alice_health
sub_start alice_studio alice "$ALICE" 'studio/marketplace'
check "a user may subscribe studio/marketplace" sub_granted alice_studio
pub alice "$ALICE" rooms/a/b too-deep
pub alice "$ALICE" rooms/trading hello-trading
check "a user may talk in a room other than the lobby" \
	wait_until 10 got bob_rooms 'rooms/trading hello-trading'
# ops reads '#': it sees the room message published after the refused one
if wait_until 10 got ops_all 'rooms/trading hello-trading' &&
	! grep -q too-deep "$T_DIR/ops_all.out"; then
	ok "a user may not publish below a room (rooms/a/b)"
else
	not_ok "a user may not publish below a room (rooms/a/b)"
fi
pub notify "$NOTIFIER" system/health '{"status":"ok"}'
check "the notifier may publish system/health and users read it" \
	wait_until 10 got alice_health 'system/health {"status":"ok"}'
pub notify "$NOTIFIER" studio/marketplace new-model
check "the notifier may publish under studio/ and users read studio/marketplace" \
	wait_until 10 got alice_studio 'studio/marketplace new-model'

# ---- retained values survive a broker restart ----------------------------------------
pub feed "$PUBLISHER" market/MSFT retained-price -r
stop "$BROKER_PID"
start_broker
sub_start after_restart alice "$ALICE" 'market/MSFT'
check "a retained value survives a broker restart" \
	wait_until 10 got after_restart 'market/MSFT retained-price'

finish
