#!/bin/bash
# 13-adapter-sse: Server-Sent Events, read with curl -N (an independent client).
#
# Every SSE endpoint, and its /realtime alias, streams the right topic's
# messages as id:/event:/data: events; the token comes by header, cookie or
# ?token=; a missing or bad token is 401 JSON, a forbidden topic 403, an
# unknown path 404. Last-Event-ID resumes without losing or repeating
# anything; an id that cannot be resumed gives an "event: gap"; heartbeat
# comments keep the stream open.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
HISTORY_SIZE=4
start_adapter --sse-heartbeat 1 --history-size "$HISTORY_SIZE"

ALICE=$(token alice)
BOB=$(token bob)
PUBLISHER=$(token feed publisher)
NOTIFIER=$(token notify notifier)
CALC=$(token worker calc)

# sse NAME PATH [CURL ARGS...]: streams $HTTP$PATH with curl -N in the background,
# the body in $T_DIR/NAME.out, the response headers in $T_DIR/NAME.hdr. Sets SSE_PID.
sse() {
	local name=$1 path=$2
	shift 2
	: >"$T_DIR/$name.out"
	: >"$T_DIR/$name.hdr"
	curl -s -N --max-time 100 -D "$T_DIR/$name.hdr" "$@" "$HTTP$path" >"$T_DIR/$name.out" \
		2>"$T_DIR/$name.err" &
	SSE_PID=$!
	T_PIDS+=("$SSE_PID")
}

# connected NAME: the stream NAME has its first event (the connection event), or
# for an endpoint without a greeting (seed 000's /realtime/sse/...) its retry hint.
connected() {
	file_has "$T_DIR/$1.out" "event: connection" || file_has "$T_DIR/$1.out" "retry: "
}

