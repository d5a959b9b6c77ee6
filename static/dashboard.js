/**
 * dashboard.js - the gateway's live dashboard (static/index.html).
 *
 * One RtgClient (rtg-client.js) connects with the tab's token (session.js:
 * from the address on first load, then from sessionStorage; without one the
 * page asks for it) and subscribes the seed channels: market_data (prices,
 * indicators, market status), notifications, alerts, transactions, balance,
 * credit_updates, system and calculations. Each message type has a renderer;
 * history messages go through the same renderers. A subscription the gateway
 * ends (an ACL reload) or refuses (an error reply) marks the panels it fills
 * "stale", logs why and is tried again; its next confirmation clears that.
 * Nothing here is loaded from outside the adapter. The page exposes
 * window.dashboard = {client, state}.
 */
import { RtgClient, filtersOf } from './rtg-client.js';
import { forgetToken, storeToken, takeToken } from './session.js';

const SPARK_POINTS = 60;
const MAX_NOTIFICATIONS = 50;
const MAX_TRANSACTIONS = 8;
const MAX_LOG = 8;
const STATS_POLL_MS = 5000;

/** Example parameters per calculation type (the calc worker's inputs). */
const CALC_EXAMPLES = {
	npv: { cash_flows: [100000, 120000, 140000], discount_rate: 0.1, initial_investment: 300000 },
	irr: { cash_flows: [-300000, 100000, 120000, 140000, 160000] },
	roi: { initial_investment: 50000, final_value: 65000, years: 3 },
	payback_period: { initial_investment: 300000, cash_flows: [80000, 100000, 120000, 140000] },
	loan_amortization: { principal: 250000, annual_rate: 0.06, years: 30, payments_per_year: 12 },
	credit_score: {
		payment_history: 0.97,
		credit_utilization: 0.25,
		credit_age_years: 8,
		num_accounts: 5,
		recent_inquiries: 1,
		income: 85000,
		debt: 20000
	}
};

const INDICATORS = {
	discount_rate: 'percent',
	inflation_rate: 'percent',
	market_growth: 'percent',
	tech_index: 'number',
	ai_adoption_rate: 'percent'
};

// ---- small helpers ------------------------------------------------------------------

const $ = (sel, root = document) => root.querySelector(sel);
const tid = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Creates an element: h('td', {class: 'num', dataset: {testid: 'x'}}, 'text', child). */
function h(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'class') e.className = v;
		else if (k === 'dataset') Object.assign(e.dataset, v);
		else if (k === 'text') e.textContent = v;
		else e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children) {
		if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
	}
	return e;
}

const num = (v) => (v === null || v === undefined || v === '' ? NaN : Number(v));
const fmt2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fmtCompact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

function money(v) {
	const n = num(v);
	return Number.isFinite(n) ? fmt2.format(n) : '–';
}

function signed(v, suffix = '') {
	const n = num(v);
	if (!Number.isFinite(n)) return '–';
	return `${n > 0 ? '+' : n < 0 ? '−' : ''}${fmt2.format(Math.abs(n))}${suffix}`;
}

function signClass(v) {
	const n = num(v);
	return n > 0 ? 'up' : n < 0 ? 'down' : 'flat';
}

/** Rates in the feeds are fractions (0.095); a value of 1 or more is taken as percent already. */
function percent(v) {
	const n = num(v);
	if (!Number.isFinite(n)) return '–';
	return `${fmt2.format(Math.abs(n) < 1 ? n * 100 : n)}%`;
}

function clock(ts) {
	const d = ts ? new Date(ts) : new Date();
	if (Number.isNaN(d.getTime())) return '';
	return d.toLocaleTimeString('en-GB', { hour12: false });
}

function duration(seconds) {
	const s = Math.max(0, Math.round(seconds));
	if (s < 90) return `${s} s`;
	if (s < 5400) return `${Math.round(s / 60)} min`;
	if (s < 172800) return `${Math.round(s / 3600)} h`;
	return `${Math.round(s / 86400)} d`;
}

/** Seed payloads sometimes nest their fields in "data": flatten (outer members win). */
function flat(m) {
	if (m && m.data && typeof m.data === 'object' && !Array.isArray(m.data)) {
		const { data, ...outer } = m;
		return { ...data, ...outer };
	}
	return m;
}

