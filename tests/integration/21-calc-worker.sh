#!/bin/bash
# 21-calc-worker: rtg-calc-worker end to end, with the real broker, plugin and adapter.
#
# Two workers share $share/calc/calc/+/request. A WebSocket client's npv goes
# started -> processing 25/50/75 -> completed with the right result; bad
# parameters, an unknown type and a body that is not JSON end "failed" with the
# reason; 20 requests published by a gateway complete exactly once each and both
# workers take some; the last state stays retained; a worker without the calc
# role or with a token the broker refuses exits 1; SIGTERM exits 0, finishing the
# request under way and failing the queued ones with "worker shutting down"; a
# worker outlives a broker restart.
. "$(dirname "$0")/lib.sh"

broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter

ALICE=$(token alice)
GATEWAY=$(token gw1 gateway)

# start_worker NAME DELAY_MS [ROLES]: runs rtg-calc-worker as client id NAME with a token of
# ROLES (default calc; "" for none), log in NAME.log. Sets WORKER_PID.
start_worker() {
	local name=$1 delay=$2 roles=${3-calc} vg=()
	token "$name" "$roles" >"$T_DIR/$name.token"
	if [ "${RTG_VALGRIND:-0}" = 1 ]; then
		vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
			--log-file="$T_DIR/valgrind-$name.%p.log")
	fi
	fresh_log "$T_DIR/$name.log"
	spawn "$T_DIR/$name.log" "${vg[@]}" "$RTG_BUILD/rtg-calc-worker" --mqtt-port "$BROKER_PORT" \
		--token-file "$T_DIR/$name.token" --client-id "$name" --step-delay-ms "$delay"
	WORKER_PID=$SPAWNED
}

worker_subscribed() {
	file_has "$T_DIR/$1.log" "subscribed \$share/calc/calc/+/request as $1"
}

# exits_with PID STATUS: PID (a child of this shell) has ended with STATUS.
exits_with() {
	local status
	wait_until 15 eval "! kill -0 $1 2>/dev/null" || return 1
	wait "$1"
	status=$?
	[ "$status" = "$2" ] || { IS_LAST="exit status $status, expected $2"; return 1; }
}

# upd NAME EXPR: evaluates the Python EXPR over the calculation_update messages in NAME.out
# (WebSocket lines, or "topic payload" lines of mosquitto_sub): U(id) lists those of one
# calculation in order, U() all; final(id) is the last.
cat >"$T_DIR/upd.py" <<'PY'
import json, sys
def U(cid=None):
    out = []
    for line in open(sys.argv[1]):
        if line.startswith("calc/"):
            line = line.partition(" ")[2]
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if isinstance(m, dict) and m.get("type") == "calculation_update" and \
                (cid is None or m.get("calculation_id") == cid):
            out.append(m)
    return out
def final(cid):
    done = [u for u in U(cid) if u["status"] in ("completed", "failed")]
    return done[-1] if len(done) == 1 else {"status": "%d final updates" % len(done)}
print(eval(sys.argv[2]))
PY
upd() {
	"$PY" "$T_DIR/upd.py" "$T_DIR/$1.out" "$2" 2>&1
}

# isu NAME EXPR WANT: "upd NAME EXPR" prints exactly WANT (polled; lib.sh is_via).
isu() {
	is_via upd "$@"
}

# ---- the command line --------------------------------------------------------------------------
check "--help prints the usage and exits 0" \
	eval '"$RTG_BUILD/rtg-calc-worker" --help | grep -q -- "--step-delay-ms"'
"$RTG_BUILD/rtg-calc-worker" --step-delay-ms -5 --token-file /dev/null 2>"$T_DIR/args.log"
ARGS_STATUS=$?
check "a bad option value exits 1 and says why" \
	eval '[ "$ARGS_STATUS" = 1 ] && grep -q "step-delay-ms" "$T_DIR/args.log"'

