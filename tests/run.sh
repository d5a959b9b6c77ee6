#!/bin/bash
# run.sh - runs every test suite and ends with one line "N passed, N failed".
#
#   tests/run.sh               every suite: unit, integration, compat, scale, docs
#   tests/run.sh unit          only build/tests/test_* (cmocka)
#   tests/run.sh integration   only tests/integration/[0-9]*.sh
#   tests/run.sh compat        only tests/compat/[0-9]*.sh (each seed app's own client code)
#   tests/run.sh scale         only tests/scale/[0-9]*.sh (network namespaces; skipped without root)
#   tests/run.sh docs          only tests/docs/[0-9]*.sh (README.md's and docs/'s shell blocks, run)
#   RTG_TEST_FILTER=plugin tests/run.sh   only scripts/binaries whose name contains it
#
# Each cmocka test and each integration "ok"/"not ok" line counts as one
# test. A suite that crashes or exits non-zero without reporting a failure
# counts one failure more, so nothing can fail silently.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
WHAT=${1:-all}
FILTER=${RTG_TEST_FILTER:-}
PASSED=0
FAILED=0
FAILED_SUITES=()

# count_suite NAME STATUS PASSED_COUNT FAILED_COUNT
count_suite() {
	local name=$1 status=$2 p=$3 f=$4
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: exited with status $status without reporting a failure"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: ran no test"
		f=1
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	[ "$f" -gt 0 ] && FAILED_SUITES+=("$name")
	return 0
}

# sum_of REGEX FILE: the sum of the first captured number over matching lines.
sum_of() {
	sed -nE "s/$1.*/\\1/p" "$2" | awk '{ s += $1 } END { print s + 0 }'
}

run_unit() {
	local t out status
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		[ -n "$FILTER" ] && [[ "$t" != *"$FILTER"* ]] && continue
		out=$(mktemp)
		echo "# unit: $t"
		"$t" >"$out" 2>&1
		status=$?
		cat "$out"
		# cmocka ends each group with "[  PASSED  ] N test(s)." and, if any
		# failed, "[  FAILED  ] N test(s), listed below:".
		count_suite "$t" "$status" "$(sum_of '^\[  PASSED  \] ([0-9]+) test' "$out")" \
			"$(sum_of '^\[  FAILED  \] ([0-9]+) test' "$out")"
		rm -f "$out"
	done
}

# run_scripts KIND GLOB: each script counts one test per "ok"/"not ok" line.
run_scripts() {
	local kind=$1 t out status
	for t in $2; do
		[ -f "$t" ] || continue
		[ -n "$FILTER" ] && [[ "$t" != *"$FILTER"* ]] && continue
		out=$(mktemp)
		echo "# $kind: $t"
		bash "$t" >"$out" 2>&1 </dev/null
		status=$?
		cat "$out"
		count_suite "$t" "$status" "$(grep -c '^ok - ' "$out")" "$(grep -c '^not ok - ' "$out")"
		rm -f "$out"
	done
}

run_integration() {
	run_scripts integration 'tests/integration/[0-9]*.sh'
}

run_scale() {
	run_scripts scale 'tests/scale/[0-9]*.sh'
}

run_compat() {
	run_scripts compat 'tests/compat/[0-9]*.sh'
}

run_docs() {
	run_scripts docs 'tests/docs/[0-9]*.sh'
}

case "$WHAT" in
unit) run_unit ;;
integration) run_integration ;;
compat) run_compat ;;
scale) run_scale ;;
docs) run_docs ;;
all)
	run_unit
	run_integration
	run_compat
	run_scale
	run_docs
	;;
*)
	echo "usage: $0 [all|unit|integration|compat|scale|docs]" >&2
	exit 2
	;;
esac

if [ "${#FAILED_SUITES[@]}" -gt 0 ]; then
	echo "# failed suites: ${FAILED_SUITES[*]}"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
