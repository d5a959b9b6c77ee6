#!/bin/bash
# tests/soak/soak.sh - `make soak`: a bounded soak of the adapter under load and abuse.
#
# Starts its own mosquitto with the rtg_auth plugin, the real rtg-adapter and
# rtg-market-sim publishing fast (tests/integration/lib.sh: free ports, a temp
# dir, every process killed by pid), then runs tests/soak/soak_clients.py:
# hundreds of concurrent well-behaved, churning and hostile WebSocket/SSE
# clients for SOAK_SECONDS after a warm-up. It checks that the adapter never
# crashed, its RSS came back near its baseline, no well-behaved client saw a
# hole in any topic's seq and /api/stats adds up with what the clients saw
# (soak_clients.py prints the summary block); then that the broker and the
# simulator are still up and that the adapter exits 0 on SIGTERM.
#
# Environment (defaults in brackets):
#   SOAK_SECONDS [180]  length of the soak proper; SOAK_SHORT=1 means 20 s and
#                       a smaller population, for development
#   SOAK_RATE [2000]    price updates a second from the simulator
#   SOAK_TICKERS [200]  tickers it round-robins over (10 msg/s each by default)
#   SOAK_WB_WS [200] SOAK_WB_SSE [50] SOAK_CHURN_WS [40] SOAK_CHURN_SSE [20]
#   SOAK_HOSTILE [40]   the population (concurrent clients and client loops)
#   SOAK_KEEP=1         keep the temp dir (logs, result.json) even on success
#   RTG_BUILD           where the built programs are [build/]
# Exit status: 0 when every check passed; otherwise non-zero with the reasons.

source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

if [ "${SOAK_SHORT:-0}" = 1 ]; then
	: "${SOAK_SECONDS:=20}" "${SOAK_WB_WS:=60}" "${SOAK_WB_SSE:=20}" "${SOAK_CHURN_WS:=10}"
	: "${SOAK_CHURN_SSE:=5}" "${SOAK_HOSTILE:=10}" "${SOAK_WARMUP:=5}"
fi
SOAK_SECONDS=${SOAK_SECONDS:-180}
SOAK_WARMUP=${SOAK_WARMUP:-10}
SOAK_RATE=${SOAK_RATE:-2000}
SOAK_TICKERS=${SOAK_TICKERS:-200}

# The simulator's tickers: the usual eight, then made-up ones up to SOAK_TICKERS.
tickers=AAPL,MSFT,GOOGL,AMZN,TSLA,NVDA,META,NIFTY
for ((i = 8; i < SOAK_TICKERS; i++)); do tickers+=$(printf ',SK%03d' "$i"); done

# Every client holds a socket; the soak needs far more than a default 1024.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# A soak that passes cleans up after itself; SOAK_KEEP=1 keeps the evidence.
if [ "${SOAK_KEEP:-0}" = 1 ]; then
	T_KEEP_DIR=$T_DIR
	t_cleanup_keep() {
		t_stop_all
		echo "# soak files kept in $T_KEEP_DIR"
	}
	trap t_cleanup_keep EXIT
fi

# ---- the stack -------------------------------------------------------------------------------

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
# Not log_type all: at thousands of messages a second the debug lines would be gigabytes.
sed -i 's/^log_type all$/log_type error\nlog_type warning\nlog_type notice/' \
	"$T_DIR/mosquitto.conf"
start_broker
# The history grows until each topic holds history_size messages (10 s at the default
# 100 and 10 messages a second per ticker); 20 fill within the warm-up, so the RSS
# baseline taken after it is the adapter's steady state and the end-of-run check
# measures what connections leave behind, not the history filling up.
start_adapter --history-size 20
echo "# adapter pid $ADAPTER_PID on port $ADAPTER_PORT; broker on $BROKER_PORT"

token soak-sim publisher 86400 >"$T_DIR/sim.token"
spawn "$T_DIR/market-sim.log" "$RTG_BUILD/rtg-market-sim" --mqtt-port "$BROKER_PORT" \
	--token-file "$T_DIR/sim.token" --rate "$SOAK_RATE" --tickers "$tickers" --seed 7
SIM_PID=$SPAWNED

# The feed is flowing once the adapter holds a retained price for a ticker.
sim_flowing() {
	"$PY" - "$HTTP" "$(token soak-probe)" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/sse/market/AAPL",
                             headers={"Authorization": "Bearer " + sys.argv[2]})
with urllib.request.urlopen(req, timeout=5) as r:
    for line in r:
        if line.startswith(b"data: ") and b'"seq"' in line:
            sys.exit(0)
sys.exit(1)
PY
}
if ! wait_until 30 sim_flowing; then
	not_ok "the market simulator publishes through the adapter"
	finish
fi
echo "# market simulator: $SOAK_RATE msg/s over $SOAK_TICKERS tickers"

# ---- the clients -----------------------------------------------------------------------------

if "$PY" "$RTG_ROOT/tests/soak/soak_clients.py" --port "$ADAPTER_PORT" \
	--adapter-pid "$ADAPTER_PID" --secret-file "$RTG_SECRET_FILE" \
	--other-secret-file "$RTG_FIXTURES/hs_other_secret.txt" --tickers "$tickers" \
	--seconds "$SOAK_SECONDS" --warmup "$SOAK_WARMUP" \
	--wb-ws "${SOAK_WB_WS:-200}" --wb-sse "${SOAK_WB_SSE:-50}" \
	--churn-ws "${SOAK_CHURN_WS:-40}" --churn-sse "${SOAK_CHURN_SSE:-20}" \
	--hostile "${SOAK_HOSTILE:-40}" --out "$T_DIR/result.json" 2>"$T_DIR/clients.log"; then
	ok "the clients' checks passed"
else
	not_ok "the clients' checks passed" "see the summary above and clients.log"
fi

# ---- the processes after the soak ------------------------------------------------------------

# gone PID: the process has exited (a zombie waiting for us counts as exited).
gone() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

if gone "$BROKER_PID"; then not_ok "the broker is still running"; else ok "the broker is still running"; fi
if gone "$SIM_PID"; then not_ok "the simulator is still running"; else ok "the simulator is still running"; fi

if gone "$ADAPTER_PID"; then
	wait "$ADAPTER_PID"
	not_ok "the adapter is still running" "it exited with status $?"
else
	ok "the adapter is still running"
	kill -TERM "$ADAPTER_PID"
	if wait_until 20 gone "$ADAPTER_PID"; then
		wait "$ADAPTER_PID"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			ok "the adapter exits 0 on SIGTERM"
		else
			not_ok "the adapter exits 0 on SIGTERM" "exit status $rc"
		fi
	else
		not_ok "the adapter exits 0 on SIGTERM" "still running 20 s after SIGTERM"
	fi
fi
finish