/** Restarts a CSS animation class on an element. */
function flash(e, cls) {
	e.classList.remove('flash-up', 'flash-down');
	void e.offsetWidth; // reflow, so the animation starts again
	e.classList.add(cls);
}

// ---- state ----------------------------------------------------------------------------------

const state = {
	rows: new Map(), // ticker -> {tr, cells, series, last}
	indicators: {},
	notifications: [],
	notificationIds: new Set(),
	transactions: [],
	calc: { id: null, status: 'idle', progress: 0, waitTimer: null },
	serverStats: null,
	log: []
};

// ---- connection status --------------------------------------------------------------------------

const conn = { state: 'connecting', text: 'Connecting…' };

/** The connection's state; renderStatus() adds whether every feed is live. */
function setStatus(stateName, text) {
	conn.state = stateName;
	conn.text = text;
	renderStatus();
}

/* Connected with a stale panel is not "Live": the light turns amber and says which. */
function renderStatus() {
	const s = tid('status');
	const stale = stalePanels();
	const degraded = conn.state === 'connected' && stale.length > 0;
	s.dataset.state = degraded ? 'degraded' : conn.state;
	s.title = degraded ? `Stale: ${stale.map((p) => PANEL_NAMES[p]).join(', ')}` : '';
	tid('status-text').textContent = degraded ? 'Live, partly stale' : conn.text;
}

function logEvent(text, level = 'info') {
	state.log.unshift({ text, level, time: clock() });
	state.log.length = Math.min(state.log.length, MAX_LOG);
	const ol = tid('conn-log');
	ol.replaceChildren(
		...state.log.map((e) => h('li', { class: `log-${e.level}` }, h('time', {}, e.time), ' ', e.text))
	);
}

// ---- feeds: the subscriptions behind the panels ---------------------------------------------

/** Each channel the dashboard subscribes, and the panels (data-feed="...") it fills. */
const FEEDS = {
	market_data: ['prices', 'indicators'],
	notifications: ['notifications'],
	alerts: ['notifications'],
	transactions: ['account'],
	balance: ['account'],
	credit_updates: ['account'],
	system: ['announcement'],
	calculations: ['calc']
};
const PANEL_NAMES = {
	prices: 'prices',
	indicators: 'indicators',
	notifications: 'notifications',
	account: 'account',
	announcement: 'announcements',
	calc: 'calculations'
};
/** Delays between tries of a stale feed; the last one repeats. */
const RETRY_MS = [5000, 10000, 20000, 40000, 60000];

/** channel -> {stale: Map filter -> reason, tries, timer}. */
const feeds = new Map(Object.keys(FEEDS).map((ch) => [ch, { stale: new Map(), tries: 0, timer: null }]));

function filtersFor(channel) {
	return filtersOf({ channel }, client.userId);
}

/* filter -> channel, as the gateway's confirmations name them (its profile may add filters: alerts has market/alerts/+ too) */
const seenFilters = new Map();

/* The dashboard's channels a subscription message is about: the one it names, else each known to hold its filter. */
function channelsFor(filter, channel) {
	if (channel && feeds.has(channel)) {
		seenFilters.set(filter, channel);
		return [channel];
	}
	const chans = new Set([...feeds.keys()].filter((ch) => filtersFor(ch).includes(filter)));
	if (seenFilters.has(filter)) chans.add(seenFilters.get(filter));
	return [...chans];
}

function stalePanels() {
	const out = new Set();
	for (const [ch, f] of feeds) if (f.stale.size) FEEDS[ch].forEach((p) => out.add(p));
	return [...out];
}

/* Shows each panel's badge: hidden while its feeds are live, "Stale" (why, and a retry) when one is not. */
function renderFeeds() {
	const stale = stalePanels();
	for (const panel of Object.keys(PANEL_NAMES)) {
		const box = document.querySelector(`[data-feed="${panel}"]`);
		const badge = tid(`feed-${panel}`);
		const on = stale.includes(panel);
		const why = [...feeds]
			.filter(([ch, f]) => f.stale.size && FEEDS[ch].includes(panel))
			.flatMap(([, f]) => [...f.stale.values()]);
		box.toggleAttribute('data-stale', on);
		badge.dataset.state = on ? 'stale' : 'live';
		badge.hidden = !on;
		badge.title = on ? `Not updating: ${why.join('; ')}` : '';
	}
	renderStatus();
}

