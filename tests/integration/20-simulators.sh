#!/bin/bash
# 20-simulators: rtg-market-sim and rtg-notify-sim against the real broker, the
# plugin and the project's acl/acl.conf.
#
# Every message kind arrives well formed on its topic (checked by a small python
# script below), retained ones stay retained, a seed reproduces its prices, the
# command line refuses bad input with status 2, a token without the role gets
# nothing through, SIGTERM ends a run at once with status 0, 20,000 price updates
# a second reach a counting subscriber, and a simulator rides out a broker
# restart. RTG_VALGRIND=1 also runs the simulators (not the high-rate one) under
# valgrind. Every wait polls a condition.
. "$(dirname "$0")/lib.sh"

MARKET=$RTG_BUILD/rtg-market-sim
NOTIFY=$RTG_BUILD/rtg-notify-sim
VG=()
if [ "${RTG_VALGRIND:-0}" = 1 ]; then
	VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
		--log-file="$T_DIR/valgrind-sim.%p.log")
fi

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker

token feed publisher >"$T_DIR/publisher.token"
token notify notifier >"$T_DIR/notifier.token"
token alice >"$T_DIR/alice.token"
"$RTG_BUILD/rtg-token" --sub feed --roles publisher \
	--secret-file "$RTG_FIXTURES/hs_other_secret.txt" >"$T_DIR/forged.token"
PUBLISHER=$(cat "$T_DIR/publisher.token")
ALICE=$(cat "$T_DIR/alice.token")
BOB=$(token bob)
OPS=$(token root-op ops)

# run NAME CMD...: runs CMD to its end (30 s at most), output in NAME.log; sets RC.
run() {
	local name=$1
	shift
	timeout 30 "$@" >"$T_DIR/$name.log" 2>&1
	RC=$?
}

# The simulators as commands (arrays, not functions: timeout and kill need the process).
MKT=("${VG[@]}" "$MARKET" --mqtt-port "$BROKER_PORT")
NTF=("${VG[@]}" "$NOTIFY" --mqtt-port "$BROKER_PORT")

# gone PID: the process has exited (a zombie not yet reaped counts as gone).
gone() {
	! kill -0 "$1" 2>/dev/null || [[ "$(ps -o stat= -p "$1")" == Z* ]]
}

# at_least NAME N STRING: NAME.out has at least N lines containing STRING.
at_least() {
	[ "$(grep -cF -- "$3" "$T_DIR/$1.out")" -ge "$2" ]
}

# valid NAME TYPE MIN [USER]: see check_sim.py below.
valid() {
	local name=$1
	shift
	"$PY" "$T_DIR/check_sim.py" "$T_DIR/$name.out" "$@" 2>"$T_DIR/check.last" ||
		{ IS_LAST=$(tail -n 1 "$T_DIR/check.last"); return 1; }
}

cat >"$T_DIR/check_sim.py" <<'PY'
# check_sim.py FILE TYPE MIN [USER]: every TYPE message in FILE (mosquitto_sub -F '%t %p'
# lines; other lines are skipped) is well formed and on its topic (for USER's topics
# only, if given), and there are at least MIN of them.
# check_sim.py FILE prices N: prints the ticker and price of the first N price updates.
import json, math, re, sys

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

def cents(v):
    return num(v) and abs(v * 100 - round(v * 100)) < 1e-6

def words(m, *keys):
    return all(isinstance(m[k], str) and m[k] for k in keys)

def price_update(m, t):
    assert t == "market/" + m["ticker"], "topic is not market/<ticker>"
    assert all(cents(m[k]) and m[k] > 0 for k in ("price", "open", "high", "low")), "prices"
    assert m["low"] <= m["price"] <= m["high"], "low <= price <= high"
    assert abs(m["change"] - round(m["price"] - m["open"], 2)) < 1e-6, "change"
    pct = 100 * (m["price"] - m["open"]) / m["open"]
    assert abs(m["change_percent"] - pct) < 0.006, "change_percent"
    assert isinstance(m["volume"], int) and m["volume"] > 0, "volume"
    assert isinstance(m["sent_ns"], int) and m["sent_ns"] > 10**18, "sent_ns"

