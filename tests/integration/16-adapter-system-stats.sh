#!/bin/bash
# 16-adapter-system-stats: the adapter publishes its figures together with the
# broker's $SYS figures to system/stats (retained), which every signed-in user
# may read (seed 001's "system" channel), by MQTT and through the adapter.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf" "sys_interval 1"
start_broker
start_adapter --stats-interval 1

ALICE=$(token alice)
sub_start stats alice "$ALICE" system/stats -C 2
check "system/stats arrives by MQTT with the adapter's figures" \
	wait_until 15 has stats '"type":"system_stats"' '"active_connections":' '"uptime":'
check "and the broker's \$SYS figures" wait_until 15 has stats '"broker":{' '"clients/connected":'

wsc chan "$WS/ws?token=$ALICE" --send '{"type":"subscribe","channel":"system"}' --timeout 20
check "a browser on the system channel receives it too" \
	wait_until 15 has chan '"type":"system_stats"' '"topic":"system/stats"' '"seq":'

finish
