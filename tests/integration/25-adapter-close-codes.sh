#!/bin/bash
# 25-adapter-close-codes: every close the adapter decides reaches a client that
# is still sending (the lingering close, adapter/transport/linger.c).
#
# A client that floods while the adapter closes it must read the close frame
# and its code, not a reset (1006): 1008 for a flood, 4001 for a bad token (by
# the first message, and at the upgrade), 1013 for a slow consumer that still
# sends, 1001 when the adapter stops. Each case runs several times in a row so
# that a race shows, with python3-websockets (which answers the close) and
# with raw_ws.py (which floods from a thread, and with --no-echo never
# answers). A client that never answers is hung up on at the linger
# deadline, not at once and not after lws' own 5 s; no descriptor is left.
. "$(dirname "$0")/lib.sh"

ROUNDS=5
ulimit -n 4096 2>/dev/null # the flood of closes below holds 1,100 sockets at once
RAW=$RTG_ROOT/tests/integration/raw_ws.py
PING='{"type":"ping"}'

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter --rate-limit 5 --rate-burst 5 --rate-limit-close 8
PUBLISHER=$(token feed publisher)

# raw NAME URL [raw_ws.py ARGS...]: raw_ws.py --mode flood in the background, its
# lines in $T_DIR/NAME.out. Sets RAW_PID.
raw() {
	local name=$1 url=$2
	shift 2
	: >"$T_DIR/$name.out"
	"$PY" "$RAW" "$url" --mode flood --mute pong "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	RAW_PID=$!
	T_PIDS+=("$RAW_PID")
}

# raw_ended NAME: the raw client saw the server hang up.
raw_ended() {
	has "$1" eof || has "$1" reset || has "$1" error
}

