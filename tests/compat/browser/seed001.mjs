#!/usr/bin/env node
/**
 * seed001.mjs - seed 001's own browser code (AI Adoption Dashboard, "Real-Time
 * Data Integration Features") in Debian's headless Chromium against make run's stack.
 *
 * The seed's "JavaScript Client Example" runs verbatim (between the marked
 * lines below; compared with the document when RTG_SEED_DOC names it) on a page
 * of the adapter's origin, with the adapter's address for ws://localhost:8000:
 *   - as the seed has it, without a token: an anonymous client of /ws that
 *     subscribes market_data; what its console.log('Update:', data) gets is
 *     asserted: market_update in the document's shape ("Market Update": the
 *     five indicators under data) and price updates; the document's ping gets
 *     a pong, and its calculate request is refused (anonymous clients never
 *     calculate);
 *   - with ?token= (the gateway's way to say who the user is): the document's
 *     "Request Calculation" message, sent as the document writes it on the
 *     seed's socket, gets calculation_update messages in the document's shape
 *     ("Calculation Progress") up to "completed" with the NPV; the document's
 *     four channels are accepted.
 * The document's JSON messages are kept verbatim too (DOC_JSON) and checked.
 *
 * The document's "Notification" is broadcast to that user the way services
 * notify users through the gateway (clients/python/rtg_gateway.py,
 * Gateway.broadcast_notification, a notifier token) and must arrive as the
 * document shows it.
 *
 * Environment (20-seed001-ai-dashboard.sh): RTG_HTTP, RTG_WS, RTG_T_DIR
 * (browser_test), RTG_SEED_DOC (may be empty), RTG_USER + RTG_USER_TOKEN (a
 * user), RTG_NOTIFIER_TOKEN (role notifier), RTG_PY, RTG_PYTHONPATH (clients/python).
 */
import { adapt, adapterPage, assert, checkVerbatim, close, done, env, launch, report, run, step, until } from './common.mjs';

const HTTP = env('RTG_HTTP');
const WS = env('RTG_WS');
const SEED_DOC = env('RTG_SEED_DOC', '');
const USER = env('RTG_USER');
const USER_TOKEN = env('RTG_USER_TOKEN');
const NOTIFIER_TOKEN = env('RTG_NOTIFIER_TOKEN');
const PY = env('RTG_PY', '/usr/bin/python3');
const PYTHONPATH = env('RTG_PYTHONPATH');
const P = 'seed 001 (AI adoption dashboard)';
const j = (v) => JSON.stringify(v);

// ---- seed 001, "#### JavaScript Client Example", verbatim ----------------------------------------
const JS_SNIPPET = `const ws = new WebSocket('ws://localhost:8000/ws');

ws.onopen = () => {
    // Subscribe to channels
    ws.send(JSON.stringify({ 
        type: 'subscribe', 
        channel: 'market_data' 
    }));
};

ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    console.log('Update:', data);
};`;
// ---- end of the seed's snippet ------------------------------------------------------------------

// ---- seed 001, "## Message Types", the JSON blocks verbatim (heading -> text) ---------------------
const DOC_JSON = {
	'#### Subscribe': `{
    "type": "subscribe",
    "channel": "market_data"
}`,
	'#### Request Calculation': `{
    "type": "calculate",
    "calculation_id": "unique_id",
    "calculation_type": "npv",
    "parameters": {
        "cash_flows": [100000, 120000, 140000],
        "discount_rate": 0.10,
        "initial_investment": 300000
    }
}`,
	'#### Ping': `{
    "type": "ping"
}`,
	'#### Market Update': `{
    "type": "market_update",
    "timestamp": "2024-01-15T10:30:00Z",
    "data": {
        "discount_rate": 0.095,
        "inflation_rate": 0.024,
        "market_growth": 0.082,
        "tech_index": 102.5,
        "ai_adoption_rate": 0.352
    }
}`,
	'#### Calculation Progress': `{
    "type": "calculation_update",
    "calculation_id": "calc_123",
    "status": "processing",
    "progress": 75,
    "message": "Processing npv... 75%"
}`,
	'#### Notification': `{
    "type": "notification",
    "notification_type": "info",
    "level": "info",
    "message": "System update completed",
    "timestamp": "2024-01-15T10:30:00Z"
}`
};
// ---- end of the seed's messages -----------------------------------------------------------------

