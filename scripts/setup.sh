#!/bin/sh
# Installs the Debian packages the project needs, once.
#
# Idempotent and quick when everything is present (one dpkg-query, no network).
# When packages are missing it runs `apt-get update` then a non-interactive
# `apt-get install`; it refuses with a clear message when not root.
# Usage: scripts/setup.sh [PACKAGE...]   (extra packages on top of the project's own)
set -eu

PKGS="build-essential pkg-config ca-certificates openssl curl procps
mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev
libwebsockets-dev libcjson-dev libjwt-dev libssl-dev libcmocka-dev libuv1-dev
libev-dev libwebsockets-evlib-ev
uthash-dev python3 python3-jwt python3-cryptography python3-websockets python3-paho-mqtt valgrind clang-format chromium
iproute2 haproxy clang libclang-rt-14-dev
debhelper dpkg-dev lintian $*"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

# Node.js and npm (the browser test's playwright-core): the machine image may
# carry its own build of node with npm; only when there is none take Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != "0" ]; then
	echo "setup: missing Debian packages and not root, so cannot install them:$missing" >&2
	echo "setup: as root, run:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "setup: installing missing Debian packages:$missing"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "setup: done"
