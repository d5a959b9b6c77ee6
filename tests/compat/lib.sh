# tests/compat/lib.sh - the seed-compatibility tests' harness (sourced, bash).
#
# Each tests/compat/NN-seedNNN-*.sh runs one seed application's own client code
# (taken verbatim from its document in ../shared/seeds/, only the URL and the
# token source changed) against the stack `make run` starts: the same
# scripts/run.sh, profiles/gateway.conf, ACL and simulators, on free ports and
# in this test's temporary directory. It builds on tests/integration/lib.sh
# (check, wait_until, has, token, ...; T_DIR; every process killed by pid).
#
#   start_stack            scripts/run.sh in the background; sets MQTT_PORT, HTTP_PORT,
#                          HTTP, WS, RUN_DIR, STACK_PID and RTG_SECRET_FILE (the stack's secret,
#                          so `token` mints tokens it accepts); fails the test if it does not come up
#   seed_doc NNN           the seed's document, or "" (CI clones have none)
#   stack_token SUB [ROLES] [TTL]   a token for the stack (alias of lib.sh's token)
#   need_browser           Debian's chromium and tests/compat's npm packages (playwright-core,
#                          react, react-dom, @babel/standalone, wscat; `npm ci` when missing),
#                          or the test stops with not ok
#   browser_test FILE.mjs [ENV=VALUE...]   runs a node test under tests/compat/browser/;
#                          its "ok"/"not ok" lines become this test's
#   py_test FILE [ENV=VALUE...]            the same for a Python test of tests/compat/
#   relay LABEL CMD...     the same for any command
#   normalised             stdin with blanks collapsed (comparing snippets with the seeds)
#   SEED_DIR               where the seed documents are (missing in CI clones: verbatim
#                          checks against them are then reported as SKIP)
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

COMPAT=$RTG_ROOT/tests/compat
SEED_DIR=${RTG_SEED_DIR:-$RTG_ROOT/../shared/seeds}
NODE_DIR=$COMPAT/node_modules

start_stack() {
	MQTT_PORT=$(free_port)
	HTTP_PORT=$(free_port)
	RUN_DIR=$T_DIR/run
	mkdir -p "$RUN_DIR"
	fresh_log "$T_DIR/stack.log"
	spawn "$T_DIR/stack.log" env RTG_RUN_DIR="$RUN_DIR" MQTT_PORT="$MQTT_PORT" \
		HTTP_PORT="$HTTP_PORT" RTG_BUILD="$RTG_BUILD" ALLOWED_ORIGINS="${ALLOWED_ORIGINS:-}" \
		MOSQUITTO_USER="$(id -un)" "$RTG_ROOT/scripts/run.sh"
	STACK_PID=$SPAWNED
	if ! wait_until 60 file_has "$T_DIR/stack.log" "The stack is up"; then
		not_ok "make run's stack comes up" "$(tail -n 20 "$T_DIR/stack.log")"
		finish
	fi
	RTG_SECRET_FILE=$RUN_DIR/jwt_secret
	HTTP=http://127.0.0.1:$HTTP_PORT
	WS=ws://127.0.0.1:$HTTP_PORT
	ADAPTER_PORT=$HTTP_PORT
	BROKER_PORT=$MQTT_PORT
	ok "make run's stack is up (broker on $MQTT_PORT, adapter on $HTTP_PORT)"
}

# seed_doc NNN: the path of seed NNN's document in $SEED_DIR, or "" when it is not here.
seed_doc() {
	local f
	for f in "$SEED_DIR/$1"_*.txt; do
		[ -f "$f" ] && echo "$f" && return
	done
	echo ""
}

stack_token() {
	token "$@"
}

need_browser() {
	if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then
		not_ok "chromium and node are installed" "scripts/setup.sh installs them"
		finish
	fi
	if [ ! -f "$NODE_DIR/wscat/package.json" ] || [ ! -f "$NODE_DIR/playwright-core/package.json" ]; then
		if ! (cd "$COMPAT" && npm ci --no-audit --no-fund) >"$T_DIR/npm.log" 2>&1; then
			not_ok "npm ci installs tests/compat's packages" "$(tail -n 5 "$T_DIR/npm.log")"
			finish
		fi
	fi
}

# relay LABEL CMD...: runs CMD; its "ok - X" / "not ok - X" lines become this
# test's cases, its other lines details ("# ..."); a CMD that fails without
# saying why is a failure of its own. Output in $T_DIR/LABEL.out and .err.
relay() {
	local label=$1 line status out=$T_DIR/$1.out
	shift
	"$@" >"$out" 2>"$T_DIR/$label.err"
	status=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	if [ "$status" -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
		not_ok "$label ran to its end" "status $status: $(tail -n 20 "$T_DIR/$label.err")"
	fi
}

# browser_test FILE.mjs [ENV=VALUE...]: a node test of tests/compat/browser/ (Chromium).
browser_test() {
	local file=$1
	shift
	relay "$file" env NODE_PATH="$NODE_DIR" RTG_HTTP="$HTTP" RTG_WS="$WS" RTG_T_DIR="$T_DIR" "$@" \
		node "$COMPAT/browser/$file"
}

# py_test FILE [ENV=VALUE...]: a Python test of tests/compat/ (Debian's python3,
# clients/python on its path): browser_test's twin.
py_test() {
	local file=$1
	shift
	relay "$file" env PYTHONPATH="$RTG_ROOT/clients/python" RTG_HTTP="$HTTP" RTG_WS="$WS" \
		RTG_T_DIR="$T_DIR" "$@" "$PY" "$COMPAT/$file"
}

# normalised: stdin with every run of blanks and newlines one space, trimmed (to
# compare a snippet with the seed document's whatever its indentation).
normalised() {
	tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'
}
