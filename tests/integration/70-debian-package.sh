#!/bin/bash
# 70-debian-package: `make deb` builds the Debian packages, lintian finds no
# error in them, they install on this machine, the installed adapter (run as
# the installed user rtg, with the installed configuration, secret, ACL,
# profiles and static files) carries a message from a broker that loads the
# installed plugin through the installed conf.d snippet, and a purge leaves
# the machine as it was (files, user, group, conffiles, dpkg's records).
#
# No systemd: the test starts the installed programs itself, as the units
# would (the same user, the same token helper, the same -c file), on free ports.
# Skipped when not root, or when a package of ours, the user rtg or /etc/rtg is
# already on the machine (the purge at the end would take them away).
source "$(dirname "$0")/lib.sh"

PKGS=(mosquitto-rtg-auth rtg-gateway)
ENABLE_LINK=/etc/mosquitto/conf.d/rtg-auth.conf

skip() {
	echo "ok - $T_NAME: Debian package install test # SKIP $1"
	exit 0
}

# ---- make install, for other systems (no root needed) ------------------------------------

STAGE=$T_DIR/stage
if make --no-print-directory -C "$RTG_ROOT" install PREFIX=/usr/local DESTDIR="$STAGE" \
	>"$T_DIR/make-install.log" 2>&1; then
	ok "make install PREFIX=/usr/local DESTDIR=... installs"
else
	not_ok "make install PREFIX=/usr/local DESTDIR=... installs" "$(tail -n 20 "$T_DIR/make-install.log")"
fi
check "make install: programs, plugin, static files, manual pages, units under /usr/local" \
	eval '[ -x "$STAGE/usr/local/bin/rtg-adapter" ] && [ -x "$STAGE/usr/local/bin/rtg-calc-worker" ] &&
		[ -f "$STAGE/usr/local/lib/mosquitto/rtg_auth.so" ] &&
		[ -f "$STAGE/usr/local/share/rtg/static/index.html" ] &&
		[ -f "$STAGE/usr/local/share/man/man1/rtg-sub.1" ] &&
		[ -f "$STAGE/usr/local/lib/systemd/system/rtg-adapter.service" ]'
check "make install: the configuration names the /usr/local paths, and no secret is installed" \
	eval 'grep -qx "static_dir /usr/local/share/rtg/static" "$STAGE/usr/local/etc/rtg/adapter.conf" &&
		grep -qx "plugin /usr/local/lib/mosquitto/rtg_auth.so" \
			"$STAGE/usr/local/etc/rtg/mosquitto-rtg-auth.conf" &&
		grep -q "ExecStart=/usr/local/bin/rtg-adapter -c /usr/local/etc/rtg/adapter.conf" \
			"$STAGE/usr/local/lib/systemd/system/rtg-adapter.service" &&
		! grep -rqE "@[A-Z]+@" "$STAGE/usr/local/etc" "$STAGE/usr/local/lib/systemd" \
			"$STAGE/usr/local/libexec" && [ ! -e "$STAGE/usr/local/etc/rtg/jwt_secret" ]'
echo "changed locally" >>"$STAGE/usr/local/etc/rtg/acl.conf"
make --no-print-directory -C "$RTG_ROOT" install PREFIX=/usr/local DESTDIR="$STAGE" \
	>"$T_DIR/make-install-2.log" 2>&1
check "make install again keeps a changed configuration file" \
	grep -qx "changed locally" "$STAGE/usr/local/etc/rtg/acl.conf"
make --no-print-directory -C "$RTG_ROOT" uninstall PREFIX=/usr/local DESTDIR="$STAGE" \
	>"$T_DIR/make-uninstall.log" 2>&1
check "make uninstall removes every file make install put there" \
	eval '[ -z "$(find "$STAGE" -type f)" ]'

