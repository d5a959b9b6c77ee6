#!/bin/bash
# 10-blocks: every shell block of README.md and docs/*.md runs, or says why not.
#
# tests/docs/blocks.py extracts the ```sh / ```bash / ```shell / ```console
# blocks (docs/debian.md included once it exists). Each is one case:
#   - marked <!-- not-run: WHY -->: "ok ... # SKIP WHY" (a marker without a
#     reason, or one this test does not know, is "not ok");
#   - otherwise it runs, as `bash -e`, against the stack `make run` starts
#     (scripts/run.sh, tests/compat/lib.sh start_stack) on free ports, and must
#     exit 0 within 60 s and print its <!-- expect: TEXT --> if it has one.
#     Blocks marked <!-- stream --> run each command line under rtg_stream: 4 s,
#     then stopped, and it must have printed something (a stream never ends),
#     and no '"error":' (curl exits 0 on an HTTP error).
#     Background processes a block starts are stopped with its process group.
# What a block sees, so that it runs as a reader's would on `make run`:
#   - its working directory is a scratch copy of the repository's top level
#     (symlinks to build/, acl/, profiles/, static/, adapter/, ... with run/ the
#     stack's run directory), so files a block makes (keys.json, private.pem,
#     adapter.conf) land in the test's directory;
#   - the ports written in the docs are the stack's: 1883 -> its broker's,
#     8000 -> its adapter's, 8001 -> another free port (printed per block);
#   - TOKEN (alice) and OPS (role ops) are set as README's "Connecting with
#     MQTT" sets them, PUBLISHER and NOTIFIER as docs/protocol.md's
#     "Publishing" does (a block may use what an earlier block of its page
#     set, as a reader's shell would have it); every other variable a block
#     uses it sets itself.
. "$(dirname "$0")/../compat/lib.sh"

DOCS=("$RTG_ROOT/README.md" "$RTG_ROOT"/docs/*.md)
BLOCKS=$T_DIR/blocks
mkdir -p "$BLOCKS"
(cd "$RTG_ROOT" && "$PY" tests/docs/blocks.py "$BLOCKS" "${DOCS[@]#"$RTG_ROOT"/}") \
	>"$T_DIR/manifest" 2>"$T_DIR/blocks.log"
check "blocks.py lists the documentation's shell blocks" test -s "$T_DIR/manifest"

# The extractor itself: what it must refuse, on a page made for it.
mkdir -p "$T_DIR/self"
cat >"$T_DIR/self/page.md" <<'PAGE'
<!-- not-run -->
```sh
echo a marker without its reason
```

<!-- not-run: a reason -->

```bash
echo skipped
```

<!-- stream: 5 -->
```sh
echo a marker this test does not know
```

```
curl -s http://localhost:8000/health
```

```
a diagram, not commands
```

<!-- stream -->
<!-- expect: x -->
```shell
TOKEN=$(echo t)
mosquitto_sub -t x \
  -v
```

```console
$ echo a transcript
a transcript
```

```sh
sudo systemctl restart mosquitto
```
PAGE
"$PY" "$RTG_ROOT/tests/docs/blocks.py" "$T_DIR/self" "$T_DIR/self/page.md" "$T_DIR/self/none.md" |
	cut -f 3,4,6 | tr '\t' ' ' >"$T_DIR/self/manifest"
check "blocks.py: a not-run without a reason, an unknown marker, an untagged command block, an unmarked block that changes the machine are errors" \
	diff <(printf '%s\n' "2 error -" "8 not-run -" "13 error -" "17 error -" "27 stream x" "33 run -" \
		"38 error -") "$T_DIR/self/manifest"
check "blocks.py: a console block runs its \$ lines only" diff <(echo 'echo a transcript') "$T_DIR/self/6.sh"
check "blocks.py: a stream block's commands run under rtg_stream, not its assignments or continuations" \
	diff <(printf '%s\n' 'TOKEN=$(echo t)' 'rtg_stream mosquitto_sub -t x \' '  -v') "$T_DIR/self/5.sh"

start_stack
WORK=$T_DIR/work
mkdir -p "$WORK"
for entry in "$RTG_ROOT"/*; do
	case ${entry##*/} in
	run | build) ;;
	*) ln -s "$entry" "$WORK/${entry##*/}" ;;
	esac
done
ln -s "$RUN_DIR" "$WORK/run"
ln -s "$RTG_BUILD" "$WORK/build"
EXTRA_PORT=$(free_port)
TOKEN=$(token alice "" 3600)
OPS=$(token ops ops 3600)
PUBLISHER=$(token feed publisher 3600)
NOTIFIER=$(token notify notifier 3600)
echo "# ports in the blocks: 1883 -> $MQTT_PORT, 8000 -> $HTTP_PORT, 8001 -> $EXTRA_PORT"

