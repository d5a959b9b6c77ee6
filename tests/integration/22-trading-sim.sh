#!/bin/bash
# 22-trading-sim: rtg-trading-sim against the real broker, the plugin and the project's
# acl/acl.conf.
#
# With a token of roles publisher and notifier every one of its fifteen kinds arrives well
# formed on its topic (checked by a small python script below), alice gets her own user/
# topics and never bob's, the retained kinds stay retained and the events do not, a seed
# reproduces its messages, the command line refuses bad input with status 2, a token
# without the notifier role gets only the market/ kinds through, and SIGTERM ends a run at
# once with status 0. RTG_VALGRIND=1 also runs the simulator under valgrind. Every wait
# polls a condition.
. "$(dirname "$0")/lib.sh"

TRADING=$RTG_BUILD/rtg-trading-sim
VG=()
if [ "${RTG_VALGRIND:-0}" = 1 ]; then
	VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
		--log-file="$T_DIR/valgrind-sim.%p.log")
fi

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker

token trading publisher,notifier >"$T_DIR/trading.token"
token feed publisher >"$T_DIR/publisher.token"
ALICE=$(token alice)
BOB=$(token bob)
NOTIFIER=$(token notify notifier)

TRD=("${VG[@]}" "$TRADING" --mqtt-port "$BROKER_PORT")
TF=(--token-file "$T_DIR/trading.token")

# run NAME CMD...: runs CMD to its end (30 s at most), output in NAME.log; sets RC.
run() {
	local name=$1
	shift
	timeout 30 "$@" >"$T_DIR/$name.log" 2>&1
	RC=$?
}

# at_least NAME N STRING: NAME.out has at least N lines containing STRING.
at_least() {
	[ "$(grep -cF -- "$3" "$T_DIR/$1.out")" -ge "$2" ]
}

# gone PID: the process has exited (a zombie not yet reaped counts as gone).
gone() {
	! kill -0 "$1" 2>/dev/null || [[ "$(ps -o stat= -p "$1")" == Z* ]]
}

# valid NAME TYPE MIN [USER]: see check_trading.py below.
valid() {
	local name=$1
	shift
	"$PY" "$T_DIR/check_trading.py" "$T_DIR/$name.out" "$@" 2>"$T_DIR/check.last" ||
		{ IS_LAST=$(tail -n 1 "$T_DIR/check.last"); return 1; }
}

cat >"$T_DIR/check_trading.py" <<'PY'
# check_trading.py FILE TYPE MIN [USER]: every TYPE message in FILE (mosquitto_sub -F '%t %p'
# lines; other lines are skipped) is well formed, flat and on its topic (USER's topics only,
# if given), and there are at least MIN of them.
# check_trading.py FILE strip: prints FILE's messages without their times, for comparing runs.
import json, math, re, sys

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
TRADED = ("NIFTY", "BANKNIFTY", "RELIANCE", "TCS", "INFY")
TIMES = ("timestamp", "created_at", "executed_at")

def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

def count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0

def cents(v):
    return num(v) and abs(v * 100 - round(v * 100)) < 1e-6

def unit(v):
    return num(v) and 0 <= v <= 1

def words(m, *keys):
    return all(isinstance(m[k], str) and m[k] for k in keys)

def level(t, n):
    return t.split("/")[n]

def new_signal(m, t):
    assert t.endswith("/signals") and re.match(r"^signal-\d+$", m["id"]), "id"
    assert m["symbol"] in TRADED and unit(m["confidence_score"]), "symbol, confidence"
    e, g, s = m["entry_price"], m["target_price"], m["stop_loss"]
    assert all(cents(x) and x > 0 for x in (e, g, s)), "prices"
    assert (s < e < g) if m["signal_type"] == "BUY" else (m["signal_type"] == "SELL" and g < e < s)
    assert ISO.match(m["created_at"]), "created_at"

signal_update = new_signal

def portfolio_update(m, t):
    assert t.endswith("/portfolio"), "topic"
    assert all(cents(m[k]) for k in ("total_value", "total_pnl", "daily_pnl")), "sums"
    assert count(m["position_count"]) and m["position_count"] == len(m["positions"]), "count"
    for p in m["positions"]:
        assert words(p, "symbol") and count(p["quantity"]) and p["quantity"] > 0, "position"
        assert cents(p["avg_price"]) and cents(p["ltp"]) and cents(p["pnl"]), "position prices"
        assert abs(p["pnl"] - (p["ltp"] - p["avg_price"]) * p["quantity"]) < 0.006, "pnl"

