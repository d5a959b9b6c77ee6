#!/bin/bash
# 03-stats-access: /api/stats and /metrics as seen from another host.
#
#   host A (10.77.4.1): the adapter, on all its addresses
#   host B (10.77.4.2): the clients
#
# stats_access decides from the peer's address whether a request is local
# (transport/peer.c peer__is_loopback(), judged by policy/auth.c), which only
# a second host can show: from A's own loopback the figures answer without a
# token; from B they need the ops role under the default "ops-or-loopback"
# and under "ops", and are refused to everyone under "loopback". No broker is
# needed: the figures answer while the adapter reconnects.
# Without root or ip netns it prints one "ok - ... # SKIP reason".
. "$(dirname "$0")/../integration/lib.sh"

. "$(dirname "$0")/netns.sh"

need_netns
NA=rtg$$a NB=rtg$$b
make_host "$NA"
make_host "$NB"
A=10.77.4.1 B=10.77.4.2
check "two hosts connected by a veth pair" link "$NA" ab "$A" "$NB" ba "$B"

OPS=$(token ops-user ops 600)
USER=$(token alice "" 600)
token adapter gateway 600 >"$T_DIR/adapter.token"

# start_on MODE: rtg-adapter on host A with stats_access MODE, port 8000. Sets SPAWNED.
start_on() {
	spawn "$T_DIR/adapter-$1.log" ip netns exec "$NA" "$RTG_BUILD/rtg-adapter" \
		--http-host 0.0.0.0 --http-port 8000 --mqtt-port 1 \
		--mqtt-token-file "$T_DIR/adapter.token" --jwt-secret-file "$RTG_SECRET_FILE" \
		--acl-file "$RTG_ROOT/acl/acl.conf" --static-dir "$RTG_ROOT/static" \
		--profiles-file "$RTG_ROOT/profiles/gateway.conf" --stats-access "$1"
}

# status NS URL [TOKEN]: the HTTP status of a GET from host NS.
status() {
	local auth=()
	[ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
	on "$1" curl -s -o /dev/null -w '%{http_code}' -m 5 "${auth[@]}" "$2"
}

# expect NAME WANT NS URL [TOKEN]
expect() {
	local got
	got=$(status "$3" "$4" "${5:-}")
	if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1" "HTTP $got, want $2"; fi
}

for mode in ops-or-loopback ops loopback; do
	start_on "$mode"
	pid=$SPAWNED
	if ! wait_until 20 port_open_on "$NB" "$A" 8000; then
		not_ok "$mode: the adapter listens on host A"
		continue
	fi
	for path in /api/stats /metrics; do
		local_want=200 remote_ops=200
		[ "$mode" = ops ] && local_want=403
		[ "$mode" = loopback ] && remote_ops=403
		expect "$mode: $path from A's loopback without a token" $local_want \
			"$NA" "http://127.0.0.1:8000$path"
		expect "$mode: $path from host B without a token is refused" 403 \
			"$NB" "http://$A:8000$path"
		expect "$mode: $path from host B with a user's token is refused" 403 \
			"$NB" "http://$A:8000$path" "$USER"
		expect "$mode: $path from host B with the ops role" $remote_ops \
			"$NB" "http://$A:8000$path" "$OPS"
	done
	stop "$pid"
done

finish