def market_update(m, t):
    assert t == "market/indicators"
    assert all(num(m["data"][k]) for k in ("discount_rate", "inflation_rate",
        "market_growth", "tech_index", "ai_adoption_rate")), "data"

def market_status(m, t):
    assert t == "market/status"
    if m["status"] == "open":
        assert m["next_open"] is None and ISO.match(m["next_close"]), "open"
    else:
        assert m["status"] == "closed", "status"
        assert m["next_close"] is None and ISO.match(m["next_open"]), "closed"

def pattern_alert(m, t):
    assert t == "market/patterns/" + m["ticker"], "topic is not market/patterns/<ticker>"
    assert m["pattern_type"] in ("VCP", "cup_and_handle", "flat_base", "breakout")
    e, s, g = m["entry_price"], m["stop_price"], m["target_price"]
    assert 0 < s < e < g and num(m["score"]) and words(m, "message"), "prices"
    assert abs(m["risk_reward_ratio"] - (g - e) / (e - s)) < 0.011, "risk_reward_ratio"

def notification(m, t):
    assert t.endswith("/notifications") and words(m, "id", "title", "message")
    assert m["notification_type"] in ("transaction", "security", "savings", "info")
    assert m["priority"] in ("low", "normal", "high") and ISO.match(m["created_at"])

def transaction_update(m, t):
    assert t.endswith("/transactions") and words(m, "transaction_id", "currency")
    assert m["status"] in ("completed", "pending", "failed") and cents(m["amount"])

def balance_update(m, t):
    assert t.endswith("/balance") and words(m, "currency"), "topic"
    assert cents(m["balance"]) and m["balance"] >= 0 and cents(m["change"]), "amounts"

def credit_analysis(m, t):
    assert t.endswith("/credit") and isinstance(m["score"], int) and 300 <= m["score"] <= 850
    assert num(m["risk_score"]) and 0 <= m["risk_score"] <= 1, "risk_score"
    for k in ("factors", "recommendations"):
        assert m[k] and all(isinstance(x, str) and x for x in m[k]), k

def risk_score_update(m, t):
    assert t.endswith("/credit"), "topic"
    for k in ("risk_score", "previous_score"):
        assert num(m[k]) and 0 <= m[k] <= 1 and cents(m[k]), k
    assert m["factors"] and all(isinstance(x, str) and x for x in m["factors"]), "factors"

def system_announcement(m, t):
    assert t == "system/announcements" and words(m, "title", "message")
    assert m["level"] in ("info", "warning", "critical")

def messages(path):
    for n, line in enumerate(open(path), 1):
        topic, _, payload = line.rstrip("\n").partition(" ")
        if payload.startswith("{"):
            try:
                yield n, topic, json.loads(payload)
            except ValueError:
                sys.exit(f"{path}:{n}: not JSON: {payload[:80]}")

path, kind, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
user = sys.argv[4] if len(sys.argv) > 4 else None
if kind == "prices":
    got = [f"{m['ticker']} {m['price']}" for _, _, m in messages(path)
           if m.get("type") == "price_update"][:want]
    print("\n".join(got))
    sys.exit(0 if len(got) == want else f"{path}: {len(got)} price updates, not {want}")
seen = 0
for n, topic, m in messages(path):
    if m.get("type") != kind:
        continue
    if user and not topic.startswith(f"user/{user}/"):
        sys.exit(f"{path}:{n}: {kind} for someone else on {topic}")
    try:
        globals()[kind](m, topic)
        assert "timestamp" in m or "created_at" in m, "no time"
        assert ISO.match(m.get("timestamp", m.get("created_at"))), "time is not ISO-8601"
    except (AssertionError, KeyError, TypeError) as e:
        sys.exit(f"{path}:{n}: bad {kind} on {topic} ({type(e).__name__} {e}): {m}")
    seen += 1
sys.exit(0 if seen >= want else f"{path}: {seen} {kind} messages, fewer than {want}")
PY

# ---- the command line -----------------------------------------------------------------------
run help "$MARKET" --help
check "rtg-market-sim --help exits 0 with the usage" eval '[ "$RC" -eq 0 ] &&
	grep -q "^Usage: rtg-market-sim" "$T_DIR/help.log" &&
	grep -q -- "--pattern-interval" "$T_DIR/help.log"'