const panelList = (ch) => FEEDS[ch].map((p) => PANEL_NAMES[p]).join(', ');

/* A feed's filter ended or was refused: its panels go stale, the log says why (once per reason), a retry is planned. */
function feedStale(channel, filter, reason) {
	const f = feeds.get(channel);
	const before = f.stale.get(filter);
	f.stale.set(filter, reason);
	if (before !== reason) logEvent(`${panelList(channel)} stale: ${channel} (${filter}) ${reason}`, 'warn');
	clearTimeout(f.timer);
	f.timer = setTimeout(() => retryFeed(channel), RETRY_MS[Math.min(f.tries, RETRY_MS.length - 1)]);
	f.tries++;
	renderFeeds();
}

function feedLive(channel, filter) {
	const f = feeds.get(channel);
	if (!f.stale.delete(filter) || f.stale.size) return;
	clearTimeout(f.timer);
	f.timer = null;
	f.tries = 0;
	logEvent(`${panelList(channel)} live again (${channel})`, 'ok');
	renderFeeds();
}

/* Subscribes a stale feed again; the answer (confirmation or error) decides its state. */
function retryFeed(channel) {
	const f = feeds.get(channel);
	clearTimeout(f.timer);
	f.timer = null;
	if (f.stale.size) client.subscribe(channel);
}

function retryPanel(panel) {
	for (const [ch, f] of feeds) if (f.stale.size && FEEDS[ch].includes(panel)) retryFeed(ch);
}

function onSubscription(m) {
	if (typeof m.topic !== 'string') return;
	for (const ch of channelsFor(m.topic, m.channel)) {
		if (m.action === 'subscribed') feedLive(ch, m.topic);
		else if (m.action === 'unsubscribed' && m.reason) feedStale(ch, m.topic, `ended by the gateway: ${m.reason}`);
	}
}

/* An error reply refusing one of the dashboard's filters; true if it was one (and is shown as such). */
function onSubscribeError(m) {
	const hit = /cannot subscribe to '([^']*)'/.exec(String(m.message || ''));
	const chans = hit ? channelsFor(hit[1]) : [];
	for (const ch of chans) feedStale(ch, hit[1], `refused: ${m.message}`);
	return chans.length > 0;
}

// ---- prices -----------------------------------------------------------------------------------

function priceRow(ticker) {
	let row = state.rows.get(ticker);
	if (row) return row;
	const cells = {
		price: h('td', { class: 'num price', dataset: { testid: `price-${ticker}` } }, '–'),
		change: h('td', { class: 'num', dataset: { testid: `change-${ticker}` } }, '–'),
		pct: h('td', { class: 'num', dataset: { testid: `change-pct-${ticker}` } }, '–'),
		volume: h('td', { class: 'num muted', dataset: { testid: `volume-${ticker}` } }, '–'),
		high: h('td', { class: 'num', dataset: { testid: `high-${ticker}` } }, '–'),
		low: h('td', { class: 'num', dataset: { testid: `low-${ticker}` } }, '–')
	};
	const canvas = h('canvas', { class: 'spark', width: 120, height: 28, dataset: { testid: `chart-${ticker}`, points: '0' } });
	const tr = h(
		'tr',
		{ dataset: { testid: `row-${ticker}`, ticker } },
		h('th', { scope: 'row', class: 'ticker' }, ticker),
		cells.price,
		cells.change,
		cells.pct,
		cells.volume,
		cells.high,
		cells.low,
		h('td', { class: 'chart-col' }, canvas)
	);
	row = { tr, cells, canvas, series: [], last: null };
	state.rows.set(ticker, row);
	const body = tid('prices-body');
	$('.placeholder', body)?.remove();
	const after = [...body.children].find((r) => r.dataset.ticker && r.dataset.ticker > ticker);
	body.insertBefore(tr, after || null);
	return row;
}

