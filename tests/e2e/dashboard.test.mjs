#!/usr/bin/env node
/**
 * dashboard.test.mjs - the dashboard in a real browser (Debian's headless
 * Chromium, driven by playwright-core), against a real adapter and broker.
 *
 * Started by tests/integration/30-dashboard.sh, which runs the broker, the
 * adapter and a calc worker, and passes (environment):
 *   RTG_HTTP              the adapter's base URL (http://127.0.0.1:PORT)
 *   RTG_USER, RTG_USER_TOKEN        the user whose dashboard is opened
 *   RTG_OTHER_USER                  another user (isolation check)
 *   RTG_PUBLISHER_TOKEN   a token with the publisher role (market data)
 *   RTG_NOTIFIER_TOKEN    a token with the notifier role (user topics, announcements)
 *   RTG_E2E_CTL           a directory for the adapter restart handshake:
 *                         this test creates kill-adapter and waits for adapter-killed,
 *                         then creates start-adapter and waits for adapter-started
 *   RTG_E2E_ARTIFACTS     where screenshots go (default ./artifacts)
 *
 * Prints one "ok - NAME" or "not ok - NAME" line per assertion (details on
 * "# " lines) and exits 1 if any failed. Data is published with the
 * adapter's HTTP API (POST /api/publish and /api/broadcast/<kind>). The
 * harness (Chromium with this machine's flags, reporting) is
 * tests/compat/browser/common.mjs's, with tests/e2e's own playwright-core.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, close, done, env, launch, report, step } from '../compat/browser/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const HTTP = env('RTG_HTTP');
const USER = env('RTG_USER');
const USER_TOKEN = env('RTG_USER_TOKEN');
const OTHER_USER = env('RTG_OTHER_USER', 'someone-else');
const PUBLISHER = env('RTG_PUBLISHER_TOKEN');
const NOTIFIER = env('RTG_NOTIFIER_TOKEN');
const CTL = env('RTG_E2E_CTL', '');
const ARTIFACTS = resolve(env('RTG_E2E_ARTIFACTS', join(HERE, 'artifacts')));
// The calc form's npv example: -300000 + 100000/1.1 + 120000/1.1^2 + 140000/1.1^3
const EXPECTED_NPV = -4733.28;

/** POST a JSON body to the adapter's API; the answer must be 200. */
async function api(path, token, body) {
	const res = await fetch(`${HTTP}${path}`, {
		method: 'POST',
		headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
		body: JSON.stringify(body)
	});
	const text = await res.text();
	assert(res.status === 200, `POST ${path}: HTTP ${res.status} ${text}`);
	return text;
}

function priceUpdate(ticker, price, prevClose, extra = {}) {
	const change = +(price - prevClose).toFixed(2);
	return {
		type: 'price_update',
		ticker,
		price,
		change,
		change_percent: +((change / prevClose) * 100).toFixed(2),
		volume: 40000000 + Math.round(Math.random() * 30000000),
		high: +(Math.max(price, prevClose) * 1.004).toFixed(2),
		low: +(Math.min(price, prevClose) * 0.996).toFixed(2),
		open: prevClose,
		timestamp: new Date().toISOString(),
		...extra
	};
}

const publishPrice = (ticker, price, prevClose) =>
	api('/api/publish', PUBLISHER, { topic: `market/${ticker}`, payload: priceUpdate(ticker, price, prevClose), retain: true });

const sel = (testid) => `[data-testid="${testid}"]`;
const money = (n) => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Waits until the element's text equals want (or matches a RegExp). */
async function waitText(page, testid, want, timeout = 10000) {
	try {
		await page.waitForFunction(
			([s, w, isRe]) => {
				const e = document.querySelector(s);
				if (!e) return false;
				const t = e.textContent.trim();
				return isRe ? new RegExp(w).test(t) : t === w;
			},
			[sel(testid), want instanceof RegExp ? want.source : want, want instanceof RegExp],
			{ timeout, polling: 50 }
		);
	} catch {
		const now = await page
			.locator(sel(testid))
			.first()
			.textContent({ timeout: 500 })
			.catch(() => '(missing)');
		throw new Error(`${testid}: expected ${want}, shows '${(now || '').trim()}'`);
	}
}