const SEED_URL = "'ws://localhost:8000/ws'";
const changes = (withToken) => [
	{
		from: SEED_URL,
		to: withToken ? `'${WS}/ws?token=' + RTG_TOKEN` : `'${WS}/ws'`,
		why: withToken ? "the adapter, and the user's token from the page (RTG_TOKEN): calculations are a user's" : 'the adapter'
	}
];

/**
 * Where got differs from the document's example want: a key of want missing
 * in got, or of another JSON type (got may have more keys). [] if none.
 */
function shapeDiff(want, got, path = '') {
	const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
	if (kind(want) !== kind(got)) return [`${path || 'the message'} is ${kind(got)}, the document has ${kind(want)}`];
	if (kind(want) !== 'object') return [];
	return Object.keys(want).flatMap((k) => (k in got ? shapeDiff(want[k], got[k], path ? `${path}.${k}` : k) : [`no ${path ? `${path}.${k}` : k}`]));
}

async function seedPage(context, token) {
	const page = await adapterPage(context, HTTP);
	await page.addScriptTag({ content: `var RTG_TOKEN = ${j(token)};` });
	await page.addScriptTag({ content: adapt(JS_SNIPPET, changes(token !== null)) });
	return page;
}

/** What the seed's console.log('Update:', data) got, in order. */
async function updates(page) {
	const out = [];
	for (const l of page.rtg.logs) if (l.text.startsWith('Update:')) out.push((await l.args)[1]);
	return out;
}
const ofType = async (page, type) => (await updates(page)).filter((m) => m && m.type === type);
const brief = async (page) => j((await updates(page)).map((m) => (m && m.type ? [m.type, m.topic || m.message || m.user_id || ''] : m)).slice(-30));
/** Runs a Python program (PYTHONPATH: clients/python): {code, out, err}. */
const python = (program, args) => run(PY, ['-c', program, ...args], { env: { PYTHONPATH } });

/** Sends text on the seed's own socket (its global `ws`). */
const send = (page, text) => page.evaluate((t) => ws.send(t), text);