function onPrice(m, fromHistory) {
	const d = flat(m);
	const ticker = d.ticker || d.symbol || (d.topic || '').split('/')[1];
	const price = num(d.price);
	if (!ticker || !Number.isFinite(price)) return;
	const row = priceRow(ticker);
	const prev = row.last;
	const open = num(d.open ?? d.open_price);
	let change = num(d.change);
	if (!Number.isFinite(change)) change = Number.isFinite(open) ? price - open : prev !== null ? price - prev : 0;
	let pct = num(d.change_percent);
	if (!Number.isFinite(pct)) {
		const base = price - change;
		pct = base ? (change / base) * 100 : 0;
	}
	const c = row.cells;
	c.price.textContent = money(price);
	c.change.textContent = signed(change);
	c.pct.textContent = signed(pct, '%');
	for (const cell of [c.change, c.pct]) cell.className = `num ${signClass(change)}`;
	c.volume.textContent = Number.isFinite(num(d.volume)) ? fmtCompact.format(num(d.volume)) : '–';
	c.high.textContent = money(d.high);
	c.low.textContent = money(d.low);
	row.tr.title = d.timestamp ? `updated ${clock(d.timestamp)}` : '';
	if (!fromHistory && prev !== null && price !== prev) flash(row.tr, price > prev ? 'flash-up' : 'flash-down');
	row.last = price;
	row.series.push(price);
	if (row.series.length > SPARK_POINTS) row.series.splice(0, row.series.length - SPARK_POINTS);
	drawSpark(row);
}

function drawSpark(row) {
	const cv = row.canvas;
	const dpr = window.devicePixelRatio || 1;
	const w = 120;
	const hgt = 28;
	if (cv.width !== w * dpr) {
		cv.width = w * dpr;
		cv.height = hgt * dpr;
	}
	const ctx = cv.getContext('2d');
	ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
	ctx.clearRect(0, 0, w, hgt);
	const s = row.series;
	cv.dataset.points = String(s.length);
	if (s.length < 2) {
		ctx.fillStyle = '#94a3b8';
		ctx.beginPath();
		ctx.arc(w / 2, hgt / 2, 2, 0, Math.PI * 2);
		ctx.fill();
		return;
	}
	let lo = Math.min(...s);
	let hi = Math.max(...s);
	if (hi - lo < 1e-9) {
		hi += 1;
		lo -= 1;
	}
	const pad = 3;
	const x = (i) => pad + (i * (w - 2 * pad)) / (s.length - 1);
	const y = (v) => hgt - pad - ((v - lo) * (hgt - 2 * pad)) / (hi - lo);
	const up = s[s.length - 1] >= s[0];
	const stroke = up ? '#15803d' : '#b91c1c';
	ctx.beginPath();
	s.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
	ctx.lineTo(x(s.length - 1), hgt);
	ctx.lineTo(x(0), hgt);
	ctx.closePath();
	ctx.fillStyle = up ? 'rgba(21,128,61,0.10)' : 'rgba(185,28,28,0.10)';
	ctx.fill();
	ctx.beginPath();
	s.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
	ctx.strokeStyle = stroke;
	ctx.lineWidth = 1.5;
	ctx.lineJoin = 'round';
	ctx.stroke();
	ctx.fillStyle = stroke;
	ctx.beginPath();
	ctx.arc(x(s.length - 1), y(s[s.length - 1]), 2.2, 0, Math.PI * 2);
	ctx.fill();
}

// ---- indicators and market status ---------------------------------------------------------------

function onIndicators(m) {
	const d = flat(m);
	for (const [key, kind] of Object.entries(INDICATORS)) {
		const v = num(d[key]);
		if (!Number.isFinite(v)) continue;
		const tile = $(`.tile[data-key="${key}"]`);
		const prev = state.indicators[key];
		tile.querySelector('.tile-value').textContent = kind === 'percent' ? percent(v) : fmt2.format(v);
		const delta = tile.querySelector('.tile-delta');
		if (prev !== undefined && prev !== v) {
			delta.textContent = v > prev ? '▲' : '▼';
			delta.className = `tile-delta ${v > prev ? 'up' : 'down'}`;
		}
		state.indicators[key] = v;
		if (key === 'ai_adoption_rate') {
			const p = Math.abs(v) < 1 ? v * 100 : v;
			tid('ai-adoption-meter').style.width = `${Math.max(0, Math.min(100, p))}%`;
		}
	}
	tid('indicators-time').textContent = `updated ${clock(d.timestamp)}`;
}

