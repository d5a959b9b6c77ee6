#!/bin/bash
# 50-seed004-trading-ai-studio: seed 004 (ShareWise AI: trading signals, portfolio and
# AI studio consumers on Django Channels, ../shared/seeds/004_*.txt) against the stack
# `make run` starts (scripts/run.sh: broker, adapter with profiles/gateway.conf, and
# rtg-trading-sim publishing for alice and bob, one message a second over 15 kinds).
#
# The seed's own clients, verbatim, only the URL and the token source changed:
#   - its JavaScript WebSocket Client and React WebSocket Hook in Chromium
#     (browser/seed004.mjs, which says how they run and the one fix the first needs);
#   - its manual test with wscat, the snippet copied below: once with a token (wscat -x,
#     non-interactive) and once as the seed writes it, without one, at a terminal (pty).
# And, with Debian's python3-websockets (seed004_ws.py run), what the seed's consumers
# promise on each of its fourteen endpoints:
#   (a) with ?token= the user is greeted and the endpoint's stream arrives in the seed's
#       shape: {"type":T, KEY:{...}, "timestamp":...} with KEY from the profile's nest lines
#       (new_signal/signal_update: signal, portfolio_update: update, training_update:
#       progress, ...), the simulator's job-1 and model-1 in the paths;
#   (b) the seed's Authentication section ("if not authenticated, connection is closed
#       with code 4001"): no token, closed with 4001 and a reason at once (the profile's
#       "token upgrade": the token comes with the request), nothing delivered before; a
#       bad token, 4001 at once;
#   (e) alice and bob each get only their own data, by topic and by signal ids, and
#       alice's attempt to subscribe to bob's signals is refused.
# The simulator publishes each kind for a user and a job/model every 60 s at the slowest,
# so the streams are awaited up to STREAM_WAIT seconds, all at once.
. "$(dirname "$0")/lib.sh"

SEED="seed 004 ShareWise trading + AI studio"
WSPY=$COMPAT/seed004_ws.py
STREAM_WAIT=${RTG_SEED004_STREAM_WAIT:-100}
# "at once": a bad token is refused on the handshake's heels; 3 s leaves room for a loaded
# machine and is still far from the auth_timeout a missing token gets
AT_ONCE=3
SLACK=3 # the adapter's timer wheel fires up to 1 s late; the rest is for a loaded machine

# q NAME EXPR: seed004_ws.py's queries over $T_DIR/NAME.out; lib.sh's is/expect use it
q() {
	"$PY" "$WSPY" query "$T_DIR/$1.out" "$2" 2>&1
}
pyq() {
	q "$@"
}

SEED_DOC=$(seed_doc 004)

# ---- seed 004, "### Manual Testing with wscat", verbatim (wscat itself comes from
# tests/compat's package.json, pinned, instead of npm install -g) ----------------------------
WSCAT_SNIPPET=$(
	cat <<'EOF'
# Install wscat
npm install -g wscat

# Connect to trading signals
wscat -c ws://localhost:8000/ws/trading/signals/

# Send subscribe message
{"type": "subscribe_symbol", "symbol": "NIFTY"}
EOF
)
# ---- end of the seed's manual test ----------------------------------------------------------
WSCAT_URL=$(sed -n 's/^wscat -c //p' <<<"$WSCAT_SNIPPET")
WSCAT_MSG=$(grep '^{' <<<"$WSCAT_SNIPPET")

