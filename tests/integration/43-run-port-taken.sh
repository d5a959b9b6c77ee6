#!/bin/bash
# 43-run-port-taken: `make run` on a Debian host whose own mosquitto holds 1883.
#
# Installing Debian's mosquitto package starts its broker service on 1883. A
# plain mosquitto (no plugin, anonymous) holds the port run.sh would use by
# default (RTG_DEFAULT_MQTT_PORT: a free port standing for 1883, so that this
# test never touches the real one); run.sh, given no MQTT_PORT, says who holds
# it and which port its own broker takes instead, and the whole stack works
# there: the adapter is connected, the printed mosquitto_sub line has the new
# port, a publication reaches a browser's SSE stream, and the system's broker
# is left as it was. With the adapter's default port taken as well, the
# adapter moves the same way, and the printed dashboard URL has its port. A
# port given explicitly is never moved: run.sh stops.
. "$(dirname "$0")/lib.sh"

SYS_PORT=$(free_port)
HTTP_DEFAULT=$(free_port)
mkdir -p "$T_DIR/sys"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$SYS_PORT" "$(id -un)" \
	>"$T_DIR/sys/mosquitto.conf"
spawn "$T_DIR/system-mosquitto.log" /usr/sbin/mosquitto -c "$T_DIR/sys/mosquitto.conf"
SYS_PID=$SPAWNED
check "a system broker holds the default port" wait_until 20 port_open "$SYS_PORT"

RUN_DIR=$T_DIR/run
mkdir -p "$RUN_DIR"
spawn "$T_DIR/stack.log" env -u MQTT_PORT -u HTTP_PORT RTG_DEFAULT_MQTT_PORT="$SYS_PORT" \
	RTG_DEFAULT_HTTP_PORT="$HTTP_DEFAULT" RTG_RUN_DIR="$RUN_DIR" RTG_BUILD="$RTG_BUILD" \
	MOSQUITTO_USER="$(id -un)" "$RTG_ROOT/scripts/run.sh"
STACK_PID=$SPAWNED
if ! wait_until 90 file_has "$T_DIR/stack.log" "The stack is up"; then
	not_ok "make run comes up beside the system broker" "$(tail -n 20 "$T_DIR/stack.log")"
	finish
fi
ok "make run comes up beside the system broker"
MOVED=$(sed -nE "s/^run: 127\\.0\\.0\\.1:$SYS_PORT is taken by .*: this stack's MQTT_PORT is ([0-9]+) .*/\\1/p" \
	"$T_DIR/stack.log")
check "it says the default port is taken and which it uses instead" test -n "$MOVED"
if [ "$(id -u)" = 0 ]; then
	check "... naming the process that holds it" \
		grep -qF "is taken by \"mosquitto\",pid=$SYS_PID:" "$T_DIR/stack.log"
fi
check "... another port" test "${MOVED:-$SYS_PORT}" != "$SYS_PORT"
check "... on which its own broker listens" grep -qF "broker   mqtt://127.0.0.1:$MOVED " "$T_DIR/stack.log"
check "... as the printed mosquitto_sub line says" \
	grep -qE "mosquitto_sub -h 127.0.0.1 -p $MOVED " "$T_DIR/stack.log"
check "the adapter's port was free: it stays the default" \
	grep -qF "adapter  http://localhost:$HTTP_DEFAULT " "$T_DIR/stack.log"
HTTP=http://127.0.0.1:$HTTP_DEFAULT
check "the adapter is connected to the stack's broker" wait_until 30 adapter_broker_up

# shellcheck disable=SC2034 # read by lib.sh token
RTG_SECRET_FILE=$RUN_DIR/jwt_secret
ALICE=$(token alice "" 3600)
OPS=$(token ops ops 3600)
curl -sN -H "Authorization: Bearer $ALICE" "$HTTP/sse/notifications" >"$T_DIR/sse.out" 2>&1 &
T_PIDS+=("$!")
check "alice's SSE stream is open" wait_until 20 grep -q '^data: ' "$T_DIR/sse.out"
# shellcheck disable=SC2034 # read by lib.sh pub
BROKER_PORT=$MOVED
check "a publication to the stack's broker is accepted" pub ops "$OPS" user/alice/notifications \
	'{"type":"notification","title":"port","message":"through the moved broker"}'