def execution_update(m, t):
    assert t.endswith("/executions") and words(m, "order_id") and m["symbol"] in TRADED
    assert m["side"] in ("BUY", "SELL") and count(m["quantity"]) and m["quantity"] > 0
    assert cents(m["price"]) and m["price"] > 0, "price"
    assert m["status"] in ("FILLED", "PARTIAL", "REJECTED") and ISO.match(m["executed_at"])

def sentiment_update(m, t):
    assert t == "market/sentiment/" + m["symbol"], "topic is not market/sentiment/<symbol>"
    s = m["sentiment_score"]
    assert num(s) and -1 <= s <= 1 and count(m["sources"]), "score, sources"
    assert m["label"] == ("bullish" if s > 0.2 else "bearish" if s < -0.2 else "neutral")

def risk_alert(m, t):
    assert t.endswith("/risk") and words(m, "id", "message"), "topic, id, message"
    assert m["severity"] in ("low", "medium", "high"), "severity"
    assert m["category"] in ("exposure", "drawdown", "margin", "concentration"), "category"
    assert num(m["metric"]) and num(m["threshold"]) and m["metric"] > m["threshold"]

def pnl_update(m, t):
    assert t.endswith("/pnl"), "topic"
    r, u, tot = m["realized_pnl"], m["unrealized_pnl"], m["total_pnl"]
    assert cents(r) and cents(u) and cents(tot) and abs(tot - r - u) < 0.006, "sums"
    assert num(m["day_change_percent"]), "day_change_percent"

def fno_update(m, t):
    assert t == "market/fno/" + m["symbol"] and DATE.match(m["expiry"]), "topic, expiry"
    assert num(m["strike"]) and m["strike"] > 0 and num(m["iv"]) and m["iv"] > 0
    d = m["delta"]
    assert (0 <= d <= 1) if m["option_type"] == "CE" else (m["option_type"] == "PE" and -1 <= d <= 0)
    assert num(m["gamma"]) and m["gamma"] >= 0 and num(m["vega"]) and m["vega"] >= 0
    assert num(m["theta"]) and count(m["open_interest"]), "theta, open_interest"

def training_update(m, t):
    assert t.startswith("user/") and level(t, 2) == "studio" and level(t, 3) == "training"
    assert level(t, 4) == m["job_id"], "topic is not .../training/<job_id>"
    p = m["progress_percentage"]
    assert num(p) and 0 <= p <= 100 and words(m, "current_step"), "progress, step"
    assert count(m["total_steps"]) and m["total_steps"] > 0 and count(m["eta_minutes"])
    assert m["status"] == ("completed" if p == 100 else "running"), "status"

def monitoring_update(m, t):
    assert t.endswith("/studio/monitoring/" + m["model_id"]), "topic"
    assert all(unit(m[k]) for k in ("accuracy", "precision", "recall", "drift_score"))
    assert num(m["latency_ms"]) and m["latency_ms"] > 0 and count(m["requests_per_minute"])

def prediction(m, t):
    assert t.endswith("/studio/predictions/" + m["model_id"]) and m["symbol"] in TRADED
    assert m["predicted_direction"] in ("UP", "DOWN") and unit(m["confidence"])
    assert count(m["horizon_minutes"]) and m["horizon_minutes"] > 0, "horizon_minutes"

def backtest_update(m, t):
    assert t.endswith("/studio/backtest/" + m["model_id"]), "topic"
    p = m["progress_percentage"]
    assert num(p) and 0 <= p <= 100 and count(m["trades"]), "progress, trades"
    assert unit(m["win_rate"]) and num(m["sharpe_ratio"]) and unit(m["max_drawdown"])
    assert m["status"] == ("completed" if p == 100 else "running"), "status"

def dashboard_update(m, t):
    assert t.endswith("/studio/dashboard") and unit(m["avg_accuracy"]), "topic, accuracy"
    assert all(count(m[k]) for k in ("active_models", "training_jobs", "total_predictions_today"))

def marketplace_notification(m, t):
    assert t == "studio/marketplace" and words(m, "id", "title", "message", "model_name")
    assert m["event"] in ("new_model", "price_drop", "review"), "event"

def system_health(m, t):
    assert t == "system/health" and m["status"] in ("healthy", "degraded"), "status"
    assert m["workers"], "workers"
    for w in m["workers"]:
        assert words(w, "name", "status") and count(w["queue_depth"]), "worker"
    assert all(num(m[k]) and 0 <= m[k] <= 100 for k in ("cpu_percent", "memory_percent"))

