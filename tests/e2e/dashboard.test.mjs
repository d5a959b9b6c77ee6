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
 *   RTG_E2E_CTL           a directory for the handshakes with the shell test:
 *                         this test creates kill-adapter and waits for adapter-killed,
 *                         then creates start-adapter and waits for adapter-started;
 *                         revoke-market / market-revoked (an ACL without signed-in
 *                         users' market/# is loaded by the broker and the adapter),
 *                         restore-market / market-restored (the full ACL again)
 *   RTG_E2E_ARTIFACTS     where screenshots go (default ./artifacts): dashboard-1400.png,
 *                         dashboard-400.png, dashboard-stale-1400.png, console-1400.png,
 *                         console-400.png
 *
 * Beyond the data: the token's way through one tab (taken out of the address
 * into sessionStorage, the console link and its Dashboard link without it), a
 * tab without one (sign-in), a revoked and a refused subscription (a stale
 * badge, the reason in the log, live again on a resubscription), and the
 * layout at 1400 and 400 px, asserted on the elements' boxes (the screenshots
 * are for people).
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

/** The connection log of the dashboard has a line matching re (within timeout). */
async function logHas(page, re, timeout = 10000) {
	try {
		await page.waitForFunction(
			([src]) => [...document.querySelectorAll('[data-testid="conn-log"] li')].some((li) => new RegExp(src).test(li.textContent)),
			[re.source],
			{ timeout, polling: 50 }
		);
	} catch {
		const log = await page.$$eval('[data-testid="conn-log"] li', (lis) => lis.map((li) => li.textContent));
		throw new Error(`no log line matches ${re}: ${JSON.stringify(log)}`);
	}
}

/** The console's message log contains text (within timeout). */
async function consoleHas(page, text, timeout = 10000) {
	await page.waitForFunction((t) => document.querySelector('[data-testid="console-log"]').textContent.includes(t), text, { timeout });
}

/** The parts whose boxes the layout checks read: testid, or #id / .class selectors. */
const DASHBOARD_PARTS = {
	'panel-prices': '[data-feed="prices"]',
	'panel-indicators': '[data-feed="indicators"]',
	'panel-notifications': '[data-feed="notifications"]',
	'panel-account': '[data-feed="account"]',
	'panel-calc': '[data-feed="calc"]',
	balance: '[data-testid="balance"]',
	prices: '[data-testid="prices"]',
	'prices-wrap': '.table-wrap',
	header: '.topbar'
};
const CONSOLE_PARTS = {
	'console-panel-connection': 'main > .panel:first-child',
	'console-panel-log': 'main > .panel:last-child',
	'console-log': '[data-testid="console-log"]',
	'console-input': '[data-testid="console-input"]',
	'console-send': '[data-testid="console-send"]',
	header: 'header'
};

/**
 * The layout facts of a page: the document's scroll and client widths, every
 * element whose box leaves the screen sideways, the boxes of parts (with
 * their scroll and client widths: a scrolled or cut part shows), the price
 * cells' boxes and the number of price columns shown.
 */
async function layoutFacts(page, parts) {
	return page.evaluate((p) => {
		const de = document.documentElement;
		const vw = de.clientWidth;
		const box = (e) => {
			const r = e.getBoundingClientRect();
			return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth };
		};
		const wide = [];
		for (const e of document.querySelectorAll('body *')) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && (r.left < -0.5 || r.right > vw + 0.5))
				wide.push(`${e.tagName.toLowerCase()}${e.dataset.testid ? `[${e.dataset.testid}]` : e.className ? `.${e.className}` : ''} ${Math.round(r.left)}..${Math.round(r.right)}`);
		}
		const els = {};
		for (const [name, q] of Object.entries(p)) {
			const e = document.querySelector(q);
			els[name] = e ? box(e) : null;
		}
		const cells = {};
		for (const e of document.querySelectorAll('[data-testid="prices-body"] td[data-testid]')) cells[e.dataset.testid] = box(e);
		const priceColumns = [...document.querySelectorAll('[data-testid="prices"] thead th')].filter((th) => th.getBoundingClientRect().width > 0).length;
		return { vw, scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, wide, els, cells, priceColumns };
	}, parts);
}

/* No sideways scrolling, no element off the screen, every part whole (not scrolled or cut inside). */
function assertFits(f, width) {
	assert(f.clientWidth === width, `the viewport is ${f.clientWidth} px, not ${width}`);
	assert(f.scrollWidth <= f.clientWidth, `the page scrolls sideways: ${f.scrollWidth} px wide in ${f.clientWidth}`);
	assert(!f.wide.length, `off the screen: ${f.wide.slice(0, 8).join(', ')}${f.wide.length > 8 ? ` and ${f.wide.length - 8} more` : ''}`);
	for (const [name, b] of Object.entries(f.els)) {
		assert(b, `${name} is missing`);
		assert(b.width > 0 && b.left >= 0 && b.right <= width + 0.5, `${name} is not within the screen: ${JSON.stringify(b)}`);
		assert(b.scrollWidth <= b.clientWidth + 1, `${name} is cut or scrolls: content ${b.scrollWidth} px in ${b.clientWidth}`);
	}
}