function onMarketStatus(m) {
	const d = flat(m);
	const status = String(d.status || 'unknown').toLowerCase();
	const badge = tid('market-status');
	badge.dataset.status = status;
	badge.textContent = `Market ${status}`;
	const next = [];
	if (d.next_close) next.push(`closes ${new Date(d.next_close).toLocaleString('en-GB')}`);
	if (d.next_open) next.push(`opens ${new Date(d.next_open).toLocaleString('en-GB')}`);
	tid('market-next').textContent = next.length ? `Market ${status}: ${next.join(', ')}` : `Market ${status}`;
}

// ---- notifications and account --------------------------------------------------------------------

function addFeedItem(item) {
	if (item.id !== undefined && item.id !== null) {
		const key = `${item.kind}:${item.id}`;
		if (state.notificationIds.has(key)) return;
		state.notificationIds.add(key);
	}
	state.notifications.unshift(item);
	while (state.notifications.length > MAX_NOTIFICATIONS) {
		const old = state.notifications.pop();
		if (old.id !== undefined) state.notificationIds.delete(`${old.kind}:${old.id}`);
	}
	renderFeed(item);
}

function renderFeed(fresh) {
	const ol = tid('notifications');
	ol.replaceChildren(
		...state.notifications.map((n) =>
			h(
				'li',
				{
					class: `feed-item prio-${n.priority}${n === fresh && !n.fromHistory ? ' fresh' : ''}`,
					dataset: { testid: 'notification', kind: n.kind }
				},
				h('div', { class: 'feed-title' }, h('span', { class: 'feed-type' }, n.type), n.title),
				n.message ? h('div', { class: 'feed-message' }, n.message) : null,
				h('time', { class: 'feed-time' }, clock(n.time))
			)
		)
	);
	tid('notification-count').textContent = String(state.notifications.length);
}

function onNotification(m, fromHistory) {
	const d = flat(m);
	addFeedItem({
		kind: 'notification',
		id: d.id ?? d.notification_id,
		title: d.title || 'Notification',
		message: d.message || '',
		type: d.notification_type || (m.data && m.data.type) || d.level || 'info',
		priority: String(d.priority || d.level || 'normal').toLowerCase(),
		time: d.created_at || d.timestamp,
		fromHistory
	});
}

function onAlert(m, fromHistory) {
	const d = flat(m);
	addFeedItem({
		kind: 'alert',
		id: d.id ?? d.alert_id,
		title: `${d.ticker ? `${d.ticker} ` : ''}${d.alert_type || 'alert'}`,
		message: d.message || '',
		type: 'alert',
		priority: 'high',
		time: d.timestamp,
		fromHistory
	});
}

function onBalance(m) {
	const d = flat(m);
	const v = num(d.balance ?? d.new_balance ?? d.available_balance ?? d.amount);
	if (!Number.isFinite(v)) return;
	const cur = d.currency ? ` ${d.currency}` : '';
	tid('balance').textContent = `${money(v)}${cur}`;
	const bits = [];
	if (Number.isFinite(num(d.change))) bits.push(`${signed(d.change)}${cur}`);
	bits.push(`updated ${clock(d.timestamp || d.updated_at)}`);
	tid('balance-note').textContent = bits.join(' · ');
}

function onCredit(m) {
	const d = flat(m);
	const score = num(d.credit_score ?? d.score);
	const risk = num(d.risk_score);
	if (Number.isFinite(score)) tid('credit').textContent = String(Math.round(score));
	else if (Number.isFinite(risk)) tid('credit').textContent = `risk ${fmt2.format(risk)}`;
	else return;
	const bits = [];
	if (d.risk_level || d.rating) bits.push(String(d.risk_level || d.rating));
	if (Number.isFinite(risk) && Number.isFinite(score)) bits.push(`risk ${fmt2.format(risk)}`);
	bits.push(`updated ${clock(d.timestamp)}`);
	tid('credit-note').textContent = bits.join(' · ');
}