# The manual pages are checked in, made from each program's --help: they must say what it says.
mkdir -p "$T_DIR/man"
if (cd "$RTG_ROOT" && RTG_BUILD="$RTG_BUILD" RTG_MAN_OUT="$T_DIR/man" bash packaging/man/gen.sh) \
	>"$T_DIR/man-gen.log" 2>&1; then
	stale=$(for f in "$T_DIR"/man/*.1; do
		diff -q <(grep -v '^\.TH ' "$f") <(grep -v '^\.TH ' "$RTG_ROOT/packaging/man/$(basename "$f")") \
			>/dev/null || basename "$f"
	done)
	check "the manual pages say what each program's --help says (packaging/man/gen.sh)" \
		eval '[ -z "$stale" ]'
	[ -z "$stale" ] || echo "#   stale: $stale (run packaging/man/gen.sh)"
else
	not_ok "packaging/man/gen.sh makes the manual pages" "$(tail -n 5 "$T_DIR/man-gen.log")"
fi

# ---- the Debian packages ------------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip "not root (dpkg -i needs root)"
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ -z "$st" ] || [ "$st" = not-installed ] ||
		skip "package $p is already on this machine ($st); purge it to run this test"
done
getent passwd rtg >/dev/null && skip "a user rtg already exists"
getent group rtg >/dev/null && skip "a group rtg already exists"
[ -e /etc/rtg ] && skip "/etc/rtg already exists"
[ -e /var/lib/rtg ] && skip "/var/lib/rtg already exists"
[ -e "$ENABLE_LINK" ] && skip "$ENABLE_LINK already exists"

for tool in dpkg-buildpackage dh lintian setpriv; do
	if ! command -v "$tool" >/dev/null; then
		not_ok "$tool is installed" "scripts/setup.sh installs debhelper, dpkg-dev and lintian"
		finish
	fi
done

# ---- build -----------------------------------------------------------------------------

if make --no-print-directory -C "$RTG_ROOT" deb >"$T_DIR/make-deb.log" 2>&1; then
	ok "make deb builds the packages"
else
	not_ok "make deb builds the packages" "$(tail -n 30 "$T_DIR/make-deb.log")"
	finish
fi
DEBS=()
for p in "${PKGS[@]}"; do
	f=$(ls "$RTG_ROOT"/build/deb/"${p}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$f" ]; then
		not_ok "make deb made $p" "no build/deb/${p}_*.deb"
		finish
	fi
	DEBS+=("$f")
done

lintian --tag-display-limit 0 "${DEBS[@]}" >"$T_DIR/lintian.log" 2>&1
if grep -q '^E: ' "$T_DIR/lintian.log"; then
	not_ok "lintian reports no error" "$(grep '^E: ' "$T_DIR/lintian.log")"
else
	ok "lintian reports no error ($(grep -c '^W: ' "$T_DIR/lintian.log") warnings)"
fi
grep '^W: ' "$T_DIR/lintian.log" | sed 's/^/# lintian: /'

# ---- the machine before ----------------------------------------------------------------

# Every path the packages hold, and what else they make: the secret, the state
# directory, the enable link, the user and group, the membership, dpkg's records.
PATHS=()
for f in "${DEBS[@]}"; do
	while IFS= read -r p; do
		p=${p#.}
		p=${p%/}
		[ -n "$p" ] && PATHS+=("$p")
	done < <(dpkg-deb --fsys-tarfile "$f" | tar -t)
done
PATHS+=(/etc/rtg/jwt_secret /var/lib/rtg "$ENABLE_LINK")
machine_state() {
	local p
	for p in "${PATHS[@]}"; do
		if [ -e "$p" ] || [ -L "$p" ]; then echo "exists $p"; fi
	done
	echo "passwd rtg: $(getent passwd rtg)"
	echo "group rtg: $(getent group rtg)"
	echo "id mosquitto: $(id mosquitto 2>&1)"
	ls /var/lib/dpkg/info | grep -E '^(mosquitto-rtg-auth|rtg-gateway)[.:]' | sed 's/^/dpkg info /'
	for p in "${PKGS[@]}"; do
		echo "status $p: $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)"
	done
}
machine_state | sort >"$T_DIR/before.txt"

# Whatever happens below, the packages go again (the test's own purge is a check
# of its own; this is the safety net).
purge_leftovers() {
	local p
	for p in "${PKGS[@]}"; do
		if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv not-installed; then
			dpkg_run "$T_DIR/purge-trap.log" --purge "$p"
		fi
	done
}
trap 'purge_leftovers; t_cleanup' EXIT

# dpkg_run LOG ARGS...: dpkg ARGS, output to LOG; while another dpkg or apt holds
# the lock (another job on this machine), tries again, for up to 120 s.
dpkg_run() {
	local log=$1 deadline=$((SECONDS + 120))
	shift
	until dpkg "$@" >"$log" 2>&1; do
		grep -q "lock" "$log" && [ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 1
	done
}

# ---- install ------------------------------------------------------------------------------

if dpkg_run "$T_DIR/dpkg-install.log" -i "${DEBS[@]}"; then
	ok "dpkg -i installs both packages (no systemd running)"
else
	not_ok "dpkg -i installs both packages (no systemd running)" "$(tail -n 20 "$T_DIR/dpkg-install.log")"
	finish
fi

for b in rtg-adapter rtg-sub rtg-token rtg-market-sim rtg-notify-sim rtg-trading-sim \
	rtg-calc-worker; do
	check "/usr/bin/$b is installed, with a manual page" \
		eval "[ -x /usr/bin/$b ] && man -w $b >/dev/null 2>&1"
done
PLUGIN=$(ls /usr/lib/*/mosquitto/rtg_auth.so 2>/dev/null | head -n 1)
check "the plugin is in the multiarch mosquitto directory, with rtg_auth(7)" \
	eval "[ -f '$PLUGIN' ] && man -w 7 rtg_auth >/dev/null 2>&1"