# prelude: what every block runs with.
cat >"$T_DIR/prelude.sh" <<PRELUDE
export TOKEN='$TOKEN' OPS='$OPS' PUBLISHER='$PUBLISHER' NOTIFIER='$NOTIFIER'
# rtg_stream CMD...: CMD for 4 s, then stopped; stopped, it must have printed something.
rtg_stream() {
	local out status
	out=\$(timeout 4 stdbuf -oL "\$@" 2>&1) && status=0 || status=\$?
	printf '%s\n' "\$out"
	if [ "\$status" -ne 0 ] && [ "\$status" -ne 124 ]; then
		echo "rtg_stream: \$1 exited with status \$status" >&2
		return "\$status"
	fi
	# curl prints an HTTP error's JSON body and exits 0: that is no stream
	if grep -q '"error":' <<<"\$out"; then
		echo "rtg_stream: \$1 was answered with an error" >&2
		return 1
	fi
	# a command that ended by itself (a publish) need not print anything
	[ "\$status" -eq 0 ] || [ -n "\$out" ] || { echo "rtg_stream: \$1 printed nothing in 4 s" >&2; return 1; }
}
PRELUDE

# run_block N: runs block N in its own process group, output in N.out; its
# status in BLOCK_STATUS (124: still running after 60 s). Waits up to 20 s
# more for EXPECT, then stops whatever the block left running.
run_block() {
	local n=$1 pid deadline
	sed -E "s/\\b1883\\b/$MQTT_PORT/g; s/\\b8000\\b/$HTTP_PORT/g; s/\\b8001\\b/$EXTRA_PORT/g" \
		"$BLOCKS/$n.sh" | cat "$T_DIR/prelude.sh" - >"$T_DIR/block-$n.sh"
	(cd "$WORK" && exec setsid bash -e "$T_DIR/block-$n.sh") >"$T_DIR/block-$n.out" 2>&1 </dev/null &
	pid=$!
	deadline=$((SECONDS + 60))
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		BLOCK_STATUS=124
	else
		wait "$pid"
		BLOCK_STATUS=$?
	fi
	[ -z "$EXPECT" ] || wait_until 20 grep -qF -- "$EXPECT" "$T_DIR/block-$n.out"
	kill -TERM -- "-$pid" 2>/dev/null
	wait_until 10 eval "! kill -0 -- -$pid 2>/dev/null" || kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

while IFS=$'\t' read -r n file line mode note EXPECT; do
	where="$file:$line"
	[ "$note" != - ] || note=
	[ "$EXPECT" != - ] || EXPECT=
	EXPECT=$(sed -E "s/\\b1883\\b/$MQTT_PORT/g; s/\\b8000\\b/$HTTP_PORT/g; s/\\b8001\\b/$EXTRA_PORT/g" <<<"$EXPECT")
	case $mode in
	not-run)
		ok "$where not run # SKIP $note"
		;;
	error)
		not_ok "$where is run or marked" "$note"
		;;
	run | stream)
		run_block "$n"
		if [ "$BLOCK_STATUS" -ne 0 ]; then
			not_ok "$where runs" "status $BLOCK_STATUS (124: still running after 60 s); its output:"
			tail -n 30 "$T_DIR/block-$n.out" | sed 's/^/#     > /'
			[ -n "${RTG_DOCS_DEBUG:-}" ] && sed "s/^/#     | /" "$T_DIR/block-$n.sh"
		elif [ -n "$EXPECT" ] && ! grep -qF -- "$EXPECT" "$T_DIR/block-$n.out"; then
			not_ok "$where runs and prints '$EXPECT'" "its output:"
			tail -n 30 "$T_DIR/block-$n.out" | sed 's/^/#     > /'
			[ -n "${RTG_DOCS_DEBUG:-}" ] && sed "s/^/#     | /" "$T_DIR/block-$n.sh"
		else
			if [ -n "$EXPECT" ]; then ok "$where runs and prints '$EXPECT'"; else ok "$where runs"; fi
		fi
		;;
	esac
done <"$T_DIR/manifest"

check "the stack still runs after the blocks" kill -0 "$STACK_PID"
# README's reload by pid files reached the stack's own broker and adapter.
check "README's reload: the broker logs 'rtg_auth: reloaded keys'" \
	wait_until 10 grep -q "rtg_auth: reloaded keys" "$RUN_DIR/mosquitto.log"
check "... and the adapter 'reloaded keys'" \
	wait_until 10 grep -q "reloaded keys (.*profiles from" "$RUN_DIR/adapter.log"
finish