function onTransaction(m) {
	const d = flat(m);
	const id = d.transaction_id ?? d.id;
	const idx = id !== undefined ? state.transactions.findIndex((t) => t.id === id) : -1;
	const t = {
		id,
		amount: num(d.amount),
		currency: d.currency || '',
		status: String(d.status || 'pending').toLowerCase(),
		label: d.description || d.counterparty || d.transaction_type || (id !== undefined ? String(id) : 'transaction'),
		time: d.timestamp || d.completed_at || d.created_at
	};
	if (idx >= 0) state.transactions.splice(idx, 1);
	state.transactions.unshift(t);
	state.transactions.length = Math.min(state.transactions.length, MAX_TRANSACTIONS);
	tid('transactions').replaceChildren(
		...state.transactions.map((x) =>
			h(
				'li',
				{ class: 'txn', dataset: { testid: 'transaction' } },
				h('span', { class: 'txn-label' }, x.label, h('time', { class: 'muted small' }, ` ${clock(x.time)}`)),
				h('span', { class: `txn-status st-${x.status}` }, x.status),
				h('span', { class: `txn-amount num ${signClass(x.amount)}` }, `${signed(x.amount)}${x.currency ? ` ${x.currency}` : ''}`)
			)
		)
	);
}

function onAnnouncement(m) {
	const d = flat(m);
	const text = d.message || d.title || d.text || (typeof d.payload === 'string' ? d.payload : '');
	if (!text) return;
	const box = tid('announcement');
	box.dataset.level = String(d.level || d.priority || d.severity || 'info').toLowerCase();
	tid('announcement-text').textContent = d.title && d.message ? `${d.title}: ${d.message}` : text;
	tid('announcement-time').textContent = clock(d.timestamp || d.created_at);
}

// ---- calculations -----------------------------------------------------------------------------------

function setCalcStatus(status, text) {
	const s = tid('calc-status');
	s.dataset.status = status;
	s.textContent = text;
	state.calc.status = status;
}

function setProgress(p) {
	const v = Math.max(0, Math.min(100, Math.round(num(p) || 0)));
	const bar = tid('calc-progress');
	bar.setAttribute('aria-valuenow', String(v));
	$('.progress-bar', bar).style.width = `${v}%`;
	tid('calc-progress-label').textContent = `${v}%`;
	state.calc.progress = v;
}

function onCalculation(m) {
	const d = flat(m);
	if (!state.calc.id || d.calculation_id !== state.calc.id) return;
	clearTimeout(state.calc.waitTimer);
	const status = String(d.status || 'processing').toLowerCase();
	if (d.progress !== undefined) setProgress(d.progress);
	tid('calc-message').textContent = d.message || '';
	if (status === 'completed') {
		setProgress(100);
		setCalcStatus('completed', 'Completed');
		const result = tid('calc-result');
		result.textContent = JSON.stringify(d.result ?? null, null, 2);
		result.hidden = false;
		tid('calc-run').disabled = false;
	} else if (status === 'failed' || status === 'error') {
		setCalcStatus('failed', 'Failed');
		showCalcError(d.error || d.message || 'the calculation failed');
		tid('calc-run').disabled = false;
	} else {
		setCalcStatus(status, status === 'started' ? 'Started' : 'Processing…');
	}
}

function showCalcError(text) {
	const e = tid('calc-error');
	e.textContent = text;
	e.hidden = false;
}