async function waitAttr(page, testid, attr, want, timeout = 10000) {
	try {
		await page.waitForFunction(
			([s, a, w]) => {
				const e = document.querySelector(s);
				return !!e && e.getAttribute(a) === w;
			},
			[sel(testid), attr, want],
			{ timeout, polling: 50 }
		);
	} catch {
		const now = await page.getAttribute(sel(testid), attr).catch(() => '(missing)');
		throw new Error(`${testid}: expected ${attr}="${want}", has "${now}"`);
	}
}

/** The restart handshake with the shell test (RTG_E2E_CTL). */
async function control(request, answer, timeout = 30000) {
	assert(CTL, 'RTG_E2E_CTL is not set: cannot ask for an adapter restart');
	writeFileSync(join(CTL, request), `${Date.now()}\n`);
	const deadline = Date.now() + timeout;
	while (!existsSync(join(CTL, answer))) {
		assert(Date.now() < deadline, `no ${answer} within ${timeout} ms`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/** Any number in a JSON value (deep) within tolerance of want. */
function hasNumberNear(value, want, tolerance) {
	if (typeof value === 'number') return Math.abs(value - want) <= tolerance;
	if (value && typeof value === 'object') return Object.values(value).some((v) => hasNumberNear(v, want, tolerance));
	return false;
}

// ---- the test --------------------------------------------------------------------------------------

mkdirSync(ARTIFACTS, { recursive: true });
let context;
const pageErrors = [];
const consoleErrors = [];

try {
	context = await launch({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
	const page = context.pages()[0] || (await context.newPage());
	page.on('pageerror', (err) => pageErrors.push(err.message));
	page.on('console', (msg) => {
		// refused connections while the adapter is down are expected
		if (msg.type() === 'error' && !/WebSocket connection|ERR_CONNECTION_REFUSED|Failed to load resource/.test(msg.text()))
			consoleErrors.push(msg.text());
	});

	let firstConnectionId = '';

	await step(
		'the dashboard loads and its status turns connected',
		async () => {
			const res = await page.goto(`${HTTP}/?token=${encodeURIComponent(USER_TOKEN)}`);
			assert(res && res.status() === 200, `GET / answered ${res && res.status()}`);
			await waitAttr(page, 'status', 'data-state', 'connected');
			await waitText(page, 'status-text', 'Live');
		},
		{ critical: true }
	);

	await step('the header shows the user and the connection id from the greeting', async () => {
		await waitText(page, 'user-id', USER);
		firstConnectionId = (await page.textContent(sel('connection-id'))).trim();
		assert(firstConnectionId && firstConnectionId !== '–', `connection id '${firstConnectionId}'`);
	});

	await step('the client subscribed every dashboard channel', async () => {
		await page.waitForFunction(() => window.dashboard && window.dashboard.client.getStats().subscriptions.length >= 8, null, {
			timeout: 5000
		});
		const subs = await page.evaluate(() => window.dashboard.client.getStats().subscriptions);
		for (const ch of ['market_data', 'notifications', 'transactions', 'balance', 'credit_updates', 'system', 'calculations'])
			assert(subs.includes(ch), `missing ${ch} in ${subs.join(', ')}`);
	});

	// a realistic table for the screenshot: a few tickers with a short history each
	const board = { MSFT: 415.3, GOOGL: 171.8, NVDA: 122.4, TSLA: 246.9 };
	await step('prices published for several tickers fill the table, sorted, with sparklines', async () => {
		for (let i = 0; i < 24; i++) {
			await Promise.all(
				Object.entries(board).map(([t, base]) => {
					const p = +(base * (1 + 0.012 * Math.sin(i / 3 + base) + 0.0015 * i * (base > 200 ? 1 : -1))).toFixed(2);
					return publishPrice(t, p, base);
				})
			);
		}
		await page.waitForFunction(
			() => ['GOOGL', 'MSFT', 'NVDA', 'TSLA'].every((t) => Number(document.querySelector(`[data-testid="chart-${t}"]`)?.dataset.points) >= 2),
			null,
			{ timeout: 10000 }
		);
		const order = await page.$$eval('[data-testid="prices-body"] tr', (rows) => rows.map((r) => r.dataset.ticker));
		assert(JSON.stringify(order) === JSON.stringify([...order].sort()), `rows not sorted: ${order}`);
	});

	await step('a price published for AAPL appears in its row', async () => {
		await publishPrice('AAPL', 189.2, 187.9);
		await waitText(page, 'price-AAPL', money(189.2));
		await waitText(page, 'change-AAPL', '+1.30');
	});

	await step('a newer AAPL price replaces it, coloured and flashed by direction', async () => {
		await publishPrice('AAPL', 191.25, 187.9);
		await waitText(page, 'price-AAPL', money(191.25));
		const cls = await page.getAttribute(sel('change-AAPL'), 'class');
		assert(/\bup\b/.test(cls), `change cell class '${cls}'`);
		const rowCls = await page.getAttribute(sel('row-AAPL'), 'class');
		assert(/flash-up/.test(rowCls || ''), `row class '${rowCls}' (no flash-up)`);
		await publishPrice('AAPL', 186.4, 187.9);
		await waitText(page, 'price-AAPL', money(186.4));
		assert(/\bdown\b/.test(await page.getAttribute(sel('change-AAPL'), 'class')), 'a fall is not red');
		assert(/flash-down/.test(await page.getAttribute(sel('row-AAPL'), 'class')), 'a fall does not flash red');
		await publishPrice('AAPL', 190.05, 187.9);
		await waitText(page, 'price-AAPL', money(190.05));
	});

	await step("AAPL's sparkline holds every price received", async () => {
		const points = Number(await page.getAttribute(sel('chart-AAPL'), 'data-points'));
		assert(points === 4, `chart-AAPL has ${points} points, expected 4`);
	});

	await step('market indicators and market status are shown', async () => {
		await api('/api/broadcast/market', PUBLISHER, {
			discount_rate: 0.095,
			inflation_rate: 0.024,
			market_growth: 0.082,
			tech_index: 102.5,
			ai_adoption_rate: 0.352,
			timestamp: new Date().toISOString()
		});
		await api('/api/publish', PUBLISHER, {
			topic: 'market/status',
			retain: true,
			payload: { type: 'market_status', status: 'open', next_open: null, next_close: new Date(Date.now() + 5 * 3600e3).toISOString() }
		});
		await waitText(page, 'indicator-discount_rate', '9.50%');
		await waitText(page, 'indicator-inflation_rate', '2.40%');
		await waitText(page, 'indicator-market_growth', '8.20%');
		await waitText(page, 'indicator-tech_index', '102.50');
		await waitText(page, 'indicator-ai_adoption_rate', '35.20%');
		await waitAttr(page, 'market-status', 'data-status', 'open');
	});

	const tag = Math.random().toString(36).slice(2, 8);
	await step("a notification for this user appears at the top of the feed, another user's does not", async () => {
		await api('/api/broadcast/notification', NOTIFIER, {
			user_id: OTHER_USER,
			id: `n-other-${tag}`,
			title: `Not for you ${tag}`,
			message: 'another user',
			notification_type: 'security',
			priority: 'high'
		});
		await api('/api/broadcast/notification', NOTIFIER, {
			user_id: USER,
			id: `n-${tag}`,
			title: `Login from a new device ${tag}`,
			message: 'Chromium on Linux, 127.0.0.1',
			notification_type: 'security',
			priority: 'high',
			created_at: new Date().toISOString()
		});
		await page.waitForFunction(
			(t) => document.querySelector('[data-testid="notification"]')?.textContent.includes(t),
			`Login from a new device ${tag}`,
			{ timeout: 10000 }
		);
		const feed = await page.textContent(sel('notifications'));
		assert(!feed.includes(`Not for you ${tag}`), "another user's notification is in the feed");
		await api('/api/broadcast/notification', NOTIFIER, {
			user_id: USER,
			id: `n2-${tag}`,
			title: 'Savings goal reached',
			message: 'Holiday fund reached 100%',
			notification_type: 'savings',
			priority: 'normal',
			created_at: new Date().toISOString()
		});
		await page.waitForFunction(
			() => document.querySelector('[data-testid="notification"]')?.textContent.includes('Savings goal reached'),
			null,
			{ timeout: 10000 }
		);
		await waitText(page, 'notification-count', '2');
	});

	await step('balance, transactions and credit score updates fill the account panel', async () => {
		await api('/api/broadcast/balance', NOTIFIER, { user_id: USER, balance: 12500.5, currency: 'USD', change: 250 });
		await api('/api/broadcast/transaction', NOTIFIER, {
			user_id: USER,
			transaction_id: `tx-${tag}`,
			amount: -42.5,
			currency: 'USD',
			status: 'completed',
			description: 'Coffee Roasters'
		});
		await api('/api/broadcast/transaction', NOTIFIER, {
			user_id: USER,
			transaction_id: `tx2-${tag}`,
			amount: 1800,
			currency: 'USD',
			status: 'pending',
			description: 'Salary'
		});
		await api('/api/publish', NOTIFIER, {
			topic: `user/${USER}/credit`,
			retain: true,
			payload: { type: 'credit_analysis', credit_score: 742, risk_level: 'low risk', risk_score: 0.18 }
		});
		await waitText(page, 'balance', '12,500.50 USD');
		await waitText(page, 'credit', '742');
		await page.waitForFunction(() => document.querySelectorAll('[data-testid="transaction"]').length === 2, null, { timeout: 10000 });
		const first = await page.textContent(`${sel('transaction')}:first-child`);
		assert(first.includes('Salary'), `newest transaction first, got '${first}'`);
	});

	await step('a system announcement shows on the announcement line', async () => {
		await api('/api/broadcast/announcement', NOTIFIER, {
			title: 'Maintenance',
			message: `Scheduled maintenance Sunday 02:00 UTC (${tag})`,
			level: 'info'
		});
		await waitText(page, 'announcement-text', new RegExp(`Scheduled maintenance.*${tag}`));
	});

	await step('an NPV calculation run from the form reaches 100 % with the right result', async () => {
		await page.evaluate(() => {
			window.__progressSeen = [];
			const bar = document.querySelector('[data-testid="calc-progress"]');
			new MutationObserver(() => window.__progressSeen.push(Number(bar.getAttribute('aria-valuenow')))).observe(bar, {
				attributes: true,
				attributeFilter: ['aria-valuenow']
			});
		});
		assert((await page.inputValue(sel('calc-type'))) === 'npv', 'npv is not the default type');
		const params = JSON.parse(await page.inputValue(sel('calc-params')));
		assert(params.discount_rate === 0.1 && params.cash_flows.length === 3, 'the npv example is not prefilled');
		await page.click(sel('calc-run'));
		await waitAttr(page, 'calc-progress', 'aria-valuenow', '100', 20000);
		await waitAttr(page, 'calc-status', 'data-status', 'completed', 5000);
		await waitText(page, 'calc-progress-label', '100%');
		const text = await page.textContent(sel('calc-result'));
		let result;
		try {
			result = JSON.parse(text);
		} catch {
			throw new Error(`calc-result is not JSON: ${text}`);
		}
		assert(hasNumberNear(result, EXPECTED_NPV, 0.01), `no NPV of ${EXPECTED_NPV} in the result: ${text}`);
		const seen = await page.evaluate(() => window.__progressSeen);
		assert(seen.some((v) => v > 0 && v < 100), `the progress bar never showed a value between 0 and 100: ${seen}`);
	});

	await step('switching the calculation type prefills a valid example', async () => {
		for (const type of ['irr', 'roi', 'payback_period', 'loan_amortization', 'credit_score', 'npv']) {
			await page.selectOption(sel('calc-type'), type);
			const v = JSON.parse(await page.inputValue(sel('calc-params')));
			assert(v && typeof v === 'object' && Object.keys(v).length, `${type}: empty example`);
		}
	});

	if (process.env.RTG_CALC_FULL === '1') {
		// a real calc worker: every prefilled example must be a valid request
		await step('every calculation type runs to completed with its prefilled example', async () => {
			for (const type of ['irr', 'roi', 'payback_period', 'loan_amortization', 'credit_score', 'npv']) {
				await page.selectOption(sel('calc-type'), type);
				await page.click(sel('calc-run'));
				try {
					await waitAttr(page, 'calc-status', 'data-status', 'completed', 20000);
				} catch (err) {
					const why = await page.textContent(sel('calc-error')).catch(() => '');
					throw new Error(`${type}: ${err.message} ${why}`);
				}
			}
		});
	}

	await step('the stats panel shows the client stats and /api/stats (loopback)', async () => {
		await page.waitForSelector(`${sel('stats-server-box')}:not([hidden])`, { timeout: 8000 });
		const active = Number((await page.textContent(sel('server-active'))).trim());
		assert(active >= 1, `active connections ${active}`);
		await waitText(page, 'stat-state', 'connected');
	});

	await step('a dropped connection resumes where it left off: recovered, the missed price replayed', async () => {
		// A second tab keeps the adapter following the topics (a topic nobody
		// follows any more starts a new epoch, which no "since" can resume).
		const tab = await context.newPage();
		tab.on('pageerror', (err) => pageErrors.push(`second tab: ${err.message}`));
		await tab.goto(`${HTTP}/?token=${encodeURIComponent(USER_TOKEN)}`);
		await waitAttr(tab, 'status', 'data-state', 'connected');
		await waitText(tab, 'price-AAPL', money(190.05));
		await page.evaluate(() => {
			window.__resync = [];
			window.dashboard.client.on('*', (m) => {
				if (m.type === 'recovered' || m.type === 'gap') window.__resync.push(`${m.type} ${m.topic}`);
			});
			window.dashboard.client.reconnect(); // the next attempt is >= 0.8 s away
		});
		await waitAttr(page, 'status', 'data-state', 'reconnecting', 5000);
		await publishPrice('AAPL', 192.4, 187.9); // while this page is away
		await waitText(tab, 'price-AAPL', money(192.4));
		await waitAttr(page, 'status', 'data-state', 'connected', 15000);
		await waitText(page, 'price-AAPL', money(192.4));
		await page.waitForFunction(() => window.__resync.includes('recovered market/+'), null, { timeout: 5000 }).catch(() => {});
		const resync = await page.evaluate(() => window.__resync);
		assert(resync.includes('recovered market/+'), `resubscription answers: ${resync.join(', ')}`);
		assert(!resync.some((r) => r.startsWith('gap market/')), `gaps: ${resync.join(', ')}`);
		await tab.close();
	});

	await step('the adapter goes away: the status turns to reconnecting', async () => {
		await control('kill-adapter', 'adapter-killed');
		await waitAttr(page, 'status', 'data-state', 'reconnecting', 10000);
		await waitText(page, 'status-text', /^Reconnecting/);
	});

	await step('the adapter is back: the page reconnects by itself', async () => {
		await control('start-adapter', 'adapter-started', 40000);
		await waitAttr(page, 'status', 'data-state', 'connected', 30000);
		const id = (await page.textContent(sel('connection-id'))).trim();
		assert(id && id !== firstConnectionId, `connection id '${id}' (before: '${firstConnectionId}')`);
		const s = await page.evaluate(() => window.dashboard.client.getStats());
		assert(s.reconnects === 2, `reconnects ${s.reconnects} (expected 2: the drop, the restart)`);
	});

	await step('it resumed with since across the restart without a gap: the price published while the adapter was down is replayed', async () => {
		// the adapter saved its history and the broker kept its session (30-dashboard.sh)
		await page.waitForFunction(() => window.__resync.filter((r) => r === 'recovered market/+').length >= 2, null, { timeout: 10000 }).catch(() => {});
		const resync = await page.evaluate(() => window.__resync);
		assert(resync.filter((r) => r === 'recovered market/+').length >= 2, `resubscription answers: ${resync.join(', ')}`);
		assert(!resync.some((r) => r.startsWith('gap market/')), `gaps: ${resync.join(', ')}`);
		await waitText(page, 'price-AAPL', money(193.7), 10000);
		const s = await page.evaluate(() => window.dashboard.client.getStats());
		assert(s.gaps === 0, `the client counted ${s.gaps} gaps`);
	});

	await step('a price published after the restart reaches the page', async () => {
		await publishPrice('AAPL', 195.55, 187.9);
		await waitText(page, 'price-AAPL', money(195.55), 15000);
		assert(!consoleErrors.length, `console errors: ${consoleErrors.join(' | ')}`);
	});

	await step('a notification published after the restart reaches the feed', async () => {
		await api('/api/broadcast/notification', NOTIFIER, {
			user_id: USER,
			id: `n3-${tag}`,
			title: `Card payment approved ${tag}`,
			message: 'USD 42.50 at Coffee Roasters',
			notification_type: 'transaction',
			priority: 'normal',
			created_at: new Date().toISOString()
		});
		await page.waitForFunction(
			(t) => document.querySelector('[data-testid="notification"]')?.textContent.includes(t),
			`Card payment approved ${tag}`,
			{ timeout: 10000 }
		);
	});

	await step('the page had no uncaught errors', async () => {
		assert(!pageErrors.length, pageErrors.join(' | '));
	});

	await step('a screenshot of the dashboard is saved', async () => {
		// let the last flash animations finish: the screenshot shows the settled page
		await page.waitForTimeout(1000);
		const file = join(ARTIFACTS, 'dashboard.png');
		await page.screenshot({ path: file, fullPage: true });
		console.log(`# screenshot: ${file}`);
	});

	await step('the protocol console connects and answers a ping', async () => {
		const con = await context.newPage();
		con.on('pageerror', (err) => pageErrors.push(`console page: ${err.message}`));
		await con.goto(`${HTTP}/test?token=${encodeURIComponent(USER_TOKEN)}`);
		await waitAttr(con, 'console-status', 'data-state', 'open');
		await con.waitForFunction(() => document.querySelector('[data-testid="console-log"]').textContent.includes('"type":"connection"'), null, {
			timeout: 10000
		});
		await con.click('[data-example="subscribe:ticker AAPL"]');
		await con.click(sel('console-send'));
		await con.waitForFunction(() => document.querySelector('[data-testid="console-log"]').textContent.includes('"type":"history"'), null, {
			timeout: 10000
		});
		await con.click('[data-example="other:ping"]');
		await con.click(sel('console-send'));
		await con.waitForFunction(() => document.querySelector('[data-testid="console-log"]').textContent.includes('"type":"pong"'), null, {
			timeout: 10000
		});
		const file = join(ARTIFACTS, 'console.png');
		await con.screenshot({ path: file });
		console.log(`# screenshot: ${file}`);
		assert(!pageErrors.length, pageErrors.join(' | '));
	});
} catch (err) {
	report(false, 'the browser test ran to its end', err && err.stack ? err.stack : String(err));
} finally {
	await close(context);
}

process.exit(done());