# ev NAME EXPR: evaluates the Python expression EXPR over the events of stream
# NAME and prints the result. In EXPR: E (every event, a dict of its fields:
# "id", "event", "data" (text) and "d" (data parsed as JSON, or None)),
# C (the comment lines), R (blocks without data, such as "retry:"), msgs(topic) (the data events of topic), marks(evs)
# (the "mark" members of the events' data).
ev() {
	"$PY" - "$T_DIR/$1.out" "$2" <<'PY'
import json, sys
E, C, R, cur = [], [], [], {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if not line:
        if "data" in cur or "event" in cur:
            E.append(cur)
        elif cur:
            R.append(cur)
        cur = {}
        continue
    if line.startswith(":"):
        C.append(line)
        continue
    k, _, v = line.partition(":")
    v = v[1:] if v.startswith(" ") else v
    cur[k] = cur[k] + "\n" + v if k == "data" and k in cur else v
for e in E:
    try:
        e["d"] = json.loads(e["data"]) if "data" in e else None
    except ValueError:
        e["d"] = None
def msgs(topic=None):
    return [e for e in E if isinstance(e.get("d"), dict) and "seq" in e["d"]
            and (topic is None or e["d"].get("topic") == topic)]
def marks(evs):
    return [e["d"].get("mark") for e in evs]
print(eval(sys.argv[2]))
PY
}

# is_rsub NAME WANT: the "mark"s of the events rtg-sub NAME printed are WANT.
is_rsub() {
	local got
	got=$("$PY" -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    try:
        d = json.loads(line).get("data")
    except ValueError:
        continue
    if isinstance(d, dict) and "mark" in d:
        out.append(d["mark"])
print(out)' "$T_DIR/$1.out")
	[ "$got" = "$2" ] && return 0
	IS_LAST="$1: got $got, expected $2"
	return 1
}

# is NAME EXPR WANT: "ev NAME EXPR" prints exactly WANT (lib.sh is_via).
is() {
	is_via ev "$@"
}

# status NAME: the HTTP status of stream or request NAME (from NAME.hdr).
status() {
	awk 'NR == 1 {print $2}' "$T_DIR/$1.hdr"
}

# get NAME PATH [CURL ARGS...]: a plain request; body in NAME.out, headers in NAME.hdr.
get() {
	local name=$1 path=$2
	shift 2
	curl -s --max-time 10 -D "$T_DIR/$name.hdr" -o "$T_DIR/$name.out" "$@" "$HTTP$path"
}

# ---- every endpoint gets its topic's messages ------------------------------------------------------
# name | path | auth (h: header, c: cookie, q: ?token=) | filters the adapter subscribes | topic to publish
# The /realtime/sse/... endpoints are seed 000's: no greeting, and unnamed events
# (profiles/gateway.conf), so that EventSource.onmessage gets them.
ENDPOINT_PIDS=()
ENDPOINTS=(
	"query|/sse?topic=market/QA&topic=user/alice/alerts|h|market/QA user/alice/alerts|market/QA user/alice/alerts"
	"updates|/sse/market-updates|c|market/+|market/QB"
	"ticker|/sse/market/QC|q|market/QC|market/QC"
	"notes|/sse/notifications|h|user/alice/notifications|user/alice/notifications"
	"credit|/sse/credit-score/alice|c|user/alice/credit|user/alice/credit"
	"rquery|/realtime/sse?topic=rooms/lobby|q|rooms/lobby|rooms/lobby"
	"rupdates|/realtime/sse/market-updates|h|market/+|market/QD"
	"rticker|/realtime/sse/market/QE|c|market/QE|market/QE"
	"rnotes|/realtime/sse/notifications|q|user/alice/notifications|user/alice/notifications"
	"rcredit|/realtime/sse/credit-score/alice|h|user/alice/credit|user/alice/credit"
)
# unnamed PATH: the endpoint's events have no event: line (and it sends no greeting).
unnamed() {
	[[ $1 == /realtime/sse/* ]]
}
for e in "${ENDPOINTS[@]}"; do
	IFS='|' read -r name path auth filters topics <<<"$e"
	case $auth in
	h) sse "$name" "$path" -H "Authorization: Bearer $ALICE" ;;
	c) sse "$name" "$path" --cookie "rtg_token=$ALICE" ;;
	q) sse "$name" "$path$([[ $path == *\?* ]] && echo '&' || echo '?')token=$ALICE" ;;
	esac
	ENDPOINT_PIDS+=("$SSE_PID")
done
for e in "${ENDPOINTS[@]}"; do
	IFS='|' read -r name path auth filters topics <<<"$e"
	wait_until 10 connected "$name"
	for f in $filters; do wait_until 10 broker_has_sub "$f"; done
done
# bob's copies of each user topic, which no stream of alice's may show
for t in notifications alerts credit; do
	pub notify "$NOTIFIER" "user/bob/$t" '{"type":"notification","mark":"bob-secret"}'
done
pub feed "$PUBLISHER" market/QZ '{"type":"price_update","mark":"market-QZ"}'
for e in "${ENDPOINTS[@]}"; do
	IFS='|' read -r name path auth filters topics <<<"$e"
	for t in $topics; do
		case $t in
		market/*) pub feed "$PUBLISHER" "$t" "{\"type\":\"price_update\",\"mark\":\"$name:$t\"}" ;;
		rooms/*) pub alice "$ALICE" "$t" "{\"type\":\"room_message\",\"mark\":\"$name:$t\"}" ;;
		*) pub notify "$NOTIFIER" "$t" "{\"type\":\"notification\",\"mark\":\"$name:$t\"}" ;;
		esac
	done
done
for e in "${ENDPOINTS[@]}"; do
	IFS='|' read -r name path auth filters topics <<<"$e"
	case $auth in h) how="an Authorization header" ;; c) how="the rtg_token cookie" ;; *) how="?token=" ;; esac
	expect "$path (token by $how) answers 200 text/event-stream" \
		eval "[ \"\$(status $name)\" = 200 ] && grep -qi '^content-type: text/event-stream' \"\$T_DIR/$name.hdr\""
	u=$(unnamed "$path" && echo True || echo False)
	if [ "$u" = True ]; then
		expect "$path sends no greeting, and no event: line at all" \
			is "$name" '[e for e in E if "event" in e or (e["d"] or {}).get("type") == "connection"]' "[]"
	else
		expect "$path first sends a connection event for alice with its filters" \
			is "$name" '[(e["event"], e["d"]["user_id"], " ".join(e["d"]["topics"])) for e in E if e.get("event") == "connection"]' \
			"[('connection', 'alice', '$filters')]"
	fi
	for t in $topics; do
		expect "$path receives $t as an id:/event:/data: event" \
			wait_until 10 file_has "$T_DIR/$name.out" "\"mark\":\"$name:$t\""
		expect "$path: that event has the adapter's id, the message type as event (or none), the topic and seq in data" \
			is "$name" "[(e['id'].rsplit('-', 1)[1].isdigit(), e['id'].rsplit('-', 1)[0] == e['d']['epoch'].rsplit('-', 1)[0], e.get('event', e['d']['type'] if $u else None) == e['d']['type'], e['d']['topic'], 'seq' in e['d']) for e in msgs('$t') if e['d'].get('mark') == '$name:$t']" \
			"[(True, True, True, '$t', True)]"
	done
done
# market-updates streams see every market/ topic; the others only theirs.
wait_until 10 file_has "$T_DIR/updates.out" '"mark":"market-QZ"'
expect "/sse/market-updates receives every market/+ topic" \
	is updates '{e["d"]["topic"] for e in msgs()} >= {"market/QA", "market/QB", "market/QC", "market/QD", "market/QE", "market/QZ"}' True
for e in "${ENDPOINTS[@]}"; do
	IFS='|' read -r name path auth filters topics <<<"$e"
	[ "$filters" = market/+ ] && continue
	expect "$path receives no other topic, and nothing of bob's" \
		eval "is $name 'sorted({e[\"d\"][\"topic\"] for e in msgs()} - set(\"$topics\".split()))' '[]' && ! grep -q bob-secret \"\$T_DIR/$name.out\""
done
expect "the ids of one stream grow with every event" \
	is updates '(lambda ids: ids == sorted(ids) and len(set(ids)) == len(ids))([int(e["id"].rsplit("-", 1)[1]) for e in msgs()])' True

for pid in "${ENDPOINT_PIDS[@]}"; do stop "$pid"; done

# ---- calculations: after a WebSocket calculate and after POST /api/calculations ----------------------
sub_start worker worker "$CALC" '$share/calc/calc/+/request'
wsc wcalc "$WS/ws?token=$ALICE" \
	--send '{"type":"calculate","calculation_id":"ws1","calculation_type":"npv","parameters":{}}' --timeout 60
wait_until 10 has wcalc '"type":"calculation_accepted"'
wait_until 10 grep -qF 'calc/alice~ws1/request' "$T_DIR/worker.out"
sse calc_ws /sse/calculation/ws1 -H "Authorization: Bearer $ALICE"
sse rcalc_ws /realtime/sse/calculation/ws1 --cookie "rtg_token=$ALICE"
sse bob_calc /sse/calculation/ws1 -H "Authorization: Bearer $BOB"
wait_until 10 connected calc_ws
wait_until 10 connected rcalc_ws
wait_until 10 connected bob_calc
pub worker "$CALC" 'calc/alice~ws1/progress' \
	'{"type":"calculation_update","calculation_id":"ws1","status":"processing","progress":40,"mark":"ws1-40"}'
expect "/sse/calculation/{id} after a WebSocket calculate streams its progress" \
	wait_until 10 file_has "$T_DIR/calc_ws.out" '"mark":"ws1-40"'
expect "and as event: calculation_update" \
	is calc_ws '[(e["event"], e["d"]["topic"]) for e in msgs()]' "[('calculation_update', 'calc/alice~ws1/progress')]"
expect "/realtime/sse/calculation/{id} streams it too" \
	wait_until 10 file_has "$T_DIR/rcalc_ws.out" '"mark":"ws1-40"'
expect "bob's stream of the same calculation id does not get alice's progress" \
	eval 'wait_until 10 has wcalc "\"mark\":\"ws1-40\"" && ! grep -q ws1-40 "$T_DIR/bob_calc.out"'

code=$(curl -s -o "$T_DIR/hcalc.out" -w '%{http_code}' --max-time 10 -X POST \
	-H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' \
	-d '{"calculation_type":"npv","parameters":{"rate":0.05}}' "$HTTP/api/calculations")
CID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["calculation_id"])' "$T_DIR/hcalc.out")
PURL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["progress_url"])' "$T_DIR/hcalc.out")
expect "POST /api/calculations answers 202 with an id and its progress URL" \
	eval '[ "$code" = 202 ] && [ -n "$CID" ] && [ "$PURL" = "/sse/calculation/$CID" ]'
expect "the calc worker gets that request" wait_until 10 grep -qF "calc/alice~$CID/request" "$T_DIR/worker.out"
# The worker's retained last state is there for a stream that starts later.
pub worker "$CALC" "calc/alice~$CID/progress" \
	"{\"type\":\"calculation_update\",\"calculation_id\":\"$CID\",\"status\":\"completed\",\"progress\":100,\"mark\":\"http-done\"}" -r
sse calc_http "$PURL" -H "Authorization: Bearer $ALICE"
expect "the progress URL then streams the calculation's retained last state" \
	wait_until 10 eval "is calc_http '[(e[\"event\"], e[\"d\"][\"status\"], e[\"d\"][\"calculation_id\"]) for e in msgs()]' \"[('calculation_update', 'completed', '$CID')]\""

# ---- one calculation id rule: starting or following, on every transport ---------------------------
# "a.b" is a valid topic level but no calculation id (adapter/calcs.h: 1-64 of A-Z a-z 0-9 _ -), so
# it can be neither started nor followed, over WebSocket, HTTP or SSE alike.
wsc badid "$WS/ws?token=$ALICE" \
	--send '{"type":"calculate","calculation_id":"a.b","calculation_type":"npv","parameters":{}}' \
	--send '{"type":"subscribe","channel":"calculation","calculation_id":"a.b"}' --timeout 60
expect "a WebSocket calculate with the id a.b is refused" \
	wait_until 10 has badid '"type":"error"' 'calculation_id\" must be 1-64 characters'
expect "a WebSocket subscription to calculation a.b is refused by the same rule" \
	wait_until 10 has badid '"type":"error"' 'it must be 1-64 characters'
code=$(curl -s -o "$T_DIR/badid_post.out" -w '%{http_code}' --max-time 10 -X POST \
	-H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' \
	-d '{"calculation_id":"a.b","calculation_type":"npv","parameters":{}}' "$HTTP/api/calculations")
expect "POST /api/calculations with the id a.b answers 400" \
	eval '[ "$code" = 400 ] && grep -q "must be 1-64 characters" "$T_DIR/badid_post.out"'
for path in /sse/calculation/a.b /realtime/sse/calculation/a.b; do
	get badid_sse "$path" -H "Authorization: Bearer $ALICE"
	expect "$path answers 400 by the same rule" \
		eval '[ "$(status badid_sse)" = 400 ] && grep -q "it must be 1-64 characters" "$T_DIR/badid_sse.out"'
done
expect "nothing was asked of a worker for a.b" eval '! grep -qF "~a.b/" "$T_DIR/worker.out"'
stop "$WSC_PID"

# ---- refusals ------------------------------------------------------------------------------------------
OTHER_KEY=$("$RTG_BUILD/rtg-token" --sub alice --secret-file "$RTG_FIXTURES/hs_other_secret.txt")
REFUSALS=(
	"401|no token|/sse/notifications"
	"401|a bad signature|/sse/market-updates|-H|Authorization: Bearer $OTHER_KEY"
	"401|an expired token|/sse/market/QA?token=$(token alice "" -100)"
	"401|a garbage cookie|/sse/notifications|--cookie|rtg_token=garbage"
	"401|no token on the alias|/realtime/sse/notifications"
	"403|bob's credit score|/sse/credit-score/bob|-H|Authorization: Bearer $ALICE"
	"403|bob's credit score on the alias|/realtime/sse/credit-score/bob|-H|Authorization: Bearer $ALICE"
	"403|?topic=user/bob/notifications|/sse?topic=user/bob/notifications|-H|Authorization: Bearer $ALICE"
	"403|one forbidden topic among allowed ones|/sse?topic=market/QA&topic=calc/%23|-H|Authorization: Bearer $ALICE"
	"404|an unknown /sse path|/sse/nope|-H|Authorization: Bearer $ALICE"
	"404|an unknown /realtime/sse path|/realtime/sse/market-updates/extra/nope|-H|Authorization: Bearer $ALICE"
)
i=0
for r in "${REFUSALS[@]}"; do
	IFS='|' read -r want what path a1 a2 <<<"$r"
	i=$((i + 1))
	args=()
	[ -n "${a1:-}" ] && args=("$a1" "$a2")
	get "refused$i" "$path" "${args[@]}"
	expect "SSE with $what answers $want with a JSON error" \
		eval "[ \"\$(status refused$i)\" = $want ] && grep -qi '^content-type: application/json' \"\$T_DIR/refused$i.hdr\" && \
			$PY -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(not (d[\"status\"] == $want and d[\"error\"]))' \"\$T_DIR/refused$i.out\""
done
expect "a 401 says the token is invalid" grep -q '"error":"invalid token: ' "$T_DIR/refused2.out"
expect "an expired token says so" grep -q 'expired' "$T_DIR/refused3.out"

# ---- Last-Event-ID: resume without losing or repeating ----------------------------------------------
# A WebSocket client keeps the adapter following both topics while the stream is away.
wsc keep "$WS/ws?token=$ALICE" --send '{"type":"subscribe","topic":"market/LE"}' \
	--send '{"type":"subscribe","topic":"user/alice/balance"}' --timeout 100
wait_until 10 eval '[ "$(grep -c "\"action\":\"subscribed\"" "$T_DIR/keep.out")" = 2 ]'
wait_until 10 broker_has_sub market/LE
wait_until 10 broker_has_sub user/alice/balance
LE_PATH='/sse?topic=market/LE&topic=user/alice/balance'
sse le1 "$LE_PATH" -H "Authorization: Bearer $ALICE"
LE1_PID=$SSE_PID
wait_until 10 connected le1
pub feed "$PUBLISHER" market/LE '{"type":"price_update","mark":"le-1"}'
pub notify "$NOTIFIER" user/alice/balance '{"type":"balance_update","mark":"le-2"}'
wait_until 10 file_has "$T_DIR/le1.out" '"mark":"le-2"'
stop "$LE1_PID"
LAST=$(ev le1 'msgs()[-1]["id"]')
expect "the stream saw both messages, each with an id" is le1 'marks(msgs())' "['le-1', 'le-2']"
pub feed "$PUBLISHER" market/LE '{"type":"price_update","mark":"le-3"}'
pub notify "$NOTIFIER" user/alice/balance '{"type":"balance_update","mark":"le-4"}'
pub feed "$PUBLISHER" market/LE '{"type":"price_update","mark":"le-5"}'
wait_until 10 has keep '"mark":"le-5"'
sse le2 "$LE_PATH" -H "Authorization: Bearer $ALICE" -H "Last-Event-ID: $LAST"
wait_until 10 file_has "$T_DIR/le2.out" '"mark":"le-5"'
pub feed "$PUBLISHER" market/LE '{"type":"price_update","mark":"le-6"}'
wait_until 10 file_has "$T_DIR/le2.out" '"mark":"le-6"'
expect "resuming with Last-Event-ID gets exactly the missed messages of both topics, in order, then live ones" \
	is le2 'marks(msgs())' "['le-3', 'le-4', 'le-5', 'le-6']"
expect "with ids that go on after the last one seen" \
	is le2 "[int(e['id'].rsplit('-', 1)[1]) > int('$LAST'.rsplit('-', 1)[1]) for e in msgs()]" '[True, True, True, True]'
expect "and no gap event" is le2 '[e["event"] for e in E if e.get("event") == "gap"]' '[]'

# -q hides the connection event, so -C 4 is exactly the 4 missed messages.
rsub le3 --sse --path "$LE_PATH" --token "$ALICE" --last-event-id "$LAST" -q -C 4 -W 20
expect "rtg-sub --sse --last-event-id resumes the same way" \
	wait_until 10 eval "is_rsub le3 \"['le-3', 'le-4', 'le-5', 'le-6']\""

# ---- ids that cannot be resumed: event: gap ---------------------------------------------------------
sse foreign "$LE_PATH" -H "Authorization: Bearer $ALICE" -H "Last-Event-ID: 0badc0de-2"
wait_until 10 connected foreign
wait_until 10 file_has "$T_DIR/foreign.out" '"mark":"le-6"'
expect "an id of another adapter run gives an event: gap naming it, before the held messages" \
	is foreign '[(e["event"], e["d"].get("last_event_id")) for e in E][:2]' "[('connection', None), ('gap', '0badc0de-2')]"
expect "followed by every message held" is foreign 'marks(msgs())' "['le-1', 'le-2', 'le-3', 'le-4', 'le-5', 'le-6']"

# le-1's position is stale once market/LE has pushed it out of its $HISTORY_SIZE slots.
FIRST=$(ev le1 'msgs()[0]["id"]')
for i in 7 8 9 10 11; do
	pub feed "$PUBLISHER" market/LE "{\"type\":\"price_update\",\"mark\":\"le-$i\"}"
done
wait_until 10 has keep '"mark":"le-11"'
sse stale "$LE_PATH" -H "Authorization: Bearer $ALICE" -H "Last-Event-ID: $FIRST"
wait_until 10 connected stale
wait_until 10 file_has "$T_DIR/stale.out" '"mark":"le-11"'
expect "an id whose successors were pushed out of the history gives an event: gap" \
	is stale '[e["event"] for e in E][:2]' "['connection', 'gap']"
expect "followed by what is still held" is stale 'marks(msgs())' "['le-2', 'le-4', 'le-8', 'le-9', 'le-10', 'le-11']"

# The stream was the topic's only subscriber: once it left, the adapter stopped
# following the topic at the broker and never saw what came next. A resume
# cannot be complete then, and must say so with an event: gap.
sse solo /sse?topic=user/alice/transactions -H "Authorization: Bearer $ALICE"
SOLO_PID=$SSE_PID
wait_until 10 connected solo
wait_until 10 broker_has_sub user/alice/transactions
pub notify "$NOTIFIER" user/alice/transactions '{"type":"transaction_update","mark":"solo-1"}'
wait_until 10 file_has "$T_DIR/solo.out" '"mark":"solo-1"'
stop "$SOLO_PID"
SOLO_LAST=$(ev solo 'msgs()[-1]["id"]')
expect "when its only stream leaves, the adapter unsubscribes the topic at the broker" \
	wait_until 10 broker_unsubscribed user/alice/transactions
pub notify "$NOTIFIER" user/alice/transactions '{"type":"transaction_update","mark":"solo-2"}'
sse solo2 /sse?topic=user/alice/transactions -H "Authorization: Bearer $ALICE" -H "Last-Event-ID: $SOLO_LAST"
wait_until 10 connected solo2
wait_until 10 eval '[ "$(grep -c "	user/alice/transactions (QoS" "$T_DIR/broker.log")" = 2 ]'
pub notify "$NOTIFIER" user/alice/transactions '{"type":"transaction_update","mark":"solo-3"}'
wait_until 10 file_has "$T_DIR/solo2.out" '"mark":"solo-3"'
expect "a resume over a message the adapter never saw gets it, or an event: gap" \
	eval 'grep -q "\"mark\":\"solo-2\"" "$T_DIR/solo2.out" || grep -q "^event: gap" "$T_DIR/solo2.out"'

# ---- heartbeat -------------------------------------------------------------------------------------------
expect "a heartbeat comment arrives every --sse-heartbeat seconds" \
	wait_until 10 eval '[ "$(grep -c "^: heartbeat" "$T_DIR/le2.out")" -ge 2 ]'
expect "as a comment line in a block of its own" "$PY" -c '
import re, sys
after = re.findall(r"^: heartbeat \d+\n(.?)", open(sys.argv[1]).read(), re.M)
sys.exit(not after or any(after))' "$T_DIR/le2.out"

finish