check "the conf.d snippet names the installed plugin" \
	grep -qx "plugin $PLUGIN" /etc/rtg/mosquitto-rtg-auth.conf
check "the systemd units are installed" \
	eval '[ -f /lib/systemd/system/rtg-adapter.service ] && [ -f /lib/systemd/system/rtg-market-sim.service ] &&
		[ -f /lib/systemd/system/rtg-calc-worker@.service ]'

uid=$(id -u rtg 2>/dev/null || echo none)
check "a system user rtg exists (uid $uid)" eval '[ "$uid" != none ] && [ "$uid" -lt 1000 ]'
check "the secret is made at installation: 64 hex digits, 0640 root:rtg" \
	eval '[ "$(stat -c "%a %U %G" /etc/rtg/jwt_secret)" = "640 root rtg" ] &&
		grep -qxE "[0-9a-f]{64}" /etc/rtg/jwt_secret'
check "the user mosquitto is in the group rtg" eval 'id -nG mosquitto | tr " " "\n" | grep -qx rtg'
conffiles=$(dpkg-query -W -f='${Conffiles}\n' "${PKGS[@]}" | awk 'NF {print $1}' | sort | tr '\n' ' ')
check "the /etc files are conffiles" [ "$conffiles" = "/etc/rtg/acl.conf /etc/rtg/adapter.conf \
/etc/rtg/mosquitto-rtg-auth.conf /etc/rtg/profiles.conf /etc/rtg/simulators.env " ]
check "the secret is not a conffile (each installation has its own)" \
	eval '! dpkg-query -W -f="\${Conffiles}" rtg-gateway | grep -q jwt_secret'
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify accepts the units" \
		systemd-analyze verify /lib/systemd/system/rtg-adapter.service \
		/lib/systemd/system/rtg-market-sim.service /lib/systemd/system/rtg-notify-sim.service \
		/lib/systemd/system/rtg-trading-sim.service /lib/systemd/system/rtg-calc-worker@1.service
fi

# ---- the installed stack -------------------------------------------------------------------

# The broker: mosquitto as root, so that it drops to the user mosquitto before
# the plugin reads the secret (as the system broker does), and the snippet
# enabled the documented way, by a link in a conf.d directory (its own here).
MQTT_PORT=$(free_port)
mkdir -p "$T_DIR/conf.d"
ln -s /etc/rtg/mosquitto-rtg-auth.conf "$T_DIR/conf.d/rtg-auth.conf"
cat >"$T_DIR/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
persistence false
log_dest stderr
log_type all
include_dir $T_DIR/conf.d
EOF
start_broker
check "mosquitto runs as the user mosquitto with the installed plugin" \
	eval '[ "$(ps -o user= -p "$BROKER_PID")" = mosquitto ] &&
		wait_until 10 grep -q "Loading plugin: $PLUGIN" "$T_DIR/broker.log"'