def market_alert(m, t):
    assert t == "market/alerts/" + m["ticker"], "topic is not market/alerts/<ticker>"
    assert m["ticker"] in ("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA"), "ticker"
    assert m["severity"] in ("low", "medium", "high") and words(m, "id", "headline", "message")

def messages(path):
    for n, line in enumerate(open(path), 1):
        topic, _, payload = line.rstrip("\n").partition(" ")
        if payload.startswith("{"):
            try:
                yield n, topic, json.loads(payload)
            except ValueError:
                sys.exit(f"{path}:{n}: not JSON: {payload[:80]}")

path, kind = sys.argv[1], sys.argv[2]
if kind == "strip":
    for _, topic, m in messages(path):
        print(topic, json.dumps({k: v for k, v in m.items() if k not in TIMES}, sort_keys=True))
    sys.exit(0)
want = int(sys.argv[3])
user = sys.argv[4] if len(sys.argv) > 4 else None
seen = 0
for n, topic, m in messages(path):
    if m.get("type") != kind:
        continue
    if user and not topic.startswith(f"user/{user}/"):
        sys.exit(f"{path}:{n}: {kind} for someone else on {topic}")
    try:
        globals()[kind](m, topic)
        assert ISO.match(m["timestamp"]), "timestamp is not ISO-8601"
        flat = ("positions", "workers")
        assert not any(isinstance(v, dict) for v in m.values()), "a nested object"
        assert all(k in flat for k, v in m.items() if isinstance(v, list)), "a nested list"
    except (AssertionError, KeyError, TypeError) as e:
        sys.exit(f"{path}:{n}: bad {kind} on {topic} ({type(e).__name__} {e}): {m}")
    seen += 1
sys.exit(0 if seen >= want else f"{path}: {seen} {kind} messages, fewer than {want}")
PY

# ---- the command line -----------------------------------------------------------------------
run help "$TRADING" --help
check "rtg-trading-sim --help exits 0 with the usage, topics and roles" eval '[ "$RC" -eq 0 ] &&
	grep -q "^Usage: rtg-trading-sim" "$T_DIR/help.log" &&
	grep -q -- "--models" "$T_DIR/help.log" && grep -q "system_health" "$T_DIR/help.log" &&
	grep -q "publisher,notifier" "$T_DIR/help.log"'

# usage_error NAME ARGS...: the simulator exits 2 and says why on stderr, naming itself.
usage_error() {
	local name=$1
	shift
	run "$name" "$TRADING" "$@"
	[ "$RC" -eq 2 ] && grep -q "rtg-trading-sim: " "$T_DIR/$name.log" &&
		grep -q "Try 'rtg-trading-sim --help'" "$T_DIR/$name.log"
}

i=0
for args in "--interval 0" "--interval x" "--interval 1e6" "--users a/b" "--users ," \
	"--jobs job-1,job-1" "--models m+1" "--symbols NIFTY#" "--tickers A,,B" "--count 0" \
	"--seed -1" "--bogus" "--interval" "stray"; do
	i=$((i + 1))
	# shellcheck disable=SC2086 # the words of $args are the arguments
	check "rtg-trading-sim $args exits 2 with a message" usage_error "bad$i" "${TF[@]}" $args
done
check "without --token-file it exits 2 with a message" \
	eval 'usage_error notoken --count 1 && grep -q -- "--token-file is required" "$T_DIR/notoken.log"'

# ---- every kind, on its topic ---------------------------------------------------------------
sub_start ta alice "$ALICE" 'user/alice/#' -t 'market/#' -t system/health -t studio/marketplace
sub_start tb bob "$BOB" 'user/bob/#'
run sim "${TRD[@]}" "${TF[@]}" --users alice,bob --seed 11 --interval 0.01 --count 300
check "a --count run exits 0 with every message accepted by the broker" eval '[ "$RC" -eq 0 ] &&
	grep -q "^rtg-trading-sim: 300 messages; 300 published, 0 unconfirmed, 0 failed, 0 refused" \
	"$T_DIR/sim.log"'
for kind in new_signal signal_update portfolio_update execution_update risk_alert pnl_update \
	training_update monitoring_update prediction backtest_update dashboard_update; do
	for u in alice bob; do
		expect "$u gets well-formed flat $kind on their own user/$u/... topic" \
			wait_until 10 valid "t${u:0:1}" "$kind" 1 "$u"
	done
done
for kind in sentiment_update fno_update marketplace_notification system_health market_alert; do
	expect "well-formed flat $kind arrives" wait_until 10 valid ta "$kind" 1
