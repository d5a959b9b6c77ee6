#!/bin/bash
# 20-seed001-ai-dashboard: seed 001 (AI Adoption Dashboard, "Real-Time Data
# Integration Features") runs its own client code, unchanged but for the URL
# (and, where the gateway needs to know the user, the token), against the
# stack `make run` starts (tests/compat/lib.sh).
#
# seed001_python_client.py:
#   (a) the seed's Python client on /ws without a token: subscribe market_data,
#       market_update with the five indicators under data, price updates;
# browser/seed001.mjs (Debian's headless Chromium, a page on the adapter's origin):
#   (b) the seed's JavaScript client on /ws without a token: market data through its
#       console.log('Update:'); the document's ping -> pong; its calculate refused;
#   (c) the document's calculate request from the JavaScript client with ?token=:
#       calculation_update up to "completed" with the NPV (rtg-calc-worker);
#   (d) the document's message shapes: "Market Update" (the indicators under data),
#       "Calculation Progress", "Notification" (broadcast with rtg_gateway); its four
#       channels.
# Each snippet and message is compared with the seed document when $SEED_DIR has it
# (SKIP otherwise).
. "$(dirname "$0")/lib.sh"

SEED_DOC=$(seed_doc 001)

start_stack
need_browser

py_test seed001_python_client.py RTG_SEED_DOC="$SEED_DOC"

browser_test seed001.mjs RTG_SEED_DOC="$SEED_DOC" RTG_USER=analyst \
	RTG_USER_TOKEN="$(stack_token analyst "" 3600)" \
	RTG_NOTIFIER_TOKEN="$(stack_token notification-service notifier 3600)" RTG_PY="$PY" \
	RTG_PYTHONPATH="$RTG_ROOT/clients/python"

# on a failure, the stack's own logs beside this test's (lib.sh prints $T_DIR/*.log)
if [ "$T_FAILED" -ne 0 ]; then
	for f in adapter calc-worker-1 calc-worker-2 market-sim; do
		[ -f "$RUN_DIR/$f.log" ] && cp "$RUN_DIR/$f.log" "$T_DIR/stack-$f.log"
	done
fi
finish