# ---- two workers ---------------------------------------------------------------------------------
sub_start mon gw1 "$GATEWAY" 'calc/+/progress'
start_worker w1 20
W1=$WORKER_PID
start_worker w2 20
W2=$WORKER_PID
check "two workers take the shared subscription" \
	wait_until 15 eval 'worker_subscribed w1 && worker_subscribed w2'

# ---- a calculation from a browser ----------------------------------------------------------------
SEED_NPV='{"cash_flows":[100000,120000,140000],"discount_rate":0.10,"initial_investment":300000}'
wsc alice "$WS/ws?token=$ALICE" --timeout 30 --send \
	'{"type":"calculate","calculation_id":"n1","calculation_type":"npv","parameters":'"$SEED_NPV"'}'
ALICE_WSC=$WSC_PID
expect "an npv from a WebSocket client goes started, processing 25/50/75, completed" \
	wait_until 10 isu alice '[(u["status"], u["progress"]) for u in U("n1")]' \
	"[('started', 0), ('processing', 25), ('processing', 50), ('processing', 75), ('completed', 100)]"
expect "with the NPV of the seed example, -4733.28" \
	isu alice 'round(final("n1")["result"]["npv"], 2)' "-4733.28"
expect "every update names the calculation, the user, the type and a worker" \
	isu alice 'sorted({(u["calculation_id"], u["user_id"], u["calculation_type"],
		u["worker"] in ("w1", "w2"), u["topic"]) for u in U("n1")})' \
	"[('n1', 'alice', 'npv', True, 'calc/alice~n1/progress')]"

# ---- requests that fail ------------------------------------------------------------------------
wsc bad "$WS/ws?token=$ALICE" --timeout 30 \
	--send '{"type":"calculate","calculation_id":"bad1","calculation_type":"irr","parameters":{"cash_flows":[100,200]}}' \
	--send '{"type":"calculate","calculation_id":"bad2","calculation_type":"magic","parameters":{}}' \
	--send '{"type":"calculate","calculation_id":"bad3","calculation_type":"npv","parameters":{"cash_flows":[1]}}'
BAD_WSC=$WSC_PID
expect "an IRR without a sign change fails after starting, saying why" \
	wait_until 10 isu bad '[u["status"] for u in U("bad1")] + ["never change sign" in final("bad1")["error"]]' \
	"['started', 'processing', 'failed', True]"
expect "an unknown calculation_type fails at once, naming the known ones" \
	wait_until 10 isu bad '[(u["status"], "known: npv, irr" in u["error"]) for u in U("bad2")]' \
	"[('failed', True)]"
expect "a missing parameter fails, naming it" \
	wait_until 10 isu bad 'final("bad3")["error"]' '"discount_rate" is missing'
pub gw1 "$GATEWAY" 'calc/carol~raw/request' 'this is not JSON'
expect "a body that is not JSON gets a failed update on its progress topic" \
	wait_until 10 isu mon '[(u["status"], u["calculation_id"], u["user_id"], u["error"])
		for u in U("raw")]' "[('failed', 'raw', 'carol', 'the request is not a JSON object')]"
check "and both workers are still running" eval 'kill -0 $W1 && kill -0 $W2'

# ---- load sharing --------------------------------------------------------------------------------
for i in $(seq 1 20); do
	pub gw1 "$GATEWAY" "calc/load~r$i/request" \
		'{"type":"calculate","calculation_id":"r'"$i"'","calculation_type":"loan_amortization","user_id":"load","parameters":{"principal":'"$((1000 * i))"',"annual_rate":0.06,"months":12}}'
done
expect "20 published requests each complete exactly once" \
	wait_until 20 isu mon '[final("r%d" % i)["status"] for i in range(1, 21)] == ["completed"] * 20' True
expect "both workers did some of them" \
	isu mon 'sorted({final("r%d" % i)["worker"] for i in range(1, 21)})' "['w1', 'w2']"
expect "with the right payments (12000 at 6% over 12 months: 1032.80)" \
	isu mon 'round(final("r12")["result"]["payment"], 2)' "1032.8"

