#!/bin/bash
# 33-js-package: the JS client as an npm package (clients/js), end to end.
#
# Type declarations: tsc --noEmit (typescript pinned in clients/js/package.json,
# installed there by `npm ci` when missing) over clients/js/types-test as a Node
# program (no DOM library) and as a browser one, and tests/js/api_check.mjs: the
# declared exports and class members are exactly the module's.
# The package: `npm pack` in clients/js; the tarball holds only rtg-client.js
# (the very file the adapter serves), rtg-client.d.ts, README.md and
# package.json, which has no runtime dependency and `ws` only as an optional
# peer. A temporary project installs the tarball and `ws`, and a Node program
# importing "rtg-client" by name (tests/js/pack_client.mjs) subscribes through
# a real adapter and broker and gets what mosquitto_pub publishes: with the `ws`
# the package finds by itself, with options.WebSocket, and (a second project,
# without `ws`) with Node's global WebSocket; without either it gets an error
# naming `ws`. tsc also checks a typed program against the installed package, and
# esbuild bundles it for the browser where no `ws` is installed.
# Needs node and npm, and the npm registry (typescript, ws, esbuild).
. "$(dirname "$0")/lib.sh"

PKG=$RTG_ROOT/clients/js
TSC=$PKG/node_modules/typescript/bin/tsc
WS_VERSION=8.23.0 # the bench peers' version (bench/peers/package.json)
NPM=(npm --no-audit --no-fund --loglevel=error)

# ---- prerequisites -------------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "node and npm are installed" \
		"node or npm is missing: scripts/setup.sh must install Node.js (Debian 'nodejs' and 'npm')"
	finish
fi
if [ ! -f "$PKG/node_modules/typescript/package.json" ]; then
	if ! (cd "$PKG" && "${NPM[@]}" ci) >"$T_DIR/npm-ci.log" 2>&1; then
		not_ok "npm ci installs typescript in clients/js" "$(tail -n 5 "$T_DIR/npm-ci.log")"
		finish
	fi
fi
ok "node $(node --version), npm $(npm --version), typescript $(node "$TSC" --version | awk '{print $2}')"

# ---- the declarations ----------------------------------------------------------------------------
# tsc_ok NAME LOG CMD...: CMD (a tsc run) exits 0; its diagnostics in the report if not.
tsc_ok() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then ok "$name"; else not_ok "$name" "$(head -n 20 "$log")"; fi
}
tsc_ok "tsc --noEmit: the declarations as a Node program uses them (no DOM lib)" \
	"$T_DIR/tsc-node.log" node "$TSC" -p "$PKG/tsconfig.json"
tsc_ok "tsc --noEmit: the declarations as a browser project uses them (DOM WebSocket, elements)" \
	"$T_DIR/tsc-dom.log" node "$TSC" -p "$PKG/tsconfig.dom.json"

# relay: each "ok"/"not ok" line of FILE becomes one line of this test, "#   " details kept.
relay() {
	local prefix=$1 file=$2 line
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "$prefix${line#ok - }" ;;
		"not ok - "*)
			not_ok "$prefix${line#not ok - }" "$(grep -A1 -F -- "$line" "$file" | sed -n '2s/^#   //p')"
			;;
		esac
	done <"$file"
}
node "$RTG_ROOT/tests/js/api_check.mjs" "$PKG/node_modules/typescript" "$PKG" >"$T_DIR/api.out" 2>&1
status=$?
relay "api: " "$T_DIR/api.out"
[ "$status" -eq 0 ] || grep -q '^not ok' "$T_DIR/api.out" ||
	not_ok "api_check.mjs runs" "$(tail -n 10 "$T_DIR/api.out")"

# ---- npm pack --------------------------------------------------------------------------------------
mkdir -p "$T_DIR/pack"
if ! (cd "$PKG" && "${NPM[@]}" pack --pack-destination "$T_DIR/pack") >"$T_DIR/pack.log" 2>&1; then
	not_ok "npm pack makes a tarball" "$(tail -n 5 "$T_DIR/pack.log")"
	finish
fi
TARBALL=$(ls "$T_DIR"/pack/rtg-client-*.tgz)
ok "npm pack makes $(basename "$TARBALL")"

tar -tzf "$TARBALL" | sort >"$T_DIR/files.out"
printf '%s\n' package/README.md package/package.json package/rtg-client.d.ts package/rtg-client.js \
	>"$T_DIR/files.want"
check "the tarball holds package.json, rtg-client.js, rtg-client.d.ts, README.md and nothing else" \
	diff -u "$T_DIR/files.want" "$T_DIR/files.out"

mkdir -p "$T_DIR/unpacked"
tar -xzf "$TARBALL" -C "$T_DIR/unpacked"
check "its rtg-client.js is clients/js/rtg-client.js byte for byte" \
	cmp -s "$T_DIR/unpacked/package/rtg-client.js" "$PKG/rtg-client.js"