let context;
try {
	await step(`${P}: the JavaScript client in this test is the seed's, verbatim`, () =>
		checkVerbatim(SEED_DOC, '#### JavaScript Client Example', 'javascript', JS_SNIPPET)
	);
	await step(`${P}: the document's messages in this test (Subscribe, Request Calculation, Ping, Market Update, Calculation Progress, Notification) are the seed's, verbatim`, () => {
		for (const [heading, json] of Object.entries(DOC_JSON)) checkVerbatim(SEED_DOC, heading, 'json', json);
	});
	for (const c of changes(true)) console.log(`change in the JavaScript client: ${j(c.from)} -> ${j(c.to.replace(/127\.0\.0\.1:\d+/, 'ADAPTER'))}: ${c.why}`);

	context = await launch();
	const anon = await seedPage(context, null);
	const user = await seedPage(context, USER_TOKEN);

	// (b) the seed's JavaScript client as it is: no token
	let marketUpdate;
	await step(
		`${P}: the JavaScript client on /ws without a token (anonymous) subscribes market_data; its console.log('Update:') gets market_update with the five indicators and price_update with numeric prices`,
		async () => {
			const g = await until(async () => (await ofType(anon, 'connection'))[0], 15000, async () => `no greeting: ${await brief(anon)}; page errors ${j(anon.rtg.errors)}`);
			assert(g.anonymous === true && g.user_id === null, `greeting ${j(g)}`);
			await until(
				async () => (await ofType(anon, 'subscription')).some((m) => m.action === 'subscribed' && m.topic === 'market/+' && m.channel === 'market_data'),
				10000,
				async () => `no confirmation of market_data: ${await brief(anon)}`
			);
			// live messages, not the history the subscription starts with
			marketUpdate = await until(async () => (await ofType(anon, 'market_update'))[0], 40000, async () => `no market_update: ${await brief(anon)}`);
			const d = marketUpdate.data || {};
			const fields = ['discount_rate', 'inflation_rate', 'market_growth', 'tech_index', 'ai_adoption_rate'];
			assert(fields.every((f) => typeof d[f] === 'number'), `market_update ${j(marketUpdate)}`);
			const prices = await until(
				async () => {
					const p = await ofType(anon, 'price_update');
					return new Set(p.map((m) => m.ticker)).size >= 3 && p;
				},
				30000,
				async () => `price_update for fewer than 3 tickers: ${await brief(anon)}`
			);
			const bad = prices.filter((m) => typeof m.price !== 'number' || m.topic !== `market/${m.ticker}`);
			assert(!bad.length, `price updates ${j(bad.slice(0, 3))}`);
			assert(!anon.rtg.errors.length, `page errors: ${j(anon.rtg.errors)}`);
		}
	);

	// (d) the document's shape of market_update
	await step(
		`${P}: market_update has the document's shape ("Market Update"): type, timestamp, and discount_rate, inflation_rate, market_growth, tech_index, ai_adoption_rate under data`,
		async () => {
			assert(marketUpdate, 'not run: no market_update arrived (the case above)');
			const diff = shapeDiff(JSON.parse(DOC_JSON['#### Market Update']), marketUpdate);
			assert(!diff.length, `${diff.join('; ')}: ${j(marketUpdate)}`);
			assert(marketUpdate.topic === 'market/indicators', `topic ${marketUpdate.topic}`);
		}
	);

	await step(`${P}: the document's ping, sent by the JavaScript client without a token, gets a pong`, async () => {
		await send(anon, DOC_JSON['#### Ping']);
		const pong = await until(async () => (await ofType(anon, 'pong'))[0], 10000, async () => `no pong: ${await brief(anon)}`);
		assert(typeof pong.timestamp === 'string', `pong ${j(pong)}`);
	});

	await step(`${P}: the document's calculate request from the JavaScript client without a token is refused with an error (anonymous clients never calculate)`, async () => {
		await send(anon, DOC_JSON['#### Request Calculation']);
		const err = await until(
			async () => (await ofType(anon, 'error')).find((m) => /calculat/i.test(m.message) && /sign|token|anonymous/i.test(m.message)),
			10000,
			async () => `no error: ${await brief(anon)}`
		);
		assert(err.error === err.message, `error ${j(err)}`);
		// after the refusal, a ping's pong: nothing of a calculation came before it
		await send(anon, DOC_JSON['#### Ping']);
		await until(async () => (await ofType(anon, 'pong')).length === 2, 10000, async () => `no second pong: ${await brief(anon)}`);
		const calc = (await updates(anon)).filter((m) => m && /^calculation_/.test(m.type));
		assert(!calc.length, `calculation messages: ${j(calc)}`);
	});

	// (c) the document's calculate request with a token
	await step(
		`${P}: the document's calculate request (npv, "unique_id") sent by the JavaScript client with ?token=: calculation_accepted, then calculation_update in the document's shape up to "completed", progress 100, with the NPV`,
		async () => {
			const g = await until(async () => (await ofType(user, 'connection'))[0], 15000, async () => `no greeting: ${await brief(user)}; page errors ${j(user.rtg.errors)}`);
			assert(typeof g.user_id === 'string' && g.user_id && !g.anonymous, `greeting ${j(g)}`);
			await send(user, DOC_JSON['#### Request Calculation']);
			const accepted = await until(async () => (await ofType(user, 'calculation_accepted'))[0], 10000, async () => `no calculation_accepted: ${await brief(user)}`);
			assert(accepted.calculation_id === 'unique_id', `accepted ${j(accepted)}`);
			const last = await until(
				async () => (await ofType(user, 'calculation_update')).find((m) => m.status === 'completed' || m.status === 'failed'),
				30000,
				async () => `no completed calculation_update: ${await brief(user)}`
			);
			const all = await ofType(user, 'calculation_update');
			assert(all.every((m) => m.calculation_id === 'unique_id'), `calculation ids ${j(all.map((m) => m.calculation_id))}`);
			const want = JSON.parse(DOC_JSON['#### Calculation Progress']);
			for (const m of all) {
				const diff = shapeDiff(want, m);
				assert(!diff.length, `${diff.join('; ')}: ${j(m)}`);
			}
			const progress = all.map((m) => m.progress);
			assert(progress.every((p, i) => p >= 0 && p <= 100 && (i === 0 || p >= progress[i - 1])), `progress ${j(progress)}`);
			assert(all.some((m) => m.status === 'processing'), `statuses ${j(all.map((m) => m.status))}`);
			assert(last.status === 'completed' && last.progress === 100 && last.result, `the last update ${j(last)}`);
			const npv = [100000, 120000, 140000].reduce((s, cf, t) => s + cf / 1.1 ** (t + 1), 0) - 300000;
			assert(Math.abs(last.result.npv - npv) < 1e-6, `result ${j(last.result)}, npv ${npv}`);
			assert(!user.rtg.errors.length, `page errors: ${j(user.rtg.errors)}`);
		}
	);

	await step(`${P}: the document's four channels (market_data, calculations, notifications, system) are confirmed for the JavaScript client with ?token=`, async () => {
		const sub = JSON.parse(DOC_JSON['#### Subscribe']);
		for (const channel of ['calculations', 'notifications', 'system']) await send(user, j({ ...sub, channel }));
		const want = ['market_data', 'calculations', 'notifications', 'system'];
		await until(
			async () => {
				const got = new Set((await ofType(user, 'subscription')).filter((m) => m.action === 'subscribed').map((m) => m.channel));
				return want.every((c) => got.has(c));
			},
			10000,
			async () => `confirmations ${j((await ofType(user, 'subscription')).map((m) => [m.channel, m.topic]))}; errors ${j((await ofType(user, 'error')).map((m) => m.message))}`
		);
		const errors = await ofType(user, 'error');
		assert(!errors.length, `errors ${j(errors)}`);
	});

	await step(
		`${P}: the document's Notification, broadcast to the user with rtg_gateway's broadcast_notification, reaches the JavaScript client with ?token= as the document shows it (notification_type "info", level, message, timestamp)`,
		async () => {
			const note = JSON.parse(DOC_JSON['#### Notification']);
			const r = await python(
				`import json, sys\nfrom rtg_gateway import Gateway\nprint(json.dumps(Gateway(sys.argv[1], sys.argv[2]).broadcast_notification(json.loads(sys.argv[3]), sys.argv[4])))`,
				[HTTP, NOTIFIER_TOKEN, DOC_JSON['#### Notification'], USER]
			);
			assert(r.code === 0, `broadcast_notification: exit ${r.code}: ${r.err.trim()}`);
			const got = await until(
				async () => (await ofType(user, 'notification')).find((m) => m.message === note.message),
				15000,
				async () => `no notification: ${await brief(user)}`
			);
			const diff = shapeDiff(note, got);
			assert(!diff.length, `${diff.join('; ')}: ${j(got)}`);
			const changed = Object.keys(note).filter((k) => j(got[k]) !== j(note[k]));
			assert(!changed.length, `sent ${j(note)}; received ${j(got)}: ${changed.map((k) => `${k} ${j(note[k])} became ${j(got[k])}`).join(', ')}`);
			assert(got.topic === `user/${USER}/notifications`, `topic ${got.topic}`);
		}
	);
} catch (err) {
	report(false, `${P}: the browser test runs to its end`, err && err.stack ? err.stack : String(err));
} finally {
	await close(context);
}
process.exit(done());