# ---- retained last state -------------------------------------------------------------------------
check "the last state of a calculation stays retained for late subscribers" eval \
	'mosquitto_sub "${MQTT_OPTS[@]}" -p "$BROKER_PORT" -u gw1 -P "$GATEWAY" -t "calc/alice~n1/progress" -C 1 -W 5 | grep -q "\"status\":\"completed\""'

# ---- a worker without the calc role ------------------------------------------------------------------
start_worker w0 0 ""
expect "a worker whose token lacks the calc role exits 1" exits_with "$WORKER_PID" 1
check "saying its subscription was refused" file_has "$T_DIR/w0.log" "does the token have role calc?"

# ---- SIGTERM ------------------------------------------------------------------------------------------
start_worker w3 1000
W3=$WORKER_PID
wait_until 15 worker_subscribed w3
kill -TERM "$W1" "$W2"
expect "an idle worker exits 0 on SIGTERM" exits_with "$W1" 0
expect "and so does the other" exits_with "$W2" 0
check "printing what it did" grep -qE '^rtg-calc-worker: w1: [0-9]+ requests, [0-9]+ completed, [0-9]+ failed' "$T_DIR/w1.log"
for k in k1 k2 k3; do
	pub gw1 "$GATEWAY" "calc/load~$k/request" \
		'{"calculation_id":"'"$k"'","calculation_type":"roi","parameters":{"cost":100,"gain":150}}'
done
wait_until 15 isu mon '[u["progress"] for u in U("k1")][-1:]' "[25]"
kill -TERM "$W3"
expect "a worker stopped mid-request exits 0" exits_with "$W3" 0
expect "after finishing the request under way" \
	isu mon '(final("k1")["status"], final("k1")["worker"], final("k1")["result"]["roi"])' \
	"('completed', 'w3', 0.5)"
expect "and failing the queued ones with \"worker shutting down\"" \
	wait_until 5 isu mon '[(final(k)["status"], final(k).get("error")) for k in ("k2", "k3")]' \
	"[('failed', 'worker shutting down'), ('failed', 'worker shutting down')]"
check "its summary counts them" \
	file_has "$T_DIR/w3.log" "rtg-calc-worker: w3: 3 requests, 1 completed, 2 failed"

# ---- a token the broker refuses ------------------------------------------------------------------
"$RTG_BUILD/rtg-token" --sub w9 --roles calc --secret-file "$RTG_FIXTURES/hs_other_secret.txt" \
	>"$T_DIR/w9.token"
spawn "$T_DIR/w9.log" "$RTG_BUILD/rtg-calc-worker" --mqtt-port "$BROKER_PORT" \
	--token-file "$T_DIR/w9.token" --client-id w9
expect "a worker whose token the broker refuses exits 1" exits_with "$SPAWNED" 1
check "saying the broker refused the connection" \
	file_has "$T_DIR/w9.log" "the broker refused the connection"

# ---- a broker restart ------------------------------------------------------------------------------
start_worker w4 0
W4=$WORKER_PID
wait_until 15 worker_subscribed w4
stop "$BROKER_PID"
start_broker
expect "after a broker restart the worker reconnects and subscribes again" \
	wait_until 15 eval '[ "$(grep -c "subscribed \$share" "$T_DIR/w4.log")" = 2 ]'
sub_start mon2 gw1 "$GATEWAY" 'calc/+/progress'
pub gw1 "$GATEWAY" 'calc/load~z1/request' '{"calculation_type":"irr","parameters":{"cash_flows":[-1000,500,500,500]}}'
expect "and serves requests again" \
	wait_until 10 isu mon2 '(final("z1")["worker"], round(final("z1")["result"]["irr_percent"], 2))' \
	"('w4', 23.38)"
kill -TERM "$W4"
expect "and still exits 0 on SIGTERM" exits_with "$W4" 0

stop "$ALICE_WSC"
stop "$BAD_WSC"
finish
