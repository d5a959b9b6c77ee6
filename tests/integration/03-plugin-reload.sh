#!/bin/bash
# 03-plugin-reload: SIGHUP makes the plugin re-read its ACL file; a broken file
# keeps the old rules and logs "file:line: reason"; a broken file at start-up
# stops the broker.
#
# Also checks that a right removed by a reload stops deliveries on a
# subscription made before it (the broker checks every delivery; compare
# CVE-2021-34434).
. "$(dirname "$0")/lib.sh"

ACL=$T_DIR/acl.conf
cat >"$ACL" <<'EOF'
user alice
topic read rooms/a
role ops
topic readwrite #
EOF
broker_conf "$(free_port)" "$ACL"
start_broker

ALICE=$(token alice)
OPS=$(token op ops)

sub_start a1 alice "$ALICE" rooms/a
check "before the reload alice may subscribe rooms/a" sub_granted a1
sub_start b1 alice "$ALICE" rooms/b
check "before the reload alice may not subscribe rooms/b" sub_denied b1

pub op "$OPS" rooms/a before-reload
check "the rooms/a subscription receives before the reload" \
	wait_until 10 got a1 'rooms/a before-reload'

# New rules: rooms/b instead of rooms/a.
cat >"$ACL" <<'EOF'
user alice
topic read rooms/b
role ops
topic readwrite #
EOF
check "SIGHUP reloads the ACL" reload_broker

sub_start b2 alice "$ALICE" rooms/b
check "after the reload alice may subscribe rooms/b" sub_granted b2
sub_start a2 alice "$ALICE" rooms/a
check "after the reload alice may not subscribe rooms/a" sub_denied a2

# The old subscription to rooms/a stays in the broker but delivers nothing.
pub op "$OPS" rooms/a after-reload
pub op "$OPS" rooms/b sentinel
if wait_until 10 got b2 'rooms/b sentinel' && ! got a1 'rooms/a after-reload'; then
	ok "a right removed by a reload stops deliveries on an existing subscription"
else
	not_ok "a right removed by a reload stops deliveries on an existing subscription"
fi

# A broken file is refused whole, the old rules stay, each broken line is logged.
cat >"$ACL" <<'EOF'
user alice
topic read rooms/c
topic reed rooms/d
frobnicate everything
role ops
topic readwrite #
EOF
reload_broker
rc=$?
if [ "$rc" -eq 1 ]; then ok "a broken ACL file is refused on reload"; else
	not_ok "a broken ACL file is refused on reload" "reload_broker returned $rc"; fi
check "the broken lines are logged as file:line: reason" eval \
	'file_has "$T_DIR/broker.log" "$ACL:3: " && file_has "$T_DIR/broker.log" "$ACL:4: "'
sub_start b3 alice "$ALICE" rooms/b
check "after a refused reload the previous rules still apply" sub_granted b3
sub_start c3 alice "$ALICE" rooms/c
check "nothing of the refused file applies" sub_denied c3

# A broken file at start-up: the broker does not start, and says why.
stop "$BROKER_PID"
broker_conf "$(free_port)" "$ACL"
if timeout 20 env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/mosquitto.conf" >"$T_DIR/broken-start.log" 2>&1; then
	not_ok "a broken ACL file at start-up stops the broker"
else
	check "a broken ACL file at start-up stops the broker" file_has "$T_DIR/broken-start.log" "$ACL:3: "
fi

# An unknown plugin option (a typo) stops the broker too.
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf" "plugin_opt_jwt_algoritms HS256"
if timeout 20 env "${BROKER_ENV[@]}" /usr/sbin/mosquitto -c "$T_DIR/mosquitto.conf" >"$T_DIR/typo-start.log" 2>&1; then
	not_ok "an unknown plugin option stops the broker"
else
	check "an unknown plugin option stops the broker" \
		file_has "$T_DIR/typo-start.log" "unknown option plugin_opt_jwt_algoritms"
fi

finish