done
for t in user/alice/studio/training/job-2 user/alice/studio/monitoring/model-2 \
	user/alice/studio/predictions/model-2 user/alice/studio/backtest/model-2 \
	market/sentiment/BANKNIFTY market/fno/BANKNIFTY market/alerts/TSLA; do
	check "the rotation reaches $t" wait_until 10 has ta "$t {"
done
check "alice never receives bob's user/ topics" lacks ta 'user/bob/'
check "bob never receives alice's user/ topics" lacks tb 'user/alice/'
sub_start spy alice "$ALICE" 'user/bob/#'
check "alice may not subscribe to bob's topics" sub_denied spy

# ---- retained values, events not -------------------------------------------------------------
RETAINED=(user/alice/portfolio:portfolio_update user/alice/pnl:pnl_update
	market/sentiment/NIFTY:sentiment_update market/fno/BANKNIFTY:fno_update
	user/alice/studio/training/job-1:training_update
	user/alice/studio/monitoring/model-2:monitoring_update
	user/alice/studio/backtest/model-1:backtest_update
	user/alice/studio/dashboard:dashboard_update system/health:system_health)
args=()
for r in "${RETAINED[@]:1}"; do args+=(-t "${r%%:*}"); done
sub_start kept alice "$ALICE" "${RETAINED[0]%%:*}" "${args[@]}"
for r in "${RETAINED[@]}"; do
	check "${r%%:*} is retained" wait_until 10 has kept "${r%%:*} {" "\"type\":\"${r##*:}\""
done
sub_start late alice "$ALICE" user/alice/signals -t user/alice/executions -t user/alice/risk \
	-t 'user/alice/studio/predictions/+' -t studio/marketplace -t 'market/alerts/+'
pub notify "$NOTIFIER" user/alice/risk sentinel
if wait_until 10 got late 'user/alice/risk sentinel' && lacks late '"type":'; then
	ok "signals, executions, risk alerts, predictions, marketplace and market alerts are not retained"
else
	not_ok "signals, executions, risk alerts, predictions, marketplace and market alerts are not retained"
fi

# ---- a seed reproduces its messages ----------------------------------------------------------
# Times aside (and the F&O Greeks, which depend on the time to expiry: not under user/alice/).
# Sixty messages are four rounds, ten of the fifteen kinds each on user/alice/: 40.
# -R: the retained messages of the runs before are not part of a run.
for n in 1 2 3; do
	seed=5
	[ "$n" = 3 ] && seed=6
	sub_start "rep$n" alice "$ALICE" 'user/alice/#' -R
	run "rep${n}sim" "${TRD[@]}" "${TF[@]}" --users alice --seed "$seed" --interval 0.005 --count 60
	wait_until 10 at_least "rep$n" 40 'user/alice/'
	stop "$SUB_PID"
	"$PY" "$T_DIR/check_trading.py" "$T_DIR/rep$n.out" strip >"$T_DIR/rep$n.txt"
done
check "the same seed gives the same messages" eval '[ "$(wc -l <"$T_DIR/rep1.txt")" -eq 40 ] &&
	cmp -s "$T_DIR/rep1.txt" "$T_DIR/rep2.txt"'
check "another seed gives other messages" eval '! cmp -s "$T_DIR/rep1.txt" "$T_DIR/rep3.txt"'

# ---- a token without the notifier role ---------------------------------------------------------
# Thirty messages are two rounds of the fifteen kinds: six go to market/, the rest are refused.
run pubonly "${TRD[@]}" --token-file "$T_DIR/publisher.token" --interval 0.005 --count 30
check "with the publisher role only, the market/ kinds pass and the others are refused" \
	eval '[ "$RC" -eq 0 ] && grep -q \
	"^rtg-trading-sim: 30 messages; 30 published, 0 unconfirmed, 0 failed, 24 refused" \
	"$T_DIR/pubonly.log"'

# ---- SIGTERM ----------------------------------------------------------------------------------
sub_start term alice "$ALICE" 'user/alice/#' -R
spawn "$T_DIR/termsim.log" "${TRD[@]}" "${TF[@]}" --interval 0.05
TERM_PID=$SPAWNED
check "an endless run publishes" wait_until 10 has term 'user/alice/' '"type":"'
kill -TERM "$TERM_PID"
check "SIGTERM ends the simulator promptly" wait_until 5 gone "$TERM_PID"
wait "$TERM_PID"
TERM_RC=$?
check "... with status 0 and its summary" eval '[ "$TERM_RC" -eq 0 ] &&
	grep -q "^rtg-trading-sim: [0-9]* messages; " "$T_DIR/termsim.log"'

finish