async function runCalculation(ev) {
	ev.preventDefault();
	const type = tid('calc-type').value;
	let params;
	try {
		params = JSON.parse(tid('calc-params').value || '{}');
		if (!params || typeof params !== 'object' || Array.isArray(params)) throw new Error('parameters must be a JSON object');
	} catch (err) {
		showCalcError(`Invalid parameters: ${err.message}`);
		return;
	}
	const id = `dash-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
	Object.assign(state.calc, { id, status: 'requested' });
	clearTimeout(state.calc.waitTimer);
	tid('calc-error').hidden = true;
	tid('calc-result').hidden = true;
	tid('calc-message').textContent = '';
	tid('calc-id').textContent = id;
	setProgress(0);
	setCalcStatus('requested', client.connected ? 'Sending…' : 'Queued until connected…');
	tid('calc-run').disabled = true;
	try {
		await client.calculate(type, params, id);
		if (state.calc.id !== id || state.calc.status !== 'requested') return;
		setCalcStatus('accepted', 'Accepted');
		state.calc.waitTimer = setTimeout(() => {
			if (state.calc.id === id && state.calc.status === 'accepted')
				tid('calc-message').textContent = 'Accepted; waiting for a calculation worker…';
		}, 5000);
	} catch (err) {
		if (state.calc.id !== id) return;
		setCalcStatus('failed', 'Refused');
		showCalcError(err.message);
		tid('calc-run').disabled = false;
	}
}

function fillExample() {
	const type = tid('calc-type').value;
	tid('calc-params').value = JSON.stringify(CALC_EXAMPLES[type] || {}, null, 2);
}

// ---- statistics ------------------------------------------------------------------------------------

function fillKv(dl, pairs) {
	dl.replaceChildren(
		...pairs.flatMap(([k, v, testid]) => [h('dt', {}, k), h('dd', { dataset: testid ? { testid } : undefined }, v)])
	);
}

function renderClientStats() {
	const s = client.getStats();
	fillKv(tid('stats-client'), [
		['State', s.state, 'stat-state'],
		['Reconnects', s.reconnects, 'stat-reconnects'],
		['Messages in / out', `${s.messagesReceived} / ${s.messagesSent}`, 'stat-messages'],
		['Gaps / recovered', `${s.gaps} / ${s.recovered}`, 'stat-gaps'],
		['Errors', s.errors, 'stat-errors'],
		['Last message', s.lastMessageTime ? clock(s.lastMessageTime) : '–'],
		['Subscriptions', s.subscriptions.length ? s.subscriptions.join(', ') : '–', 'stat-subscriptions']
	]);
	if (client.expiresAt) {
		const left = client.expiresAt - Date.now() / 1000;
		tid('token-expiry').textContent = left > 0 ? `expires in ${duration(left)}` : 'expired';
	}
}

async function pollServerStats() {
	const box = tid('stats-server-box');
	try {
		const res = await fetch('api/stats', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
		if (res.status !== 200) {
			box.hidden = true;
			return;
		}
		const s = await res.json();
		fillKv(tid('stats-server'), [
			['Active connections', s.active_connections ?? '–', 'server-active'],
			['Total connections', s.total_connections ?? '–'],
			['Messages sent / received', `${s.messages_sent ?? '–'} / ${s.messages_received ?? '–'}`],
			['Dropped / errors', `${s.dropped ?? '–'} / ${s.errors ?? '–'}`],
			['Broker', s.broker ? s.broker.state : '–', 'server-broker'],
			['Uptime', Number.isFinite(num(s.uptime)) ? duration(num(s.uptime)) : '–']
		]);
		box.hidden = false;
	} catch {
		box.hidden = true; // the adapter is down: the status light says so
	}
}

// ---- dispatch -----------------------------------------------------------------------------------------

const RENDERERS = {
	price_update: onPrice,
	market_update: onIndicators,
	market_status: onMarketStatus,
	notification: onNotification,
	alert_trigger: onAlert,
	transaction_update: onTransaction,
	balance_update: onBalance,
	credit_analysis: onCredit,
	risk_score_update: onCredit,
	system_announcement: onAnnouncement,
	calculation_update: onCalculation
};

function dispatch(m, fromHistory = false) {
	if (!m || typeof m !== 'object') return;
	const fn = RENDERERS[m.type];
	if (fn) {
		fn(m, fromHistory);
		return;
	}
	// topics whose payload was not an object with a known type
	if (m.topic === 'system/announcements') onAnnouncement(m.type === 'message' ? { payload: m.payload } : m);
	else if (m.topic === 'market/indicators') onIndicators(m);
	else if (m.topic === 'market/status') onMarketStatus(m);
}

// ---- start ------------------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
const token = takeToken(); // kept for this tab; no longer in the address bar

function showSignin(message) {
	tid('signin').hidden = false;
	const err = tid('signin-error');
	err.hidden = !message;
	err.textContent = message || '';
}

tid('signin-form').addEventListener('submit', (ev) => {
	ev.preventDefault();
	const tok = new FormData(ev.target).get('token').trim();
	if (!tok) return;
	storeToken(tok);
	location.reload(); // the page starts again with the tab's new token
});

tid('calc-type').addEventListener('change', fillExample);
tid('calc-form').addEventListener('submit', runCalculation);
fillExample();

const client = new RtgClient({
	url: new URL('ws', location.href).toString().replace(/^http/, 'ws'),
	token,
	heartbeatMs: Number(params.get('heartbeat')) || 30000
});
window.dashboard = { client, state };

let refusedToken = false; // a 4001 close: the client stops; say why
client.on('state', ({ state: s }) => {
	if (s === 'connecting') setStatus('connecting', 'Connecting…');
	else if (s === 'connected') setStatus('connected', 'Live');
	else if (s === 'closed') setStatus('closed', refusedToken ? 'Not signed in' : 'Disconnected');
	renderClientStats();
});
client.on('reconnecting', ({ attempt, delayMs }) => {
	setStatus('reconnecting', `Reconnecting (attempt ${attempt}, in ${(delayMs / 1000).toFixed(1)} s)`);
	logEvent(`reconnecting in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`, 'warn');
});
client.on('connection', (m) => {
	tid('user-id').textContent = m.user_id || '–';
	tid('connection-id').textContent = m.connection_id || '–';
	logEvent(`connected as ${m.user_id} (${m.connection_id})`, 'ok');
	pollServerStats();
	// the client resubscribes what it holds; a feed the gateway ended it no longer holds
	const held = client.getStats().subscriptions;
	for (const [ch, f] of feeds) if (f.stale.size && !held.includes(ch)) retryFeed(ch);
});
client.on('close', (ev) => {
	flushResync();
	if (ev.byClient) return;
	logEvent(`connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`, 'warn');
	if (ev.code === 4001) {
		refusedToken = true;
		forgetToken(); // the next load asks for another
		showSignin(`The gateway refused the token: ${ev.reason || 'invalid token'}.`);
	}
});
// The answers to one round of resubscriptions come together: one log line for them.
const resync = { gap: [], recovered: [], timer: null };
function flushResync() {
	clearTimeout(resync.timer);
	resync.timer = null;
	if (resync.gap.length)
		logEvent(`missed updates could not be replayed on ${resync.gap.join(', ')}: resynced from the current state`, 'warn');
	if (resync.recovered.length) logEvent(`recovered everything missed on ${resync.recovered.join(', ')}`, 'ok');
	resync.gap = [];
	resync.recovered = [];
}
function noteResync(kind, topic) {
	resync[kind].push(topic);
	clearTimeout(resync.timer);
	resync.timer = setTimeout(flushResync, 300);
}
client.on('gap', (m) => noteResync('gap', m.topic));
client.on('recovered', (m) => noteResync('recovered', m.topic));
client.on('subscription', onSubscription);
client.on('error', (m) => {
	if (m.source === 'client') logEvent(m.message, 'error');
	else if (onSubscribeError(m)) return;
	else logEvent(`server: ${m.message}`, 'error');
});
client.on('auth_expiring', (m) => {
	logEvent(`token expires in ${m.expires_in} s: reload with a new token`, 'warn');
	tid('token-expiry').textContent = `expires in ${m.expires_in} s`;
});
client.on('history', (m) => {
	for (const msg of m.messages || []) dispatch(msg, true);
});
// every message from a topic (they carry a seq), whatever its type
client.on('*', (m) => {
	if (typeof m.seq === 'number' && m.type !== 'history') dispatch(m);
});

for (const b of document.querySelectorAll('[data-retry]')) b.addEventListener('click', () => retryPanel(b.dataset.retry));

if (!token) {
	setStatus('closed', 'Not signed in');
	tid('dashboard').hidden = true; // nothing can flow: the sign-in form is the page
	showSignin('');
	renderClientStats();
} else {
	for (const ch of Object.keys(FEEDS)) client.subscribe(ch);
	client.connect();
	setInterval(renderClientStats, 1000);
	setInterval(pollServerStats, STATS_POLL_MS);
	renderClientStats();
}