# fd_count: the adapter's open descriptors.
fd_count() {
	find "/proc/$ADAPTER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# closed_with CODE NAME...: every NAME.out (ws_client.py) ends with a close of CODE.
closed_with() {
	local code=$1 name
	shift
	for name in "$@"; do
		has "$name" '"_closed"' "\"code\": $code" ||
			{ IS_LAST="$name: $(grep -F _closed "$T_DIR/$name.out" || echo 'no close')"; return 1; }
	done
}

# raw_closed_with CODE NAME...: every raw client read a close frame of CODE, then the
# server hung up.
raw_closed_with() {
	local code=$1 name
	shift
	for name in "$@"; do
		if ! has "$name" "close $code " || ! raw_ended "$name"; then
			IS_LAST="$name: $(grep -E 'close|eof|reset|error' "$T_DIR/$name.out" | tr '\n' ' ')"
			return 1
		fi
	done
}

# rounds CLIENT N PREFIX URL ARGS...: N runs of CLIENT (wsc or raw) one after the
# other, each until it has ended; their names in NAMES.
rounds() {
	local client=$1 n=$2 prefix=$3 url=$4 i pid
	shift 4
	NAMES=()
	for i in $(seq 1 "$n"); do
		"$client" "$prefix$i" "$url" "$@"
		[ "$client" = wsc ] && pid=$WSC_PID || pid=$RAW_PID
		wait "$pid" 2>/dev/null
		NAMES+=("$prefix$i")
	done
}

FD0=$(fd_count)

# ---- 1008: a flood --------------------------------------------------------------------------
PINGS=()
for _ in $(seq 1 60); do PINGS+=(--send "$PING"); done
rounds wsc $ROUNDS wflood "$WS/ws?token=$(token flood1)" "${PINGS[@]}" --timeout 15
expect "a python3-websockets flood of 60 pings reads close 1008, $ROUNDS times in a row" \
	closed_with 1008 "${NAMES[@]}"
check "with its reason" has wflood1 '"_closed"' 'message rate limit exceeded'
rounds raw $ROUNDS rflood "$WS/ws?token=$(token flood2)" --batch 50 --timeout 20
expect "a raw client flooding without pause reads close 1008, $ROUNDS times in a row" \
	raw_closed_with 1008 "${NAMES[@]}"

# ---- 4001: a bad token, and no token where one comes with the upgrade --------------------------
BAD='{"type":"auth","token":"not.a.token"}'
rounds wsc $ROUNDS wauth "$WS/ws/notifications" --send "$BAD" "${PINGS[@]}" --timeout 15
expect "a bad token in the auth message, then 60 pings: close 4001, $ROUNDS times in a row" \
	closed_with 4001 "${NAMES[@]}"
rounds raw $ROUNDS rauth "$WS/ws/notifications" --send "$BAD" --batch 50 --timeout 20
expect "a bad token in the auth message, then a flood without pause: close 4001, $ROUNDS times" \
	raw_closed_with 4001 "${NAMES[@]}"
rounds wsc $ROUNDS wupg "$WS/ws/trading/signals/" --flood "$PING" --timeout 15
expect "no token with the upgrade (token upgrade) and a flood from the start: close 4001, $ROUNDS times" \
	closed_with 4001 "${NAMES[@]}"
rounds raw $ROUNDS rupg "$WS/ws/trading/signals/" --batch 50 --timeout 20
expect "the same with a raw client flooding without pause: close 4001, $ROUNDS times" \
	raw_closed_with 4001 "${NAMES[@]}"

# ---- a client that never answers the close ------------------------------------------------------
# It keeps flooding after the close frame: the adapter drains it until the
# linger deadline (2-3 s: the timers have one-second slots), then closes the
# socket, well before lws' own 5 s.
hung_up_in_time() {
	"$PY" - "$T_DIR/$1.out" <<'PY'
import sys
t_close = t_end = None
for line in open(sys.argv[1]):
    t, _, what = line.strip().partition(" ")
    if what.startswith("close 1008 ") and t_close is None:
        t_close = float(t)
    elif t_close is not None and t_end is None and what.split()[0] in ("eof", "reset", "error", "send"):
        t_end = float(t)
ok = t_close is not None and t_end is not None and 1.0 <= t_end - t_close <= 4.5
print("close at %s, closed at %s" % (t_close, t_end))
sys.exit(0 if ok else 1)
PY
}
raw noecho "$WS/ws?token=$(token flood3)" --no-echo --interval 0.001 --timeout 20
wait_until 20 has noecho 'send failed'
check "a flood that never answers the close still reads close 1008" has noecho "close 1008 "
check "and the socket is closed at the linger deadline (1-4.5 s after the close frame)" \
	hung_up_in_time noecho
stop "$RAW_PID"

# ---- a flood of closes -----------------------------------------------------------------------------
# 1,100 clients with no token on an endpoint that takes it only with the
# upgrade: each is closed with 4001 at once, never answers and keeps sending.
# At most LINGER_MAX (1,024, linger.c) linger: 76 are hung up on as soon as
# newer ones come (well before the linger deadline, counted from the close
# frame each received), the others at the deadline.
close_flood() {
	"$PY" - "$ADAPTER_PORT" 1100 1024 <<'PY'
import os, socket, struct, sys, time
port, n, cap = (int(a) for a in sys.argv[1:])
mask = os.urandom(4)
ping = b'{"type":"ping"}'
frame = struct.pack("!BB", 0x81, 0x80 | len(ping)) + mask + bytes(
    b ^ mask[i % 4] for i, b in enumerate(ping))
socks, bufs, closed, dead, t0 = [], [], {}, {}, time.monotonic()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /ws/trading/signals/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    s.setblocking(False)
    socks.append(s)
    bufs.append(b"")
while len(dead) < n and time.monotonic() - t0 < 60:
    for i, s in enumerate(socks):
        if i in dead:
            continue
        try:
            if i not in closed:  # the close frame: the first byte after the upgrade's headers
                bufs[i] += s.recv(4096)
                head, sep, rest = bufs[i].partition(b"\r\n\r\n")
                if sep and rest[:1] == b"\x88":
                    closed[i] = time.monotonic()
            s.send(frame * 4)
        except BlockingIOError:
            pass
        except OSError:
            dead[i] = time.monotonic()
    time.sleep(0.05)
early = sorted(i for i, t in dead.items() if i in closed and t - closed[i] < 1.5)
print("# %d closed, %d read the close frame; %d hung up on within 1.5 s of it (the newest: %s)"
      % (len(dead), len(closed), len(early), early[-1] if early else None))
ok = len(dead) == len(closed) == n and len(early) == n - cap
sys.exit(0 if ok else 1)
PY
}
check "a flood of 1,100 closes: each reads 4001; 76 are hung up on at once (at most 1,024 linger)" \
	close_flood

# shellcheck disable=SC2016 # expanded by eval
check "a client beside the floods is served" eval \
	'wsc calm "$WS/ws?token=$(token calm)" --send "$PING" --count 2 --timeout 10 &&
	wait_until 10 has calm "\"pong\""'
# shellcheck disable=SC2016 # expanded by eval, when polled
check "no descriptor is left behind (the adapter had $FD0)" \
	wait_until 10 eval '[ "$(fd_count)" -le "$FD0" ]'

# ---- 1013: a slow consumer that still sends ----------------------------------------------------
# It subscribes with policy disconnect, then stops reading for 3 s while it
# keeps sending pings; the queue overflows behind a full socket and the adapter
# closes with 1013. The close frame waits in the socket behind what the client
# has not read; the client then reads slowly (512 bytes every 10 ms) and must
# find it there: a reset would have thrown it away unsent.
stop "$ADAPTER_PID"
start_adapter --queue-max-messages 50 --socket-sndbuf 4096 --rate-limit 100000 \
	--rate-burst 100000
SUB='{"type":"subscribe","topic":"market/SLOW","policy":"disconnect"}'
PAD=$(head -c 400 /dev/zero | tr '\0' x)
for i in 1 2 3; do
	raw "slow$i" "$WS/ws?token=$(token "slow$i")" --send "$SUB" --until subscribed --stall 3 \
		--trickle 0.01 --batch 10 --interval 0.005 --rcvbuf 4096 --timeout 30
	wait_until 10 has "slow$i" ready
	for n in $(seq 1 300); do echo "{\"type\":\"price_update\",\"n\":$n,\"pad\":\"$PAD\"}"; done |
		mosquitto_pub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u feed -P "$PUBLISHER" -q 1 \
			-t market/SLOW -l 2>>"$T_DIR/clients.log"
	wait_until 20 raw_ended "slow$i"
	stop "$RAW_PID"
done
expect "a slow consumer that keeps sending reads close 1013, 3 times in a row" \
	raw_closed_with 1013 slow1 slow2 slow3

# ---- 1001: the adapter stops while its clients flood ----------------------------------------------
for r in 1 2 3; do
	stop "$ADAPTER_PID"
	start_adapter --rate-limit 100000 --rate-burst 100000
	for c in 1 2; do
		wsc "wstop$r$c" "$WS/ws?token=$(token "wstop$r$c")" --flood "$PING" --timeout 20
		raw "rstop$r$c" "$WS/ws?token=$(token "rstop$r$c")" --batch 10 --interval 0.002 \
			--until '"connection"' --timeout 20
	done
	for c in 1 2; do
		wait_until 10 has "wstop$r$c" '"pong"' && wait_until 10 has "rstop$r$c" ready
	done
	kill -TERM "$ADAPTER_PID"
	wait "$ADAPTER_PID"
	echo "$?" >"$T_DIR/stop$r.status"
	for c in 1 2; do
		wait_until 10 has "wstop$r$c" '"_closed"' && wait_until 10 raw_ended "rstop$r$c"
	done
done
expect "SIGTERM while 2 python3-websockets clients flood: each reads close 1001, 3 times in a row" \
	closed_with 1001 wstop11 wstop12 wstop21 wstop22 wstop31 wstop32
expect "and 2 raw clients beside them read close 1001 too" \
	raw_closed_with 1001 rstop11 rstop12 rstop21 rstop22 rstop31 rstop32
# shellcheck disable=SC2016 # expanded by eval
check "and the adapter exits 0 each time" \
	eval '[ "$(cat "$T_DIR"/stop*.status | sort -u)" = 0 ]'

finish