check "... and reaches alice's browser" wait_until 20 grep -qF '"message":"through the moved broker"' \
	"$T_DIR/sse.out"
check "the stack's broker wants a token (it is ours, with the plugin)" \
	eval '! mosquitto_pub -h 127.0.0.1 -p "$MOVED" -t x -m x 2>/dev/null'
check "the system broker still runs, untouched (anonymous, as it was)" \
	mosquitto_pub -h 127.0.0.1 -p "$SYS_PORT" -t x -m x

kill -TERM "$STACK_PID"
check "SIGTERM stops the stack" wait_until 30 eval '! kill -0 "$STACK_PID" 2>/dev/null'
STATUS=0
wait "$STACK_PID" 2>/dev/null || STATUS=$?
check "... with status 0" test "$STATUS" -eq 0

# The adapter's default taken too (by anything): it moves the same way.
# (SO_REUSEADDR: the first stack's adapter leaves connections in TIME_WAIT.)
spawn "$T_DIR/http-holder.log" "$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(600)' "$HTTP_DEFAULT"
HOLDER_PID=$SPAWNED
check "something holds the adapter's default port" wait_until 10 port_open "$HTTP_DEFAULT"
spawn "$T_DIR/stack2.log" env -u MQTT_PORT -u HTTP_PORT RTG_DEFAULT_MQTT_PORT="$SYS_PORT" \
	RTG_DEFAULT_HTTP_PORT="$HTTP_DEFAULT" RTG_RUN_DIR="$RUN_DIR" RTG_BUILD="$RTG_BUILD" \
	MOSQUITTO_USER="$(id -un)" "$RTG_ROOT/scripts/run.sh"
STACK_PID=$SPAWNED
check "make run comes up with both defaults taken" wait_until 90 file_has "$T_DIR/stack2.log" "The stack is up"
HTTP_MOVED=$(sed -nE "s/^run: 127\.0\.0\.1:$HTTP_DEFAULT is taken by .*: this stack's HTTP_PORT is ([0-9]+) .*/\1/p" \
	"$T_DIR/stack2.log")
check "it says the adapter's default is taken and which port it uses" test -n "$HTTP_MOVED"
check "... which the dashboard URL has" \
	grep -qF "http://localhost:${HTTP_MOVED:-none}/?token=" "$T_DIR/stack2.log"
HTTP=http://127.0.0.1:$HTTP_MOVED
check "... and where the adapter answers, connected" wait_until 30 adapter_broker_up
kill -TERM "$STACK_PID"
check "SIGTERM stops it" wait_until 30 eval '! kill -0 "$STACK_PID" 2>/dev/null'
stop "$HOLDER_PID"

# A port given explicitly is the user's choice: taken, run.sh stops.
STATUS=0
timeout 60 env MQTT_PORT="$SYS_PORT" RTG_DEFAULT_HTTP_PORT="$HTTP_DEFAULT" RTG_RUN_DIR="$RUN_DIR" \
	RTG_BUILD="$RTG_BUILD" MOSQUITTO_USER="$(id -un)" "$RTG_ROOT/scripts/run.sh" \
	>"$T_DIR/given.log" 2>&1 || STATUS=$?
check "MQTT_PORT given and taken: run.sh exits 1" test "$STATUS" -eq 1
check "... saying the port is taken" grep -qE "already listens on 127.0.0.1:$SYS_PORT; stop it first" \
	"$T_DIR/given.log"
check "... and starts nothing" eval '! ls "$RUN_DIR"/*.pid >/dev/null 2>&1'
check "the system broker survives it all" kill -0 "$SYS_PID"
finish