run nhelp "$NOTIFY" --help
check "rtg-notify-sim --help exits 0 with the usage" eval '[ "$RC" -eq 0 ] &&
	grep -q "^Usage: rtg-notify-sim" "$T_DIR/nhelp.log" &&
	grep -q -- "--announce-interval" "$T_DIR/nhelp.log"'

# usage_error NAME PROG ARGS...: PROG exits 2 and says why on stderr, naming itself.
usage_error() {
	local name=$1 prog=$2
	shift 2
	run "$name" "$prog" "$@"
	[ "$RC" -eq 2 ] && grep -q "$(basename "$prog"): " "$T_DIR/$name.log" &&
		grep -q "Try '$(basename "$prog") --help'" "$T_DIR/$name.log"
}

TF=(--token-file "$T_DIR/publisher.token")
i=0
for args in "--rate abc" "--rate 0" "--rate 5x" "--rate 2000000" "--count 0" "--count -3" \
	"--mqtt-port 70000" "--mqtt-port 12ab" "--tickers A/B" "--tickers AAPL,AAPL" \
	"--tickers A,,B" "--tickers A+B" "--indicators-interval nan" "--pattern-interval 0" \
	"--speed -1" "--seed -1" "--seed 1.5" "--bogus" "--rate" "stray"; do
	i=$((i + 1))
	# shellcheck disable=SC2086 # the words of $args are the arguments
	check "rtg-market-sim $args exits 2 with a message" usage_error "bad$i" "$MARKET" "${TF[@]}" $args
done
check "rtg-market-sim without --token-file exits 2 with a message" \
	eval 'usage_error notoken "$MARKET" --rate 5 &&
		grep -q -- "--token-file is required" "$T_DIR/notoken.log"'
for args in "--interval 0" "--interval x" "--users a/b" "--users ," "--announce-interval -1" \
	"--count 1e3"; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	check "rtg-notify-sim $args exits 2 with a message" usage_error "bad$i" "$NOTIFY" "${TF[@]}" $args
done

run nofile "${MKT[@]}" --token-file "$T_DIR/no-such.token" --count 1
check "a missing token file is an error (status 1), not a usage error" \
	eval '[ "$RC" -eq 1 ] && grep -q "no-such.token: No such file" "$T_DIR/nofile.log"'
run forged "${MKT[@]}" --token-file "$T_DIR/forged.token" --count 1000000
check "a token the broker refuses ends the simulator with status 1" \
	eval '[ "$RC" -eq 1 ] && grep -q "refused the connection" "$T_DIR/forged.log"'

# ---- market data --------------------------------------------------------------------------------
sub_start m1 alice "$ALICE" 'market/#' -R
M1_SUB=$SUB_PID
MARKET_ARGS=(--token-file "$T_DIR/publisher.token" --seed 42 --rate 50 --count 40
	--tickers AAPL,MSFT,NIFTY,ZZTEST)
run m1sim "${MKT[@]}" "${MARKET_ARGS[@]}" --client-id sim-test-1
check "a --count run exits 0" [ "$RC" -eq 0 ]
check "it prints its summary" grep -q \
	"^rtg-market-sim: 40 price updates; 42 published, 0 unconfirmed, 0 failed, 0 refused" \
	"$T_DIR/m1sim.log"
check "it connects with its --client-id" file_has "$T_DIR/broker.log" "as sim-test-1"
expect "all 40 price updates arrive" wait_until 10 at_least m1 40 '"type":"price_update"'
expect "price_update on market/<T> is complete and consistent" valid m1 price_update 40
expect "market_update on market/indicators has seed 001's data" valid m1 market_update 1
expect "market_status on market/status says open or closed" valid m1 market_status 1
stop "$M1_SUB"

sub_start kept alice "$ALICE" market/indicators -t market/status -t market/ZZTEST
check "market/indicators is retained" wait_until 10 has kept 'market/indicators {' market_update
check "market/status is retained" wait_until 10 has kept 'market/status {' market_status
check "market/<T> is retained" wait_until 10 has kept 'market/ZZTEST {' price_update