# The fourteen endpoints: name|path|types|nest key|topic (U: the user)|fields|values
ENDPOINTS=$(
	cat <<'EOF'
signals|/ws/trading/signals/|new_signal signal_update|signal|user/U/signals|id:str symbol:str signal_type:str confidence_score:num entry_price:num target_price:num stop_loss:num created_at:str|
portfolio|/ws/trading/portfolio/|portfolio_update|update|user/U/portfolio|total_value:num total_pnl:num daily_pnl:num position_count:num|
executions|/ws/trading/executions/|execution_update|execution|user/U/executions|order_id:str symbol:str side:str quantity:num filled_quantity:num price:num status:str executed_at:str|
sentiment|/ws/trading/sentiment/|sentiment_update|sentiment|market/sentiment/+|symbol:str sentiment_score:num label:str sources:num|
risk|/ws/trading/risk-alerts/|risk_alert|alert|user/U/risk|id:str severity:str category:str message:str metric:num threshold:num|
pnl|/ws/trading/pnl/|pnl_update|pnl|user/U/pnl|realized_pnl:num unrealized_pnl:num total_pnl:num day_change_percent:num|
fno|/ws/trading/fno/|fno_update|data|market/fno/+|symbol:str expiry:str strike:num option_type:str iv:num delta:num gamma:num theta:num vega:num ltp:num open_interest:num|
training|/ws/ai-studio/training/job-1/|training_update|progress|user/U/studio/training/job-1|job_id:str progress_percentage:num current_step:str total_steps:num eta_minutes:num status:str|{"job_id": "job-1", "total_steps": 10}
monitoring|/ws/ai-studio/monitoring/model-1/|monitoring_update|metrics|user/U/studio/monitoring/model-1|model_id:str accuracy:num precision:num recall:num drift_score:num latency_ms:num requests_per_minute:num|{"model_id": "model-1"}
dashboard|/ws/ai-studio/dashboard/|dashboard_update|data|user/U/studio/dashboard|active_models:num training_jobs:num avg_accuracy:num total_predictions_today:num|
marketplace|/ws/ai-studio/marketplace/|marketplace_notification|notification|studio/marketplace|id:str title:str message:str model_name:str event:str|
predictions|/ws/ai-studio/predictions/model-1/|prediction|prediction|user/U/studio/predictions/model-1|model_id:str symbol:str predicted_direction:str confidence:num horizon_minutes:num|{"model_id": "model-1"}
backtest|/ws/ai-studio/backtest/model-1/|backtest_update|progress|user/U/studio/backtest/model-1|model_id:str progress_percentage:num trades:num win_rate:num sharpe_ratio:num max_drawdown:num status:str|{"model_id": "model-1"}
system|/ws/ai-studio/system/|system_health|health|system/health|status:str workers cpu_percent:num memory_percent:num|
EOF
)

# ep_shape USER TYPES KEY TOPIC FIELDS VALUES: the query of one endpoint's stream
ep_shape() {
	echo "shape('$2', '$3', '${4//U/$1}', '$5', ${6:-None})"
}

# field_names FIELDS: "a:num b:str" -> "a, b"
field_names() {
	local f out=()
	for f in $1; do out+=("${f%%:*}"); done
	local IFS=, joined
	joined="${out[*]}"
	echo "${joined//,/, }"
}

# remaining: seconds left of STREAM_WAIT since the clients connected (at least 1)
remaining() {
	local r=$((STREAM_DEADLINE - SECONDS))
	[ "$r" -lt 1 ] && r=1
	echo "$r"
}

# ---- the stack -------------------------------------------------------------------------------
start_stack
need_browser

# auth_timeout: scripts/run.sh leaves the adapter's default, which its --help prints
AUTH_TIMEOUT=$("$RTG_BUILD/rtg-adapter" --help 2>&1 | sed -n 's/.*--auth-timeout SECONDS.*(default \([0-9]*\).*/\1/p')
if [ -z "$AUTH_TIMEOUT" ] || grep -q -- '--auth-timeout' "$RTG_ROOT/scripts/run.sh"; then
	not_ok "$SEED: the stack's auth_timeout is known" "rtg-adapter --help gave '$AUTH_TIMEOUT'"
	AUTH_TIMEOUT=10
fi

ALICE=$(stack_token alice "" 3600)
BOB=$(stack_token bob "" 3600)
BACKEND_TOKEN=$(stack_token backend notifier 3600)
EXPIRED=$(stack_token alice "" -3600)
# signed with another secret than the stack's
BADSIG=$(RTG_SECRET_FILE=$RTG_FIXTURES/hs_secret.txt token alice "" 3600)

