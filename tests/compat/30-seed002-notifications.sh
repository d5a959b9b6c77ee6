#!/bin/bash
# 30-seed002-notifications: seed 002 (hoardrun notifications, ../shared/seeds/002_*.txt)
# runs its own frontend and backend code against `make run`'s stack.
#
#   - the seed's Python snippets (seed002_backend.py: "Notifications Service
#     Integration", "Broadcasting Functions Available", "Backend Service
#     Integration"; only the import line differs) are the document's;
#   - browser/seed002.mjs: the seed's "Frontend WebSocket Connection" in Chromium on
#     /ws/notifications?token=: greeting, what each of its switch's handlers gets from
#     those snippets and from curl on /ws/broadcast/*, the subscribe_notifications
#     filter, rooms (join_room, leave_room), /ws/stats, /ws/test, 4001 without a token;
#   - here: /ws/notifications without any token is closed with 4001 (a third-party
#     client), and a market broadcast leaves the market simulator's retained
#     market/indicators value alone.
# The verbatim checks are reported as SKIP where the seed documents are absent (CI clones).
. "$(dirname "$0")/lib.sh"

SEED_DOC=$(seed_doc 002)
P="seed 002 (hoardrun notifications)"
USER_ID=hoardrun-user-7
SVC_ID=hoardrun-backend

start_stack
need_browser
USER_TOKEN=$(stack_token "$USER_ID" "" 3600)
# the seed backend's service token: notifications, transactions, balances (notifier) and market data (publisher)
SVC_TOKEN=$(stack_token "$SVC_ID" notifier,publisher 3600)

# ---- no token at all: 4001 (the adapter waits auth_timeout for an {"type":"auth"} first) ----------
wsc noauth "$WS/ws/notifications" --timeout 25

# ---- the seed's Python snippets are the document's ------------------------------------------------------
if [ -n "$SEED_DOC" ]; then
	relay seed002_backend "$PY" "$COMPAT/seed002_backend.py" check "$SEED_DOC"
else
	for s in "Notifications Service Integration" "Broadcasting Functions Available" "Backend Service Integration"; do
		ok "$P: the $s snippet in seed002_backend.py is the document's # SKIP no seed documents here"
	done
fi

# ---- the seed's frontend in Chromium, its backend beside it ------------------------------------------------
browser_test seed002.mjs RTG_USER="$USER_ID" RTG_USER_TOKEN="$USER_TOKEN" RTG_SVC_TOKEN="$SVC_TOKEN" \
	RTG_SEED_DOC="$SEED_DOC" RTG_PY="$PY" RTG_COMPAT="$COMPAT"

# ---- /ws/test with curl -------------------------------------------------------------------------------------
test_page_served() {
	local code
	code=$(curl -s -o "$T_DIR/test-page.html" -w '%{http_code} %{content_type}' "$HTTP/ws/test")
	[[ $code == "200 text/html"* ]] && grep -q '<title>' "$T_DIR/test-page.html" &&
		grep -q 'new WebSocket(' "$T_DIR/test-page.html"
}
check "$P: GET /ws/test (curl) serves the interactive WebSocket test page" test_page_served

# ---- a market broadcast goes beside the simulator's retained indicators, never over them ------------------
# seed 002's broadcast_market_update(market_data, "market_data") is POST .../broadcast/market; the
# market simulator keeps its market_update (discount_rate, ...) retained on market/indicators, which
# every client subscribing to market data gets first. Subscribed right after the broadcast (the
# simulator republishes every 10 s), the retained value must still be the simulator's.
market_broadcast() {
	local answer
	answer=$(curl -s -H "Authorization: Bearer $SVC_TOKEN" -H 'Content-Type: application/json' \
		-d '{"symbol":"SOL-USD","price":181.5,"source":"seed002-retained-check"}' "$HTTP/ws/broadcast/market")
	[[ $answer == *'"status":"published"'*'"topic":"market/updates"'* ]] || {
		IS_LAST="POST /ws/broadcast/market answered $answer"
		return 1
	}
	wsc indicators "$WS/ws/notifications?token=$USER_TOKEN" \
		--send '{"type":"subscribe","topic":"market/indicators"}' --timeout 15
	wait_until 15 has indicators '"type":"market_update"' '"topic":"market/indicators"' || {
		IS_LAST="no market_update for market/indicators: $(head -c 600 "$T_DIR/indicators.out")"
		return 1
	}
	# /ws/notifications sends a topic's held messages as themselves ("history messages":
	# the seed's switch has no "history") and nests them: {"type","data":<the payload>,...};
	# the simulator's payload is {"type":"market_update","data":{discount_rate, ...}}
	is indicators "[(m['type'], sorted(m['data']['data'])) for m in L if m.get('topic') == 'market/indicators' and m.get('type') == 'market_update'][-1], any('seed002-retained-check' in str(m) for m in L)" \
		"(('market_update', ['ai_adoption_rate', 'discount_rate', 'inflation_rate', 'market_growth', 'tech_index']), False)"
}
expect "$P: a market broadcast (curl /ws/broadcast/market) leaves the market simulator's retained market/indicators value in place" \
	market_broadcast
stop "$WSC_PID"

# ---- no token: 4001 -------------------------------------------------------------------------------------------
closed_4001() {
	wait_until 30 has noauth '"_closed"' || {
		IS_LAST="not closed: $(head -c 400 "$T_DIR/noauth.out")"
		return 1
	}
	is noauth "[(m['type'], m.get('code')) for m in L]" "[('_closed', 4001)]"
}
expect "$P: /ws/notifications without a token is closed with 4001 (python3-websockets), never greeted" closed_4001

finish
