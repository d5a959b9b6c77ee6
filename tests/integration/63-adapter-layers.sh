#!/bin/bash
# 63-adapter-layers: the adapter's layers depend only downwards (adapter/adapter.h).
#
# Read from the built objects, so what is checked is what links, not what the
# sources seem to say: core/ calls neither libwebsockets nor libmosquitto nor
# anything above it; policy/ and the wiring (main.c, config*.c, stats.c) call
# no libwebsockets function and nothing of transport/, only the tables the
# transports fill (struct session_ops, struct core_broker); only adapter.h
# (for the types of struct adapter) and transport/ include libwebsockets.h;
# and the core's unit tests link without libwebsockets at all.
. "$(dirname "$0")/lib.sh"

OBJ=$RTG_BUILD/obj/adapter
SRC=$RTG_ROOT/adapter

# objs DIR...: the objects built from the sources now in DIR (not stale ones).
objs() {
	local d f
	for d in "$@"; do
		for f in "$SRC/$d"/*.c; do
			echo "$OBJ/$d/$(basename "$f" .c).o"
		done
	done
}

# The global symbols the objects define, and those they use without defining.
defined() { nm --defined-only -g "$@" | awk 'NF == 3 { print $3 }' | sort -u; }
undefined() { nm -u "$@" | awk 'NF >= 2 { print $NF }' | sort -u; }

mapfile -t CORE < <(objs core)
mapfile -t POLICY < <(objs policy)
mapfile -t TRANSPORT < <(objs transport)
mapfile -t TOP < <(for f in "$SRC"/*.c; do echo "$OBJ/$(basename "$f" .c).o"; done)

missing=$(for f in "${CORE[@]}" "${POLICY[@]}" "${TRANSPORT[@]}" "${TOP[@]}"; do
	[ -f "$f" ] || echo "$f"
done)
if [ -n "$missing" ]; then
	not_ok "every adapter object is built" "$missing"
	finish
fi
ok "every adapter object is built"

# none NAME LIST: ok when LIST is empty, else not ok listing it.
none() {
	if [ -z "$2" ]; then ok "$1"; else not_ok "$1" "$(echo "$2" | tr '\n' ' ')"; fi
}

none "core/ calls no libwebsockets function" \
	"$(undefined "${CORE[@]}" | grep -E '^_?lws')"
none "core/ calls no libmosquitto function" \
	"$(undefined "${CORE[@]}" | grep -E '^mosquitto_')"
none "core/ calls nothing of policy/, transport/ or the wiring" \
	"$(undefined "${CORE[@]}" | comm -12 - <(defined "${POLICY[@]}" "${TRANSPORT[@]}" "${TOP[@]}"))"
none "policy/ calls no libwebsockets function" \
	"$(undefined "${POLICY[@]}" | grep -E '^_?lws')"
none "policy/ calls nothing of transport/" \
	"$(undefined "${POLICY[@]}" | comm -12 - <(defined "${TRANSPORT[@]}"))"
none "main.c, config*.c and stats.c call no libwebsockets function" \
	"$(undefined "${TOP[@]}" | grep -E '^_?lws')"
none "only adapter.h and transport/ include libwebsockets.h" \
	"$(grep -rl --include='*.[ch]' '#include <libwebsockets.h>' "$SRC" |
		grep -v -e "^$SRC/adapter.h$" -e "^$SRC/transport/")"
none "no core/ file includes adapter.h" \
	"$(grep -l '#include "adapter.h"' "$SRC"/core/*.[ch])"
none "the core does not branch on a session's transport" \
	"$(grep -nE 'SESSION_(WS|SSE)|->kind\b' "$SRC"/core/*.[ch])"

# The core's unit tests are linked from the core's objects without libwebsockets.
core_tests=$(ls "$RTG_BUILD"/tests/test_core_* 2>/dev/null)
if [ -z "$core_tests" ]; then
	not_ok "the core's unit tests are built"
else
	ok "the core's unit tests are built"
	none "the core's unit tests link without libwebsockets" \
		"$(for t in $core_tests; do ldd "$t" | grep -q libwebsockets && echo "$t"; done)"
fi

finish
