#!/bin/bash
# 20-publishing: docs/protocol.md's Publishing examples give browsers what it says.
#
# On the stack of `make run` (scripts/run.sh on free ports), an SSE client of
# demo user alice follows the topics of the examples; then every shell block
# of the "## Publishing" section runs as tests/docs/10-blocks.sh runs it
# (1883 and 8000 replaced by the stack's ports). Each documented "browsers
# get" JSON must then have arrived (tests/docs/publishing.py: the same
# members in the same order and values, seq and epoch aside). The README's
# own publish examples are checked the same way, by their effect.
. "$(dirname "$0")/../compat/lib.sh"

start_stack
ALICE=$(token alice "" 3600)
SSE_URL="$HTTP/sse?topic=user/alice/notifications&topic=user/alice/balance&topic=market/DEMO&topic=market/AAPL"
curl -sN -H "Authorization: Bearer $ALICE" "$SSE_URL" >"$T_DIR/sse.out" 2>"$T_DIR/sse.log" &
T_PIDS+=("$!")
check "alice's SSE stream is open" wait_until 20 grep -q '^data: ' "$T_DIR/sse.out"

mkdir -p "$T_DIR/blocks" "$T_DIR/work"
(cd "$RTG_ROOT" && "$PY" tests/docs/blocks.py "$T_DIR/blocks" docs/protocol.md) >"$T_DIR/manifest"
FROM=$(grep -n '^## Publishing' "$RTG_ROOT/docs/protocol.md" | cut -d: -f1)
UNTIL=$(awk -v f="$FROM" 'NR > f && /^## / {print NR; exit}' "$RTG_ROOT/docs/protocol.md")
ln -s "$RTG_BUILD" "$T_DIR/work/build"
ln -s "$RUN_DIR" "$T_DIR/work/run"
{
	while IFS=$'\t' read -r n _ line mode _; do
		[ "$line" -gt "$FROM" ] && [ "$line" -lt "${UNTIL:-999999}" ] && [ "$mode" = run ] || continue
		echo "# --- docs/protocol.md:$line"
		sed -E "s/\\b1883\\b/$MQTT_PORT/g; s/\\b8000\\b/$HTTP_PORT/g" "$T_DIR/blocks/$n.sh"
	done <"$T_DIR/manifest"
} >"$T_DIR/publishing.sh"
check "the Publishing section has examples to run" grep -q mosquitto_pub "$T_DIR/publishing.sh"
check "the Publishing examples run" eval '(cd "$T_DIR/work" && bash -e "$T_DIR/publishing.sh") \
	>"$T_DIR/publishing.log" 2>&1'
WANT=$(grep -c '^ok - \|^not ok - ' < <("$PY" "$RTG_ROOT/tests/docs/publishing.py" \
	"$RTG_ROOT/docs/protocol.md" /dev/null))
all_arrived() {
	[ "$("$PY" "$RTG_ROOT/tests/docs/publishing.py" "$RTG_ROOT/docs/protocol.md" \
		"$T_DIR/sse.out" | grep -c '^ok - ')" -eq "$WANT" ]
}
wait_until 20 all_arrived
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < <("$PY" "$RTG_ROOT/tests/docs/publishing.py" "$RTG_ROOT/docs/protocol.md" "$T_DIR/sse.out")

# The cleared retained value: a new subscriber of market/DEMO gets the price
# broadcast's (retained) value, not the cleared first one.
check "the retained DEMO price is the broadcast's" eval \
	'curl -s --max-time 3 -N -H "Authorization: Bearer $ALICE" "$HTTP/sse?topic=market/DEMO" |
	grep -q "\"price\":150.25"'
finish