async function shot(page, name, fullPage) {
	const file = join(ARTIFACTS, name);
	await page.screenshot({ path: file, fullPage });
	console.log(`# screenshot: ${file}`);
}

// ---- the test --------------------------------------------------------------------------------------

mkdirSync(ARTIFACTS, { recursive: true });
let context;
const pageErrors = [];
const consoleErrors = [];

try {
	context = await launch({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
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

	await step('the token left the address bar (no reload) and is kept for the tab in sessionStorage', async () => {
		assert(!page.url().includes('token'), `the address still has the token: ${page.url()}`);
		const kept = await page.evaluate(() => sessionStorage.getItem('rtg.token'));
		assert(kept === USER_TOKEN, 'sessionStorage does not hold the token');
		const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
		assert(loads === 1, `${loads} navigations`);
	});

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

	await step('a plain-text publish (mosquitto_pub -m \'Hello\', docs/protocol.md "Publishing") shows as a notification', async () => {
		// /api/publish publishes a JSON string payload as its characters: the bytes mosquitto_pub -m sends
		await api('/api/publish', NOTIFIER, { topic: `user/${USER}/notifications`, payload: `Hello ${USER} ${tag}` });
		await page.waitForFunction(
			(t) => document.querySelector('[data-testid="notification"]')?.textContent.includes(t),
			`Hello ${USER} ${tag}`,
			{ timeout: 10000 }
		);
		await waitText(page, 'notification-count', '3');
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

	await step('an ACL change that revokes market data: prices and indicators turn stale, the log says why', async () => {
		await control('revoke-market', 'market-revoked');
		await waitAttr(page, 'feed-prices', 'data-state', 'stale', 10000);
		await waitAttr(page, 'feed-indicators', 'data-state', 'stale');
		assert(await page.isVisible(sel('feed-prices')), 'the stale badge of the prices is not visible');
		assert((await page.getAttribute('[data-feed="prices"]', 'data-stale')) !== null, 'the prices panel is not marked stale');
		await waitAttr(page, 'status', 'data-state', 'degraded');
		const status = (await page.textContent(sel('status-text'))).trim();
		assert(status !== 'Live' && /stale/.test(status), `the header says '${status}' beside stale prices`);
		await logHas(page, /prices, indicators stale: market_data \(market\/\+\) ended by the gateway: access revoked by an ACL change/);
		// the alerts channel is user/<me>/alerts and market/alerts/+ (profiles/gateway.conf): the
		// notifications panel, which shows alerts, lost the market's; nothing else is affected
		await waitAttr(page, 'feed-notifications', 'data-state', 'stale');
		await logHas(page, /notifications stale: alerts \(market\/alerts\/\+\) ended by the gateway: access revoked by an ACL change/);
		for (const other of ['account', 'calc', 'announcement'])
			assert((await page.getAttribute(sel(`feed-${other}`), 'data-state')) === 'live', `${other} turned stale too`);
		await shot(page, 'dashboard-stale-1400.png', false);
		// published while revoked: the page must not get it now, but does on the resubscription (retained)
		await publishPrice('AAPL', 150.0, 187.9);
	});

	await step('a resubscription while still revoked is refused: still stale, the error reply in the log', async () => {
		await page.click(sel('retry-prices'));
		await logHas(page, /prices, indicators stale: market_data \(market\/\+\) refused: cannot subscribe to 'market\/\+': not allowed by the ACL/);
		await waitAttr(page, 'feed-prices', 'data-state', 'stale');
		await waitAttr(page, 'status', 'data-state', 'degraded');
		const shown = (await page.textContent(sel('price-AAPL'))).trim();
		assert(shown !== money(150.0), 'a price reached the page after its subscription was revoked');
	});

	await step('the right restored, a resubscription clears the stale state and brings what was published meanwhile', async () => {
		await control('restore-market', 'market-restored');
		// the Retry buttons (a DOM click: the page's own timed retry may have made one live and hidden it already)
		await page.evaluate(() => ['prices', 'notifications'].forEach((p) => document.querySelector(`[data-testid="retry-${p}"]`).click()));
		await waitAttr(page, 'feed-prices', 'data-state', 'live', 10000);
		await waitAttr(page, 'feed-indicators', 'data-state', 'live');
		await waitAttr(page, 'feed-notifications', 'data-state', 'live', 10000);
		assert(await page.isHidden(sel('feed-prices')), 'the stale badge is still shown');
		assert((await page.getAttribute('[data-feed="prices"]', 'data-stale')) === null, 'the prices panel is still marked stale');
		await waitAttr(page, 'status', 'data-state', 'connected');
		await waitText(page, 'status-text', 'Live');
		await logHas(page, /prices, indicators live again \(market_data\)/);
		await waitText(page, 'price-AAPL', money(150.0));
		await publishPrice('AAPL', 152.25, 187.9);
		await waitText(page, 'price-AAPL', money(152.25));
	});

	await step('the page had no uncaught errors', async () => {
		assert(!pageErrors.length, pageErrors.join(' | '));
	});

	// the "cut balance" of a narrow screen: a seven-figure balance
	await step('a seven-figure balance is shown whole', async () => {
		await api('/api/broadcast/balance', NOTIFIER, { user_id: USER, balance: 1234567.89, currency: 'USD', change: 1222067.39 });
		await waitText(page, 'balance', '1,234,567.89 USD');
	});

	await step('at 1400 px: the dashboard in its columns, every price column, nothing wider than the screen (screenshot)', async () => {
		await page.setViewportSize({ width: 1400, height: 1000 });
		await page.waitForTimeout(1000); // the last flash animations end: the screenshot shows the settled page
		const f = await layoutFacts(page, DASHBOARD_PARTS);
		assertFits(f, 1400);
		const e = f.els;
		assert(e['panel-prices'].top === e['panel-indicators'].top && e['panel-prices'].right < e['panel-indicators'].left,
			'prices and indicators are not side by side');
		assert(e['panel-notifications'].top === e['panel-account'].top && e['panel-account'].top === e['panel-calc'].top,
			'notifications, account and calculation are not one row');
		assert(f.priceColumns === 8, `${f.priceColumns} price columns shown, expected 8`);
		await shot(page, 'dashboard-1400.png', true);
	});

	await step('at 400 px: the dashboard does not scroll sideways; the balance and the price table are whole (screenshot)', async () => {
		await page.setViewportSize({ width: 400, height: 900 });
		const f = await layoutFacts(page, DASHBOARD_PARTS);
		assertFits(f, 400);
		const e = f.els;
		assert(e['panel-indicators'].top > e['panel-prices'].bottom, 'the panels are not stacked');
		assert(f.priceColumns >= 4, `only ${f.priceColumns} price columns`);
		for (const t of ['AAPL', 'MSFT', 'GOOGL', 'NVDA', 'TSLA'])
			for (const c of [`price-${t}`, `change-pct-${t}`]) {
				const r = f.cells[c];
				assert(r && r.width > 0 && r.left >= 0 && r.right <= 400, `${c} is not on the screen: ${JSON.stringify(r)}`);
			}
		await shot(page, 'dashboard-400.png', true);
		await page.setViewportSize({ width: 1400, height: 1000 });
	});

	await step("the console link opens the console in this tab, signed in with the tab's token, no token in any URL", async () => {
		await page.setViewportSize({ width: 1400, height: 1000 });
		const href = await page.getAttribute(sel('console-link'), 'href');
		assert(!/token/.test(href), `the console link carries the token: ${href}`);
		await Promise.all([page.waitForURL((u) => new URL(u).pathname === '/test', { timeout: 10000 }), page.click(sel('console-link'))]);
		assert(!page.url().includes('token'), `the console's address: ${page.url()}`);
		assert(await page.isHidden(sel('console-signin')), 'the console asks for a token');
		await waitAttr(page, 'console-status', 'data-state', 'open');
		await page.waitForFunction(
			(u) => [...document.querySelectorAll('[data-testid="console-log"] li')].some((li) => li.dataset.type === 'connection' && li.textContent.includes(`"user_id":"${u}"`)),
			USER,
			{ timeout: 10000 }
		);
	});

	await step('the protocol console subscribes and answers a ping', async () => {
		await page.click('[data-example="subscribe:ticker AAPL"]');
		await page.click(sel('console-send'));
		await consoleHas(page, '"type":"history"');
		await page.click('[data-example="other:ping"]');
		await page.click(sel('console-send'));
		await consoleHas(page, '"type":"pong"');
	});

	await step('at 1400 px the console has its two columns; at 400 px it fits the screen (screenshots)', async () => {
		await page.setViewportSize({ width: 1400, height: 1000 }); // whatever an earlier step left
		let f = await layoutFacts(page, CONSOLE_PARTS);
		assertFits(f, 1400);
		assert(f.els['console-panel-connection'].right < f.els['console-panel-log'].left, 'the console is not two columns at 1400 px');
		await shot(page, 'console-1400.png', false);
		await page.setViewportSize({ width: 400, height: 900 });
		f = await layoutFacts(page, CONSOLE_PARTS);
		assertFits(f, 400);
		assert(f.els['console-panel-log'].top > f.els['console-panel-connection'].bottom, 'the console panels are not stacked at 400 px');
		await shot(page, 'console-400.png', true);
		await page.setViewportSize({ width: 1400, height: 1000 });
	});

	await step('its Dashboard link comes back to a working dashboard in the same session', async () => {
		await page.setViewportSize({ width: 1400, height: 1000 });
		await Promise.all([page.waitForURL((u) => new URL(u).pathname === '/', { timeout: 10000 }), page.click(sel('dashboard-link'))]);
		assert(!page.url().includes('token'), `the dashboard's address: ${page.url()}`);
		await waitAttr(page, 'status', 'data-state', 'connected');
		await waitText(page, 'user-id', USER);
		await publishPrice('AAPL', 153.1, 187.9);
		await waitText(page, 'price-AAPL', money(153.1));
		assert(!pageErrors.length, pageErrors.join(' | '));
	});

	await step('a tab without a token: the dashboard shows the sign-in, the console says it has none', async () => {
		const fresh = await context.newPage();
		fresh.on('pageerror', (err) => pageErrors.push(`tab without a token: ${err.message}`));
		await fresh.goto(`${HTTP}/`);
		assert((await fresh.evaluate(() => sessionStorage.length)) === 0, 'the new tab has a sessionStorage');
		await fresh.waitForSelector(`${sel('signin')}:not([hidden])`, { timeout: 5000 });
		await waitAttr(fresh, 'status', 'data-state', 'closed');
		await waitText(fresh, 'status-text', 'Not signed in');
		assert(await fresh.isHidden(sel('dashboard')), 'empty panels are shown without a token');
		await fresh.goto(`${HTTP}/test`);
		await fresh.waitForSelector(`${sel('console-signin')}:not([hidden])`, { timeout: 5000 });
		const text = (await fresh.textContent(`${sel('console-status')} .status-text`)).trim();
		assert(text === 'No token', `the console's status says '${text}'`);
		assert((await fresh.textContent(sel('console-count'))).trim() === '0', 'the console connected without a token');
		// signing in with the form keeps the token for the tab, and the page connects
		await fresh.goto(`${HTTP}/`);
		await fresh.fill(`${sel('signin-form')} input[name="token"]`, USER_TOKEN);
		await Promise.all([fresh.waitForNavigation({ timeout: 10000 }), fresh.click(`${sel('signin-form')} button`)]);
		await waitAttr(fresh, 'status', 'data-state', 'connected');
		await waitText(fresh, 'user-id', USER);
		assert(!fresh.url().includes('token'), `address after signing in: ${fresh.url()}`);
		await fresh.close();
	});

	await step('a refused token: the sign-in says why, and the tab forgets the token', async () => {
		const tab = await context.newPage();
		tab.on('pageerror', (err) => pageErrors.push(`refused tab: ${err.message}`));
		await tab.goto(`${HTTP}/#token=not-a-jwt`);
		await tab.waitForSelector(`${sel('signin-error')}:not([hidden])`, { timeout: 10000 });
		await waitText(tab, 'signin-error', /refused the token/);
		assert(!tab.url().includes('token'), `address: ${tab.url()}`);
		assert((await tab.evaluate(() => sessionStorage.getItem('rtg.token'))) === null, 'the refused token is still kept');
		await tab.close();
	});

	await step('the console at /ws/test links back to the dashboard at /', async () => {
		const tab = await context.newPage();
		await tab.goto(`${HTTP}/ws/test`);
		const href = await tab.$eval(sel('dashboard-link'), (a) => new URL(a.href).pathname);
		assert(href === '/', `its Dashboard link goes to ${href}`);
		await tab.close();
	});

	await step('a console opened with #token= keeps it for the tab and drops it from the address', async () => {
		const tab = await context.newPage();
		tab.on('pageerror', (err) => pageErrors.push(`console tab: ${err.message}`));
		await tab.goto(`${HTTP}/test#token=${encodeURIComponent(USER_TOKEN)}`);
		await waitAttr(tab, 'console-status', 'data-state', 'open');
		await consoleHas(tab, `"user_id":"${USER}"`);
		assert(!tab.url().includes('token'), `address: ${tab.url()}`);
		assert((await tab.evaluate(() => sessionStorage.getItem('rtg.token'))) === USER_TOKEN, 'sessionStorage lacks the token');
		await tab.close();
		assert(!pageErrors.length, pageErrors.join(' | '));
	});
} catch (err) {
	report(false, 'the browser test ran to its end', err && err.stack ? err.stack : String(err));
} finally {
	await close(context);
}

process.exit(done());