sub_start m2 alice "$ALICE" 'market/#' -R
M2_SUB=$SUB_PID
run m2sim "${MKT[@]}" "${MARKET_ARGS[@]}"
wait_until 10 at_least m2 40 '"type":"price_update"'
"$PY" "$T_DIR/check_sim.py" "$T_DIR/m1.out" prices 40 >"$T_DIR/prices1" 2>"$T_DIR/check.last"
"$PY" "$T_DIR/check_sim.py" "$T_DIR/m2.out" prices 40 >"$T_DIR/prices2" 2>"$T_DIR/check.last"
check "the same seed gives the same prices" eval '[ "$RC" -eq 0 ] &&
	[ "$(wc -l <"$T_DIR/prices1")" -eq 40 ] && cmp -s "$T_DIR/prices1" "$T_DIR/prices2"'
stop "$M2_SUB"

sub_start m3 alice "$ALICE" 'market/#' -R
run m3sim "${MKT[@]}" --token-file "$T_DIR/publisher.token" --seed 43 --rate 50 --count 40 \
	--tickers AAPL,MSFT,NIFTY,ZZTEST
wait_until 10 at_least m3 40 '"type":"price_update"'
"$PY" "$T_DIR/check_sim.py" "$T_DIR/m3.out" prices 40 >"$T_DIR/prices3" 2>"$T_DIR/check.last"
check "another seed gives other prices" eval '[ "$(wc -l <"$T_DIR/prices3")" -eq 40 ] &&
	! cmp -s "$T_DIR/prices1" "$T_DIR/prices3"'

# ---- pattern alerts, and SIGTERM ------------------------------------------------------------
sub_start pat alice "$ALICE" 'market/patterns/#'
spawn "$T_DIR/patsim.log" "${MKT[@]}" --token-file "$T_DIR/publisher.token" --rate 5 \
	--tickers AAPL,TSLA --pattern-interval 0.2
PAT_PID=$SPAWNED
expect "pattern_alert arrives on market/patterns/<T>" wait_until 10 valid pat pattern_alert 1
kill -TERM "$PAT_PID"
check "SIGTERM ends the simulator promptly" wait_until 5 gone "$PAT_PID"
wait "$PAT_PID"
PAT_RC=$?
check "... with status 0 and its summary" eval '[ "$PAT_RC" -eq 0 ] &&
	grep -q "^rtg-market-sim: [0-9]* price updates; " "$T_DIR/patsim.log"'

# Pattern alerts are not retained: a new subscriber gets the sentinel published after its
# SUBACK, and nothing before it.
sub_start pat2 alice "$ALICE" 'market/patterns/#'
pub feed "$PUBLISHER" market/patterns/ZZSENT sentinel
if wait_until 10 got pat2 'market/patterns/ZZSENT sentinel' && lacks pat2 pattern_alert; then
	ok "pattern alerts are not retained"
else
	not_ok "pattern alerts are not retained"
fi

# ---- a token without the publisher role ------------------------------------------------------
sub_start deny root-op "$OPS" 'market/#' -R
run denysim "${MKT[@]}" --token-file "$T_DIR/alice.token" --tickers DENYA --rate 100 --count 20
check "without the publisher role the simulator still runs to the end" [ "$RC" -eq 0 ]
check "... and reports that the broker refused its messages" eval \
	'grep -q "22 published, 0 unconfirmed, 0 failed, 22 refused by the broker" "$T_DIR/denysim.log"'
pub feed "$PUBLISHER" market/ZZSENT sentinel
if wait_until 10 got deny 'market/ZZSENT sentinel' && lacks deny 'market/DENYA' &&
	lacks deny market_status && lacks deny market_update; then
	ok "nothing published without the role reaches a subscriber"
else
	not_ok "nothing published without the role reaches a subscriber"
fi
check "the broker logs the refused writes" \
	file_has "$T_DIR/broker.log" "denied write 'market/DENYA'"

# ---- notifications ------------------------------------------------------------------------------
sub_start na alice "$ALICE" 'user/alice/#'
sub_start nb bob "$BOB" 'user/bob/#'
sub_start ann alice "$ALICE" system/announcements
run nsim "${NTF[@]}" --token-file "$T_DIR/notifier.token" --users alice,bob --seed 7 \
	--interval 0.01 --announce-interval 0.1 --count 120