# ---- the clients: every endpoint as alice, the per-user ones as bob, without a token and
# with bad ones; the seed's manual test at a terminal, without a token --------------------------
CLIENTS=()
SENDS=(--send a-signals '{"type":"subscribe","topic":"user/bob/signals"}')
while IFS='|' read -r name path types key topic fields values; do
	CLIENTS+=("a-$name=$WS$path?token=$ALICE" "n-$name=$WS$path" "x-$name=$WS$path?token=$BADSIG")
	[[ $topic == user/* ]] && CLIENTS+=("b-$name=$WS$path?token=$BOB")
done <<<"$ENDPOINTS"
CLIENTS+=("x-malformed=$WS/ws/trading/signals/?token=not-a-jwt"
	"x-expired=$WS/ws/ai-studio/training/job-1/?token=$EXPIRED")
STREAM_DEADLINE=$((SECONDS + STREAM_WAIT))
spawn "$T_DIR/clients.log" "$PY" "$WSPY" run --dir "$T_DIR" --timeout $((STREAM_WAIT + 60)) \
	"${SENDS[@]}" "${CLIENTS[@]}"

TTY_URL=${WSCAT_URL/ws:\/\/localhost:8000/$WS}
spawn "$T_DIR/wscat-tty.out" "$PY" "$WSPY" tty --timeout $((AUTH_TIMEOUT + 30)) \
	--type-after "Connected (press" "$WSCAT_MSG" --until "Disconnected (code:" \
	-- "$NODE_DIR/.bin/wscat" -c "$TTY_URL"
TTY_PID=$SPAWNED

# ---- the seed's browser code (browser/seed004.mjs), meanwhile -----------------------------------
browser_test seed004.mjs RTG_MQTT_PORT="$MQTT_PORT" RTG_ALICE_TOKEN="$ALICE" RTG_BACKEND=backend \
	RTG_BACKEND_TOKEN="$BACKEND_TOKEN" RTG_SEED_DOC="$SEED_DOC" RTG_STREAM_WAIT="$(remaining)"

# ---- (a) every endpoint's stream, as alice ---------------------------------------------------------
while IFS='|' read -r name path types key topic fields values; do
	expect "$SEED: $path?token= greets alice and delivers ${types// //} as {type, $key: {$(field_names "$fields")}, timestamp}" \
		wait_until "$(remaining)" is "a-$name" \
		"(greeted('alice', '${topic//U/alice}'), $(ep_shape alice "$types" "$key" "$topic" "$fields" "$values"))" \
		"('ok', 'ok')"
done <<<"$ENDPOINTS"

# ---- (b) authentication ----------------------------------------------------------------------------
all_closed() {
	local name
	for name in "$@"; do
		file_has "$T_DIR/$name.out" '"_closed"' || return 1
	done
}
# closed_as LIMIT REASON NAME...: each closed with 4001 and a reason starting with REASON
# within LIMIT seconds of opening, and received nothing before
closed_as() {
	local limit=$1 reason=$2 name
	shift 2
	for name in "$@"; do
		is "$name" "(closed().get('code'), bool(closed().get('reason')) and closed()['reason'].startswith('$reason'), \
(closed().get('after') or 1e9) <= $limit, [m.get('type') for m in data()])" "(4001, True, True, [])" ||
			return 1
	done
}
closings() {
	local name
	for name in "$@"; do
		echo "$name: $(q "$name" "closed().get('reason'), closed().get('after')")"
	done
}
NOTOKEN=() BADTOKEN=()
while IFS='|' read -r name _; do
	NOTOKEN+=("n-$name")
	BADTOKEN+=("x-$name")
done <<<"$ENDPOINTS"
wait_until $((AUTH_TIMEOUT + 30)) all_closed "${NOTOKEN[@]}" "${BADTOKEN[@]}" x-malformed x-expired
expect "$SEED: without a token each of the 14 endpoints closes with 4001 'authentication required: ...' at once, delivering nothing" \
	closed_as "$AT_ONCE" "authentication required" "${NOTOKEN[@]}"
closings n-signals | sed 's/^/# /'
expect "$SEED: a token signed with another secret: each of the 14 endpoints closes with 4001 'invalid token: ...' at once" \
	closed_as "$AT_ONCE" "invalid token" "${BADTOKEN[@]}"
expect "$SEED: a malformed and an expired token: 4001 'invalid token: ...' at once" \
	closed_as "$AT_ONCE" "invalid token" x-malformed x-expired
closings x-signals x-malformed x-expired | sed 's/^/# /'

# ---- (e) one user never gets another's data -----------------------------------------------------------
isolated() {
	local name path types key topic fields values user
	while IFS='|' read -r name path types key topic fields values; do
		[[ $topic == user/* ]] || continue
		# bob's own stream arrives on the same endpoint (so "nothing of alice's" means something)
		wait_until "$(remaining)" is "b-$name" "$(ep_shape bob "$types" "$key" "$topic" "$fields" "$values")" ok ||
			return 1
		for user in alice bob; do
			is "${user:0:1}-$name" "foreign('$user')" "[]" || return 1
		done
	done <<<"$ENDPOINTS"
}
expect "$SEED: alice and bob on the 10 per-user endpoints (signals ... backtest) each get their own stream and no topic of the other's" \
	isolated
disjoint_signals() {
	local a b
	a=$(q a-signals "' '.join(sorted(ids('new_signal signal_update', 'signal')))")
	b=$(q b-signals "' '.join(sorted(ids('new_signal signal_update', 'signal')))")
	IS_LAST="alice's signal ids: $a; bob's: $b"
	[ -n "$a" ] && [ -n "$b" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$a" | sort) <(tr ' ' '\n' <<<"$b" | sort))" ]
}
expect "$SEED: the signals alice and bob receive are different signals (their own ids)" disjoint_signals
attack_refused() {
	IS_LAST="no error naming user/bob/signals on alice's /ws/trading/signals/"
	has a-signals '"type":"error"' "user/bob/signals" && is a-signals "foreign('alice')" "[]"
}
expect "$SEED: alice's subscribe to user/bob/signals on /ws/trading/signals/ is refused with an error, and nothing of bob's arrives" \
	attack_refused

# ---- (f) the seed's manual test with wscat ---------------------------------------------------------------
# seed_block FILE HEADING: the first ```bash block after the line starting with HEADING
seed_block() {
	awk -v h="$2" 'index($0, h) == 1 { f = 1; next } f && /^```bash/ { g = 1; next } g && /^```/ { exit } g' "$1"
}
if [ -z "$SEED_DOC" ]; then
	ok "$SEED: the wscat manual test in this test is the seed's, verbatim # SKIP no seed documents here"
else
	DOC_WSCAT=$(seed_block "$SEED_DOC" "### Manual Testing with wscat")
	if [ -n "$DOC_WSCAT" ] && [ "$(normalised <<<"$DOC_WSCAT")" = "$(normalised <<<"$WSCAT_SNIPPET")" ]; then
		ok "$SEED: the wscat manual test in this test is the seed's, verbatim"
	else
		not_ok "$SEED: the wscat manual test in this test is the seed's, verbatim" "$SEED_DOC has: $DOC_WSCAT"
	fi
fi

# The seed's command with ?token= (and this adapter's address), its message sent with
# wscat's -x on connect instead of typed; -w: how long wscat then listens before it closes.
# Its stdin is a FIFO nobody writes to: wscat quits at once when its stdin ends (run.sh gives
# the tests /dev/null), and this one never ends.
mkfifo "$T_DIR/wscat.in"
exec 5<>"$T_DIR/wscat.in"
timeout 30 "$NODE_DIR/.bin/wscat" -c "$TTY_URL?token=$ALICE" -x "$WSCAT_MSG" -w 5 <&5 \
	>"$T_DIR/wscat.out" 2>"$T_DIR/wscat.log"
WSCAT_STATUS=$?
exec 5>&-
wscat_ok() {
	IS_LAST="wscat exited with $WSCAT_STATUS and printed: $(head -c 600 "$T_DIR/wscat.out") $(tail -n 3 "$T_DIR/wscat.log")"
	[ "$WSCAT_STATUS" = 0 ] && is wscat "greeted('alice', 'user/alice/signals')" ok &&
		has wscat '"type":"subscription"' '"action":"subscribed"' '"symbol":"NIFTY"' &&
		lacks wscat '"type":"error"'
}
expect "$SEED: wscat -c .../ws/trading/signals/?token= -x '$WSCAT_MSG': greeted as alice, subscribe_symbol NIFTY confirmed, no error" \
	wscat_ok
grep '"symbol":"NIFTY"' "$T_DIR/wscat.out" | grep subscription | sed 's/^/# wscat got: /'

# As the seed writes it, without a token, typed at a terminal once wscat says Connected.
tty_done() {
	! kill -0 "$TTY_PID" 2>/dev/null
}
tty_ok() {
	local screen=$T_DIR/wscat-tty.out
	IS_LAST="the terminal showed: $(head -c 800 "$screen")"
	file_has "$screen" 'Disconnected (code: 4001, reason: "authentication required'
}
wait_until $((AUTH_TIMEOUT + 40)) tty_done
expect "$SEED: the seed's wscat session as written (no token), at a terminal: 'Disconnected (code: 4001, reason: \"authentication required: ...\")'" \
	tty_ok
grep -F "Disconnected" "$T_DIR/wscat-tty.out" | sed 's/^/# at the terminal: /'

finish
