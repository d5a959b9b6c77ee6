#!/bin/bash
# 50-fuzz: every libFuzzer target of tests/fuzz/ (WebSocket messages, JWT, ACL
# file, adapter config, MQTT payload encoding, HTTP/SSE request parsing, endpoint
# profiles) builds
# with clang -fsanitize=fuzzer,address,undefined and survives a short bounded
# run from its seed corpus: no crash, leak, slow input, sanitizer report or
# broken invariant. Two targets run at a time (2 cores). `make fuzz` runs the
# same targets longer; RTG_FUZZ_SECONDS sets the time per target here.
. "$(dirname "$0")/lib.sh"

SECS=${RTG_FUZZ_SECONDS:-8}
TARGETS=(ws jwt acl config msg reqparse profile)

if ! command -v clang >/dev/null; then
	not_ok "clang is installed (scripts/setup.sh installs clang libclang-rt-14-dev)"
	finish
fi
if make -s -C "$RTG_ROOT" B="$RTG_BUILD" fuzz-build >"$T_DIR/build.log" 2>&1; then
	ok "the fuzz targets build"
else
	not_ok "the fuzz targets build" "$(tail -n 20 "$T_DIR/build.log")"
	finish
fi

# start_target NAME: runs it in the background on a scratch copy of its corpus.
start_target() {
	local t=$1
	mkdir -p "$T_DIR/corpus-$t"
	timeout $((SECS + 120)) "$RTG_BUILD/fuzz/fuzz_$t" -max_total_time="$SECS" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$T_DIR/$t-" \
		"$T_DIR/corpus-$t" "$RTG_ROOT/tests/fuzz/corpus/$t" >"$T_DIR/fuzz-$t.log" 2>&1 &
	T_PIDS+=($!)
}

# report NAME STATUS: ok only if it exited 0 after running a fair number of inputs.
report() {
	local t=$1 status=$2 runs
	runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$T_DIR/fuzz-$t.log")
	if [ "$status" -eq 0 ] && [ "${runs:-0}" -ge 1000 ]; then
		ok "fuzz_$t: $runs inputs in ${SECS}s, no crash, leak or sanitizer report"
		return
	fi
	not_ok "fuzz_$t: no crash, leak or sanitizer report (exit $status, ${runs:-0} inputs)" \
		"$(grep -E 'ERROR|runtime error|invariant|SUMMARY|Test unit written' \
			"$T_DIR/fuzz-$t.log" | head -n 8)"
	sed 's/^/#   /' "$T_DIR/fuzz-$t.log" | grep -v '^#   #' | tail -n 30
}

for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
	pair=("${TARGETS[@]:i:2}")
	pids=()
	for t in "${pair[@]}"; do
		start_target "$t"
		pids+=($!)
	done
	for j in "${!pair[@]}"; do
		wait "${pids[j]}"
		report "${pair[j]}" $?
	done
	T_PIDS=()
done

finish