# The adapter, as the rtg-adapter unit runs it: as rtg, its token minted by
# the unit's ExecStartPre, the installed adapter.conf; only the ports differ.
as_rtg() { setpriv --reuid=rtg --regid=rtg --init-groups -- "$@"; }
check "the unit's token helper mints the adapter's token as rtg into /var/lib/rtg" \
	eval 'as_rtg /usr/libexec/rtg/rtg-service-token adapter gateway &&
		[ "$(stat -c "%a %U" /var/lib/rtg/adapter.token)" = "600 rtg" ]'
spawn "$T_DIR/adapter.log" setpriv --reuid=rtg --regid=rtg --init-groups -- \
	/usr/bin/rtg-adapter -c /etc/rtg/adapter.conf --http-port 0 --mqtt-port "$MQTT_PORT"
ADAPTER_PID=$SPAWNED
if ! wait_until 30 grep -qs '^listening ' "$T_DIR/adapter.log"; then
	not_ok "the installed adapter starts" "no 'listening' line"
	finish
fi
ADAPTER_PORT=$(awk '/^listening / {print $3; exit}' "$T_DIR/adapter.log")
HTTP="http://127.0.0.1:$ADAPTER_PORT"
check "the installed adapter connects to the broker with its minted token" \
	wait_until 20 adapter_broker_up
check "the adapter serves the installed static files" \
	eval 'curl -sf "$HTTP/" | cmp -s - /usr/share/rtg/static/index.html'

SECRET=/etc/rtg/jwt_secret
ALICE=$(/usr/bin/rtg-token --sub alice --secret-file "$SECRET" --ttl 600)
FEED=$(/usr/bin/rtg-token --sub feed --roles publisher --secret-file "$SECRET" --ttl 600)
: >"$T_DIR/alice.out"
/usr/bin/rtg-sub -h 127.0.0.1 -p "$ADAPTER_PORT" --token "$ALICE" -W 30 \
	'{"type":"subscribe","topic":"market/DEB"}' >"$T_DIR/alice.out" 2>"$T_DIR/alice.err" &
T_PIDS+=("$!")
check "alice subscribes through the installed adapter (installed rtg-sub)" \
	wait_until 10 has alice '"type":"subscription"' '"action":"subscribed"'
MARK="deb-$$-$RANDOM"
check "the broker accepts a publisher's token of the installed secret" \
	pub feed "$FEED" market/DEB "{\"type\":\"price_update\",\"mark\":\"$MARK\"}"
check "the message flows: mosquitto_pub -> plugin -> adapter -> rtg-sub" \
	wait_until 10 has alice "\"mark\":\"$MARK\"" '"topic":"market/DEB"'
BAD=$(token feed publisher 600) # signed with the test fixture's secret, not the installed one
check "the broker refuses a token of another secret" \
	eval '! pub feed "$BAD" market/DEB "{\"mark\":\"bad\"}"'

# SIGTERM: the adapter writes its history into /var/lib/rtg as rtg.
stop "$ADAPTER_PID"
check "the adapter wrote its history file into the installed state directory" \
	eval '[ "$(stat -c %U /var/lib/rtg/history.bin 2>/dev/null)" = rtg ]'
t_stop_all

# ---- purge -------------------------------------------------------------------------------

# The documented enable link in the system's conf.d goes with the plugin.
if [ -d /etc/mosquitto/conf.d ]; then
	ln -s /etc/rtg/mosquitto-rtg-auth.conf "$ENABLE_LINK"
fi
if dpkg_run "$T_DIR/dpkg-purge.log" --purge "${PKGS[@]}"; then
	ok "dpkg --purge removes both packages"
else
	not_ok "dpkg --purge removes both packages" "$(tail -n 20 "$T_DIR/dpkg-purge.log")"
fi
machine_state | sort >"$T_DIR/after.txt"
if diff -u "$T_DIR/before.txt" "$T_DIR/after.txt" >"$T_DIR/state.diff"; then
	ok "after the purge the machine is as before (files, user, group, membership, dpkg)"
else
	not_ok "after the purge the machine is as before (files, user, group, membership, dpkg)" \
		"$(cat "$T_DIR/state.diff")"
fi
check "no user or group rtg is left" eval '! getent passwd rtg && ! getent group rtg'
check "no /etc/rtg (conffiles, secret) and no /var/lib/rtg is left" \
	eval '[ ! -e /etc/rtg ] && [ ! -e /var/lib/rtg ]'

finish
