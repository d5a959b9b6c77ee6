#!/bin/bash
# 00-setup: scripts/setup.sh is quick and silent when everything is installed,
# and refuses clearly, naming the packages, when it is not root and some are
# missing (it must never half-install or prompt).
. "$(dirname "$0")/lib.sh"

start=$SECONDS
out=$("$RTG_ROOT/scripts/setup.sh" 2>&1)
rc=$?
check "setup succeeds when every package is installed" test "$rc" -eq 0
check "setup prints nothing when there is nothing to do" test -z "$out"
check "setup is quick when there is nothing to do" test $((SECONDS - start)) -le 5

# As an unprivileged user, with one package that cannot be installed.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# The script's text is passed in, since nobody may not read the checkout.
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		sh -c "$(cat "$RTG_ROOT/scripts/setup.sh")" setup.sh rtg-no-such-package 2>&1 </dev/null)
	rc=$?
elif [ "$(id -u)" != 0 ]; then
	out=$("$RTG_ROOT/scripts/setup.sh" rtg-no-such-package 2>&1 </dev/null)
	rc=$?
fi
check "setup refuses when not root and packages are missing" test "$rc" -ne 0
if [[ "$out" == *"not root"* && "$out" == *"rtg-no-such-package"* && "$out" == *"apt-get install"* ]]; then
	ok "the refusal names the missing packages and the command to run"
else
	not_ok "the refusal names the missing packages and the command to run" "$out"
fi

finish