check "and so is the static/rtg-client.js the adapter serves" \
	cmp -s "$RTG_ROOT/static/rtg-client.js" "$PKG/rtg-client.js"

# pkg_json - EXPR: prints EXPR, python over the packed package.json as P (for is_via).
pkg_json() {
	"$PY" -c 'import json, sys; P = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$T_DIR/unpacked/package/package.json" "$2"
}
expect "its package.json has no runtime dependencies" \
	is_via pkg_json - "[k for k in P if k in ('dependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies')]" "[]"
expect "ws is only an optional peer" \
	is_via pkg_json - "(list(P.get('peerDependencies', {})), P.get('peerDependenciesMeta', {}).get('ws', {}).get('optional'))" "(['ws'], True)"
expect "it is an ES module whose exports give types and code" \
	is_via pkg_json - "(P['type'], P['exports']['.']['types'], P['exports']['.']['default'])" \
	"('module', './rtg-client.d.ts', './rtg-client.js')"

# ---- two projects that install it ------------------------------------------------------------------
# project DIR PACKAGES...: a new ESM project in DIR with PACKAGES installed from npm.
project() {
	local dir=$1
	shift
	mkdir -p "$dir"
	printf '{ "name": "%s", "private": true, "type": "module" }\n' "$(basename "$dir")" >"$dir/package.json"
	(cd "$dir" && "${NPM[@]}" install "$@") >"$dir.log" 2>&1
}
APP=$T_DIR/app # the tarball and ws
BARE=$T_DIR/bare # the tarball, and esbuild (a bundler), without ws
ESBUILD_VERSION=0.25.12
if project "$APP" "$TARBALL" "ws@$WS_VERSION"; then
	ok "a new project installs the tarball and ws@$WS_VERSION"
else
	not_ok "a new project installs the tarball and ws@$WS_VERSION" "$(tail -n 5 "$APP.log")"
	finish
fi
if project "$BARE" "$TARBALL" "esbuild@$ESBUILD_VERSION" && [ ! -e "$BARE/node_modules/ws" ]; then
	ok "a project installs the tarball (and esbuild), and npm brings no ws with it"
else
	not_ok "a project installs the tarball (and esbuild), and npm brings no ws with it" "$(tail -n 5 "$BARE.log")"
fi

# A bundler: esbuild makes a browser bundle of a page's import, with no ws installed and no warning.
# (esbuild would also accept a literal import('ws') with a rejection handler; webpack 5 would not:
# "Can't resolve 'ws'". That is why the module imports a variable name with webpackIgnore.)
echo "import { RtgClient } from 'rtg-client'; new RtgClient({ token: 't' }).connect();" >"$BARE/page.js"
if (cd "$BARE" && node_modules/.bin/esbuild page.js --bundle --platform=browser --format=esm \
	--outfile=bundle.js) >"$T_DIR/esbuild.log" 2>&1 && ! grep -q WARNING "$T_DIR/esbuild.log" &&
	grep -q 'no WebSocket implementation' "$BARE/bundle.js"; then
	ok "esbuild bundles it for the browser without ws and without a warning"
else
	not_ok "esbuild bundles it for the browser without ws and without a warning" "$(head -n 20 "$T_DIR/esbuild.log")"
fi
cp "$RTG_ROOT/tests/js/pack_client.mjs" "$APP/"
cp "$RTG_ROOT/tests/js/pack_client.mjs" "$BARE/"

# tsc over a typed program of the project, against the installed package's declarations
cat >"$APP/main.ts" <<'EOF'
import { RtgClient, type PriceUpdateMessage } from 'rtg-client';
const client = new RtgClient({ url: 'ws://127.0.0.1:1/ws', token: 't', heartbeatMs: 0 });
const seen: string[] = [];
client.on('price_update', (m: PriceUpdateMessage) => seen.push(`${m.ticker} ${m.price.toFixed(2)} ${m.seq}`));
client.subscribe('market/+', { policy: 'conflate' });
// @ts-expect-error: declarations that were not found would make this pass
client.subscribe('market/+', { policy: 'never' });
EOF
cat >"$APP/tsconfig.json" <<'EOF'
{ "compilerOptions": { "strict": true, "noEmit": true, "module": "nodenext",
  "moduleResolution": "nodenext", "target": "es2022", "lib": ["es2022"], "types": [] },
  "files": ["main.ts"] }
EOF
tsc_ok "tsc --noEmit: a typed program of the project finds the installed package's types" \
	"$T_DIR/tsc-app.log" node "$TSC" -p "$APP/tsconfig.json"

# ---- against the stack -------------------------------------------------------------------------------
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf"
start_broker
start_adapter
ALICE=$(token alice "" 3600)
FEED=$(token feed publisher)

