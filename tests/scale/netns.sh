# netns.sh - shared helpers of the multi-host tests (sourced after integration/lib.sh).
#
# Hosts are network namespaces named after the test's pid; each pair of hosts
# has its own veth link; nothing touches the machine's own interfaces or
# addresses. Every namespace made is deleted on exit, after the processes
# (they keep a namespace alive). Without root or ip the test prints one
# "ok - ... # SKIP reason".

NETNS_MADE=()

# skip REASON: the whole test is skipped.
skip() {
	ok "hosts in network namespaces # SKIP $1"
	finish
}

delete_namespaces() {
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	NETNS_MADE=()
}

trap 't_cleanup; delete_namespaces' EXIT

# need_netns: skips the test without root or ip.
need_netns() {
	[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
	command -v ip >/dev/null || skip "no ip command (Debian package iproute2)"
}

# make_host NS: a namespace with its loopback up; skips the test if it cannot be made.
make_host() {
	ip netns add "$1" 2>"$T_DIR/netns.err" ||
		skip "cannot make network namespaces: $(head -c 200 "$T_DIR/netns.err")"
	NETNS_MADE+=("$1")
	ip -n "$1" link set lo up
}

# link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces, addressed and up.
link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" &&
		ip -n "$1" addr add "$3/24" dev "$2" && ip -n "$4" addr add "$6/24" dev "$5" &&
		ip -n "$1" link set "$2" up && ip -n "$4" link set "$5" up
}

# on NS CMD...: runs CMD in a host, in the foreground. Whatever runs in the background
# is started as "ip netns exec NS CMD" instead, which execs CMD: its pid is the one killed.
on() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# port_open_on NS HOST PORT: something listens there, as seen from host NS.
port_open_on() {
	on "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# host_bridge_conf NAME EXAMPLE BRIDGE_TOKEN A_ADDR ACL: $T_DIR/NAME.conf from examples/,
# listening on every address of its host, port 1883; the bridge goes to broker A at A_ADDR.
host_bridge_conf() {
	mkdir -p "$T_DIR/$1-data"
	sed -e "s|^listener [0-9]* 127.0.0.1|listener 1883|" \
		-e "s|^persistence_location .*|persistence_location $T_DIR/$1-data/|" \
		-e "s|^plugin /.*|plugin $RTG_BUILD/rtg_auth.so|" \
		-e "s|^plugin_opt_jwt_secret_file .*|plugin_opt_jwt_secret_file $RTG_SECRET_FILE|" \
		-e "s|^plugin_opt_acl_file .*|plugin_opt_acl_file $5|" \
		-e "s|^address 127.0.0.1:1883|address $4:1883|" \
		-e "s|^remote_password .*|remote_password $3|" \
		"$RTG_ROOT/examples/$2" >"$T_DIR/$1.conf"
	printf 'log_type all\nuser %s\n' "$(id -un)" >>"$T_DIR/$1.conf"
}

# three_hosts NA NB NC: hosts A, B and C (skips the test without root or ip), each pair
# linked: A-B 10.77.1.0/24, A-C 10.77.2.0/24, B-C 10.77.3.0/24. Sets NA NB NC and the
# addresses A_B (A's on the A-B link), B_A, A_C, C_A, B_C, C_B.
three_hosts() {
	local ns
	NA=$1 NB=$2 NC=$3
	need_netns
	for ns in "$NA" "$NB" "$NC"; do
		make_host "$ns"
	done
	A_B=10.77.1.1 B_A=10.77.1.2 A_C=10.77.2.1 C_A=10.77.2.2 B_C=10.77.3.1 C_B=10.77.3.2
	check "three hosts connected by veth pairs" eval \
		'link "$NA" ab $A_B "$NB" ba $B_A && link "$NA" ac $A_C "$NC" ca $C_A && link "$NB" bc $B_C "$NC" cb $C_B'
}
