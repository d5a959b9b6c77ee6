#!/bin/bash
# 40-seed003-trading-streaming: seed 003 (the trading platform's WebSocket streaming,
# ../shared/seeds/003_*.txt) runs its own client code against `make run`'s stack.
#
#   - the document's "API Testing" curl lines (below, verbatim) with the host and port
#     changed and, for the broadcast, the service token added (the gateway requires a
#     role for broadcasts; the seed's internal endpoint had none);
#   - browser/seed003.mjs: the seed's WebSocketClient "Usage" snippet in Chromium on
#     /api/ws without a token (tickers, patterns, market_status; 'alerts' as the market's
#     alerts, the user's own with a token), prices from the market simulator, the "API
#     Testing" lines run while it listens (stats, the price broadcast), broadcasts of
#     pattern, alert and market_status, watchlists of 30 and 50 tickers, a flood stopped (close 1008);
#   - seed003_client.py: a python3-websockets client of the seed's message protocol.
# The verbatim checks are reported as SKIP where the seed documents are absent (CI clones).
. "$(dirname "$0")/lib.sh"

SEED_DOC=$(seed_doc 003)
P="seed 003 (trading platform streaming)"
USER_ID=legend-trader-3
SVC_ID=legend-backend

# ---- seed 003 "API Testing" (verbatim) ----
API_TESTING=$(
	cat <<'SEED'
# Get WebSocket stats
curl http://localhost:8000/api/ws/stats

# Broadcast test price update
curl -X POST "http://localhost:8000/api/ws/broadcast/price" \
  -H "Content-Type: application/json" \
  -d '{
    "ticker": "AAPL",
    "price": 150.25,
    "change": 2.50,
    "change_percent": 1.69,
    "volume": 75000000,
    "high": 151.00,
    "low": 148.50,
    "open_price": 149.00
  }'
SEED
)
# ---- end of the seed's snippet ----

# The document's block: the first ```bash block after "### API Testing".
seed_api_testing() {
	awk '/^### API Testing/ {s = 1} s && /^```bash$/ {b = 1; next} b && /^```$/ {exit} b' "$SEED_DOC"
}

api_testing_is_verbatim() {
	local seed
	seed=$(seed_api_testing)
	[ -n "$seed" ] || {
		IS_LAST="no bash block after '### API Testing' in $SEED_DOC"
		return 1
	}
	[ "$(normalised <<<"$seed")" = "$(normalised <<<"$API_TESTING")" ] || {
		IS_LAST="the document has: $(tr "\n" " " <<<"$seed")"
		return 1
	}
}
if [ -n "$SEED_DOC" ]; then
	expect "$P: the \"API Testing\" curl lines in this test are the document's, verbatim" api_testing_is_verbatim
else
	ok "$P: the \"API Testing\" curl lines in this test are the document's, verbatim # SKIP no seed documents here"
fi

start_stack
need_browser
USER_TOKEN=$(stack_token "$USER_ID" "" 3600)
# the seed backend's service token: prices, patterns, market status (publisher) and users' alerts (notifier)
SVC_TOKEN=$(stack_token "$SVC_ID" publisher,notifier 3600)

# The lines as run here: the host and port of this stack, and the token header on the
# broadcast (read from $RTG_SVC_TOKEN when the script runs). Each change must apply.
adapt_api_testing() {
	local out=$T_DIR/api-testing.sh
	# shellcheck disable=SC2016 # $RTG_SVC_TOKEN is written as it is: the script expands it when run
	sed -e "s|http://localhost:8000/|$HTTP/|g" \
		-e 's|^  -H "Content-Type: application/json" \\$|&\n  -H "Authorization: Bearer $RTG_SVC_TOKEN" \\|' \
		<<<"$API_TESTING" >"$out"
	# shellcheck disable=SC2016 # the same literal
	[ "$(grep -c "$HTTP/api/ws/" "$out")" = 2 ] && [ "$(grep -c 'localhost:8000' "$out")" = 0 ] &&
		[ "$(grep -c 'Authorization: Bearer $RTG_SVC_TOKEN' "$out")" = 1 ] &&
		bash -n "$out"
}
check "$P: the \"API Testing\" lines adapted to this stack: its host and port, the token header on the broadcast" \
	adapt_api_testing

browser_test seed003.mjs RTG_USER="$USER_ID" RTG_USER_TOKEN="$USER_TOKEN" RTG_SVC_TOKEN="$SVC_TOKEN" \
	RTG_API_TESTING="$T_DIR/api-testing.sh" RTG_SEED_DOC="$SEED_DOC"

relay seed003_client "$PY" "$COMPAT/seed003_client.py" "$WS/api/ws" "$SEED_DOC"

finish