# run_client NAME DIR MODE TOPIC [NODE_ARGS...]: pack_client.mjs in DIR, in the background
# (JSON lines in $T_DIR/NAME.out); sets CLIENT_PID.
run_client() {
	local name=$1 dir=$2 mode=$3 topic=$4
	shift 4
	: >"$T_DIR/$name.out"
	(cd "$dir" && exec env RTG_WS_URL="$WS/ws" RTG_TOKEN="$ALICE" RTG_TOPIC="$topic" RTG_MODE="$mode" \
		node "$@" pack_client.mjs) >"$T_DIR/$name.out" 2>"$T_DIR/$name.log" &
	CLIENT_PID=$!
	T_PIDS+=("$CLIENT_PID")
}
# exited PID: the process has ended.
exited() {
	! kill -0 "$1" 2>/dev/null
}
# receive NAME DIR MODE TICKER [NODE_ARGS...]: the client subscribes to market/TICKER;
# once it is subscribed, one price is published; it must print exactly that message.
receive() {
	local name=$1 dir=$2 mode=$3 ticker=$4 status
	shift 4
	local topic=market/$ticker price=101.25 nonce=$name-$RANDOM$RANDOM
	run_client "$name" "$dir" "$mode" "$topic" "$@"
	if ! wait_until 20 has "$name" '"event":"subscribed"' "\"topic\":\"$topic\""; then
		not_ok "$name: the client connects and subscribes to $topic" "$(cat "$T_DIR/$name.out" "$T_DIR/$name.log")"
		return 1
	fi
	ok "$name: the client connects and subscribes to $topic"
	pub feed "$FEED" "$topic" "{\"type\":\"price_update\",\"ticker\":\"$ticker\",\"price\":$price,\"nonce\":\"$nonce\"}"
	wait_until 20 exited "$CLIENT_PID"
	wait "$CLIENT_PID"
	status=$?
	expect "$name: it receives what mosquitto_pub published (type, ticker, price, nonce, topic, seq)" \
		is "$name" "[(m['msg']['type'], m['msg']['ticker'], m['msg']['price'], m['msg']['nonce'], m['msg']['topic'], m['msg']['seq'] >= 1) for m in L if m.get('event') == 'message']" \
		"[('price_update', '$ticker', $price, '$nonce', '$topic', True)]"
	if [ "$status" -eq 0 ]; then ok "$name: it closes and exits 0"; else not_ok "$name: it closes and exits 0" "status $status"; fi
}

# 1. Node 20 and 21 have no global WebSocket: the package imports the optional peer ws.
if [ "$(node -p 'typeof WebSocket')" = undefined ]; then
	receive node-ws "$APP" auto PKGA
	expect "node-ws: no global WebSocket there, and no client-side error" \
		is node-ws "[(m['globalWebSocket']) for m in L if m.get('event') == 'start'] + [m for m in L if m.get('event') == 'error']" "['undefined']"
else
	# Node 22+: the same, with the global taken away
	receive node-ws "$APP" auto PKGA --import "data:text/javascript,delete globalThis.WebSocket"
fi

# 2. options.WebSocket: the implementation given is the one used.
receive explicit "$APP" explicit PKGB
expect "explicit: the socket was made by options.WebSocket" \
	is explicit "[m['constructed'] for m in L if m.get('event') == 'message']" "[1]"

# 3. Node's own WebSocket (Node 22; Node 20 behind --experimental-websocket), no ws installed.
GLOBAL_ARGS=()
[ "$(node -p 'typeof WebSocket')" = function ] || GLOBAL_ARGS=(--experimental-websocket --no-warnings)
if [ "$(node "${GLOBAL_ARGS[@]}" -p 'typeof WebSocket')" = function ]; then
	receive global "$BARE" auto PKGC "${GLOBAL_ARGS[@]}"
else
	# Node 18 (Debian 12's own nodejs) has none even behind the flag: nothing to test there.
	ok "global: Node's own WebSocket # SKIP node $(node --version) has none"
fi

# 4. Neither: connect() does not throw, an 'error' event names ws, the state is 'closed'.
run_client none "$BARE" none market/PKGD
wait_until 20 exited "$CLIENT_PID"
wait "$CLIENT_PID"
status=$?
expect "none: without a WebSocket an 'error' event names the fix (npm install ws, options.WebSocket)" \
	is none "[('npm install ws' in m['message'], 'options.WebSocket' in m['message'], m['source']) for m in L if m.get('event') == 'error']" \
	"[(True, True, 'client')]"
expect "none: connect() returned, then the state went connecting -> closed; nothing threw" \
	is none "[m.get('state', m['event']) for m in L if m['event'] in ('connect-returned', 'state', 'threw')]" \
	"['connecting', 'connect-returned', 'closed']"
if [ "$status" -eq 0 ]; then ok "none: it exits 0 by itself"; else not_ok "none: it exits 0 by itself" "status $status"; fi

finish