check "rtg-notify-sim runs to --count and exits 0" eval '[ "$RC" -eq 0 ] && grep -q \
	"^rtg-notify-sim: 120 messages; 120 published, 0 unconfirmed, 0 failed, 0 refused" \
	"$T_DIR/nsim.log"'
for u in alice bob; do
	n=n${u:0:1}
	for kind in notification transaction_update balance_update credit_analysis \
		risk_score_update; do
		expect "$u gets well-formed $kind on its own user/$u/... topic" \
			wait_until 10 valid "$n" "$kind" 1 "$u"
	done
done
expect "system_announcement arrives on system/announcements" \
	wait_until 10 valid ann system_announcement 1
sub_start nkept alice "$ALICE" user/alice/balance -t user/alice/credit
check "user/<u>/balance is retained" wait_until 10 has nkept 'user/alice/balance {' balance_update
# credit_analysis is the topic's value; risk_score_update beside it is not retained.
check "user/<u>/credit is retained (the whole analysis)" wait_until 10 has nkept \
	'user/alice/credit {' credit_analysis

# ---- 20,000 price updates a second ---------------------------------------------------------
# Two seconds' worth at --rate 20000 (QoS 0); a mosquitto_sub -C 20000 must count them all
# within the deadline. Under valgrind the broker cannot keep up, so the rate is a tenth.
RATE=20000
[ "${RTG_VALGRIND:-0}" = 1 ] && RATE=2000
sub_start hr alice "$ALICE" 'market/+' -R -C "$RATE"
HR_SUB=$SUB_PID
spawn "$T_DIR/hrsim.log" "$MARKET" --mqtt-port "$BROKER_PORT" --token-file \
	"$T_DIR/publisher.token" --rate "$RATE" --count $((2 * RATE)) --tickers HR1,HR2,HR3,HR4
HR_SIM=$SPAWNED
check "a subscriber receives $RATE of them within the deadline" eval \
	'wait_until 20 gone "$HR_SUB" && [ "$(grep -c "^market/" "$T_DIR/hr.out")" -eq "$RATE" ]'
check "the simulator publishes all $((2 * RATE)) and exits 0" eval 'wait_until 20 gone "$HR_SIM" &&
	{ wait "$HR_SIM"; [ $? -eq 0 ]; } &&
	grep -q "^rtg-market-sim: $((2 * RATE)) price updates; $((2 * RATE + 2)) published" \
		"$T_DIR/hrsim.log"'
echo "# $(grep '^rtg-market-sim:' "$T_DIR/hrsim.log" | tail -n 1)"

# ---- a broker restart under a running simulator -------------------------------------------------
spawn "$T_DIR/rstsim.log" "${MKT[@]}" --token-file "$T_DIR/publisher.token" --rate 20 --tickers RST
RST_PID=$SPAWNED
sub_start rst1 alice "$ALICE" market/RST -R
check "before the restart the simulator publishes" \
	wait_until 10 has rst1 'market/RST {' price_update
stop "$BROKER_PID"
check "it notices the lost connection" wait_until 10 file_has "$T_DIR/rstsim.log" "connection lost"
# A simulator started while there is no broker waits for it.
spawn "$T_DIR/latesim.log" "${NTF[@]}" --token-file "$T_DIR/notifier.token" --users carol \
	--interval 0.05
LATE_PID=$SPAWNED
check "a simulator started without a broker keeps trying" \
	wait_until 10 file_has "$T_DIR/latesim.log" "cannot connect"
start_broker
sub_start rst2 alice "$ALICE" market/RST -R
check "after the broker is back it publishes again" \
	wait_until 20 has rst2 'market/RST {' price_update
sub_start late carol "$(token carol)" 'user/carol/#'
check "the simulator started before the broker publishes once it is up" \
	wait_until 20 has late 'user/carol/' '"type":"'
kill -TERM "$LATE_PID"
check "... from the same process, reconnected" eval '! gone "$RST_PID" &&
	[ "$(grep -c ": connected$" "$T_DIR/rstsim.log")" -ge 2 ]'
kill -TERM "$RST_PID"
wait_until 5 gone "$RST_PID"
wait "$RST_PID"
RST_RC=$?
check "... and still ends with status 0 on SIGTERM" [ "$RST_RC" -eq 0 ]

finish
