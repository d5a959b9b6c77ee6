#!/bin/bash
# 10-seed000-credit-feedback: seed 000 ("Real-time & Streaming Module", credit
# feedback) runs its own client code, unchanged but for the URL and the token,
# against the stack `make run` starts (tests/compat/lib.sh).
#
# browser/seed000.mjs (Debian's headless Chromium, pages on the adapter's origin):
#   (a) the seed's JavaScript WebSocket client on /realtime/ws/{client_id}: with a
#       token its handlers get credit_analysis (updateCreditScore(data.data)),
#       risk_score_update (updateRiskIndicator(data.risk_score)) and
#       calculation_progress (updateProgressBar(data.progress)); without one it is
#       anonymous and gets nothing private;
#   (b) the seed's EventSource('/realtime/sse/market-updates'): public, unnamed events;
#   (d) the seed's React CreditDashboard on /realtime/ws/dashboard/{userId}: with
#       ?token= it shows "Credit Score: <n>"; without a token, or with another
#       user's, it gets none of that user's credit; the dashboard's
#       portfolio_update and market_alert shapes;
# seed000_python_client.py:
#   (c) the seed's Python client (websockets) with ?token=;
#   (e) the seed's backend route, CreditFeedbackStreamer.stream_credit_analysis
#       through clients/python/rtg_gateway.py (seed000_backend.py), reaching (a)'s
#       and (c)'s clients.
# Each snippet is compared with the seed document when $SEED_DIR has it (SKIP otherwise).
. "$(dirname "$0")/lib.sh"

SEED_DOC=$(seed_doc 000)

start_stack
need_browser

NOTIFIER=credit-service
NOTIFIER_TOKEN=$(stack_token "$NOTIFIER" notifier 3600)
PUBLISHER=alerts-feed
PUBLISHER_TOKEN=$(stack_token "$PUBLISHER" publisher 3600)

browser_test seed000.mjs RTG_SEED_DOC="$SEED_DOC" RTG_MQTT_PORT="$MQTT_PORT" RTG_PY="$PY" \
	RTG_COMPAT="$COMPAT" RTG_PYTHONPATH="$RTG_ROOT/clients/python" \
	RTG_USER_TOKEN="$(stack_token user456 "" 3600)" RTG_ALICE_TOKEN="$(stack_token alice "" 3600)" \
	RTG_BOB_TOKEN="$(stack_token bob "" 3600)" RTG_NOTIFIER="$NOTIFIER" \
	RTG_NOTIFIER_TOKEN="$NOTIFIER_TOKEN" RTG_PUBLISHER="$PUBLISHER" RTG_PUBLISHER_TOKEN="$PUBLISHER_TOKEN"

py_test seed000_python_client.py RTG_SEED_DOC="$SEED_DOC" \
	RTG_USER_TOKEN="$(stack_token user123 "" 3600)" RTG_NOTIFIER_TOKEN="$NOTIFIER_TOKEN"

# on a failure, the stack's own logs beside this test's (lib.sh prints $T_DIR/*.log)
if [ "$T_FAILED" -ne 0 ]; then
	for f in adapter calc-worker-1 calc-worker-2 notify-sim trading-sim; do
		[ -f "$RUN_DIR/$f.log" ] && cp "$RUN_DIR/$f.log" "$T_DIR/stack-$f.log"
	done
fi
finish
