#!/usr/bin/env node
/**
 * seed002.mjs - seed 002 (hoardrun notifications): the seed's own frontend
 * code in Debian's headless Chromium and its own backend code
 * (tests/compat/seed002_backend.py) against `make run`'s stack.
 *
 * The page is the gateway's /ws/test (the seed's built-in test page path), so
 * the socket is same-origin with the adapter. Into it goes the seed's
 * "Frontend WebSocket Connection" snippet (SEED_SNIPPET, verbatim, checked
 * against the document when there is one) with three changes, each applied
 * by common.mjs's adapt() and named in CHANGES / FIX_OPEN: the token source,
 * the URL's host, and the one fix the snippet needs (its ws.send calls run
 * before the socket is open). The
 * page defines the functions the snippet's switch calls (showNotification,
 * updateTransactionStatus, updateBalance, updateMarketData), each recording
 * what it gets, and records the snippet's console.log('Received:', data): its
 * handler for every message. The backend side runs seed002_backend.py's phases
 * (the seed's Python snippets through clients/python/rtg_gateway.py) and curl
 * against /ws/broadcast/*, /api/publish and /ws/stats.
 *
 * Run by tests/compat/30-seed002-notifications.sh (lib.sh browser_test), which
 * passes RTG_HTTP, RTG_WS, RTG_T_DIR and: RTG_USER, RTG_USER_TOKEN (the page's
 * user), RTG_SVC_TOKEN (roles notifier and publisher: the seed backend's),
 * RTG_SEED_DOC (the seed document, or empty), RTG_PY (Debian's python3),
 * RTG_COMPAT (tests/compat). Prints one "ok - "/"not ok - " line per case
 * ("#   " lines: details) and exits 1 if any failed. The harness (Chromium,
 * reporting, the verbatim check, child processes) is common.mjs's.
 */
import { join } from 'node:path';
import { adapt, assert, checkVerbatim, close, done, env, launch, report, run, step, until } from './common.mjs';

const HTTP = env('RTG_HTTP');
const USER = env('RTG_USER');
const USER_TOKEN = env('RTG_USER_TOKEN');
const SVC_TOKEN = env('RTG_SVC_TOKEN');
const SEED_DOC = env('RTG_SEED_DOC', '');
const PY = env('RTG_PY', '/usr/bin/python3');
const COMPAT = env('RTG_COMPAT');
const P = 'seed 002 (hoardrun notifications)';
const j = (v) => JSON.stringify(v);

// ---- seed 002 "Frontend WebSocket Connection" (verbatim) ----
const SEED_SNIPPET = `const token = "your-jwt-token";
const ws = new WebSocket(\`ws://localhost:8000/ws/notifications?token=\${token}\`);

ws.onopen = function(event) {
    console.log('Connected to WebSocket');
};

ws.onmessage = function(event) {
    const data = JSON.parse(event.data);
    console.log('Received:', data);
    
    switch(data.type) {
        case 'notification':
            showNotification(data.data);
            break;
        case 'transaction_update':
            updateTransactionStatus(data.data);
            break;
        case 'balance_update':
            updateBalance(data.data);
            break;
        case 'market_update':
            updateMarketData(data.data);
            break;
    }
};

// Subscribe to specific notification types
ws.send(JSON.stringify({
    type: 'subscribe_notifications',
    types: ['transaction', 'balance', 'security']
}));

// Join market data room
ws.send(JSON.stringify({
    type: 'join_room',
    room: 'market_data'
}));`;
// ---- end of the seed's snippet ----

/** The functions the snippet's switch calls: the seed's handlers. */
const HANDLERS = ['showNotification', 'updateTransactionStatus', 'updateBalance', 'updateMarketData'];

// ---- child processes: curl and the seed's backend ----------------------------------------------------

/** curl: {status, body (parsed JSON, or the text), text}. */
async function curl(method, path, { token = null, body = null } = {}) {
	const args = ['-sS', '-X', method, '-o', '-', '-w', '\n%{http_code}'];
	if (token) args.push('-H', `Authorization: Bearer ${token}`);
	if (body !== null) args.push('-H', 'Content-Type: application/json', '--data-binary', typeof body === 'string' ? body : j(body));
	args.push(`${HTTP}${path}`);
	const r = await run('curl', args);
	assert(r.code === 0, `curl ${method} ${path}: exit ${r.code} ${r.err}`);
	const at = r.out.lastIndexOf('\n');
	const text = r.out.slice(0, at);
	let parsed = text;
	try {
		parsed = JSON.parse(text);
	} catch {
		/* not JSON: kept as text */
	}
	return { status: Number(r.out.slice(at + 1)), body: parsed, text };
}

/** POST path with the seed backend's token: must be published to topic. */
async function broadcast(path, body, topic) {
	const r = await curl('POST', path, { token: SVC_TOKEN, body });
	assert(r.status === 200 && r.body.status === 'published' && r.body.topic === topic, `POST ${path} ${j(body)}: HTTP ${r.status} ${r.text} (expected published to ${topic})`);
	return r.body;
}

/** A phase of seed002_backend.py: the gateway's answers, one per request. */
async function backend(...args) {
	const r = await run(PY, [join(COMPAT, 'seed002_backend.py'), ...args], { env: { RTG_URL: HTTP, RTG_TOKEN: SVC_TOKEN } });
	assert(r.code === 0, `seed002_backend.py ${args.join(' ')}: exit ${r.code}\n${r.err}${r.out}`);
	return r.out
		.split('\n')
		.filter(Boolean)
		.map((l) => JSON.parse(l));
}

// ---- the seed's snippet -------------------------------------------------------------------------------

/** The snippet's allowed changes: the token source and the URL's host. */
const CHANGES = [
	{ from: 'const token = "your-jwt-token";', to: 'const token = window.RTG_TOKEN; // changed: the token source', why: 'the token source' },
	{ from: '`ws://localhost:8000/ws/notifications', to: '`ws://${location.host}/ws/notifications', why: "the URL's host: the adapter's" }
];

/**
 * The one fix: the seed calls ws.send right after new WebSocket(...), while
 * the socket is still CONNECTING, which throws InvalidStateError and ends the
 * script; the sends are wrapped so they run on 'open' instead (the two sends
 * themselves unchanged).
 */
const FIX_OPEN = [
	{
		from: '// Subscribe to specific notification types',
		to: "// changed, the one fix: the seed sends while the socket is CONNECTING (InvalidStateError); send on 'open'\nws.addEventListener('open', () => {\n// Subscribe to specific notification types",
		why: 'the sends run on open'
	},
	{ from: "    room: 'market_data'\n}));", to: "    room: 'market_data'\n}));\n});", why: 'the end of the open handler' }
];

/** The snippet as the page runs it: with the one fix (fixOpen) or without. */
const pageCode = ({ fixOpen }) => adapt(SEED_SNIPPET, fixOpen ? [...CHANGES, ...FIX_OPEN] : CHANGES);

/** Before the snippet: the seed page's handlers, recording their arguments, and the token. */
async function preparePage(page, token) {
	await page.evaluate(
		({ handlers, token }) => {
			window.RTG_TOKEN = token;
			window.calls = {};
			for (const name of handlers) {
				window.calls[name] = [];
				window[name] = (data) => window.calls[name].push(data);
			}
			// the snippet's catch-all handler is console.log('Received:', data)
			window.received = [];
			window.logs = [];
			const log = console.log.bind(console);
			console.log = (...args) => {
				if (args[0] === 'Received:') window.received.push(args[1]);
				else window.logs.push(args.map(String).join(' '));
				log(...args);
			};
		},
		{ handlers: HANDLERS, token }
	);
}

// ---- the test --------------------------------------------------------------------------------------------

let context;
const pageErrors = [];

try {
	context = await launch();
	const page = context.pages()[0] || (await context.newPage());
	page.on('pageerror', (err) => pageErrors.push(err.message));
	const calls = (name) => page.evaluate((n) => window.calls[n], name);
	const received = () => page.evaluate(() => window.received);
	/** every handler call whose data has member key equal to value: [{handler, data}] */
	const handled = (key, value) =>
		page.evaluate(
			({ key, value }) => {
				const out = [];
				for (const [handler, list] of Object.entries(window.calls)) for (const data of list) if (data && data[key] === value) out.push({ handler, data });
				return out;
			},
			{ key, value }
		);
	const send = (msg) => page.evaluate((m) => ws.send(JSON.stringify(m)), msg); // the snippet's own socket
	const confirmed = (action, topic) => page.evaluate(({ action, topic }) => window.received.filter((m) => m.type === 'subscription' && m.action === action && m.topic === topic).length, { action, topic });

	await step(`${P}: the frontend snippet in seed002.mjs is the document's "Frontend WebSocket Connection", verbatim`, () =>
		checkVerbatim(SEED_DOC, '### Frontend WebSocket Connection:', 'javascript', SEED_SNIPPET)
	);

	await step(
		`${P}: GET /ws/test serves the built-in test page (an interactive console, same origin as the sockets)`,
		async () => {
			const res = await page.goto(`${HTTP}/ws/test`);
			assert(res && res.status() === 200, `GET /ws/test: HTTP ${res && res.status()}`);
			assert(/text\/html/.test(res.headers()['content-type'] || ''), `content-type ${res.headers()['content-type']}`);
			assert(await page.locator('[data-testid="console-connect"]').count(), 'the page has no connect control');
		},
		{ critical: true }
	);

	// A second tab runs the snippet without a token; the adapter waits auth_timeout
	// for an {"type":"auth"} message, so its close is checked further down.
	const anon = await context.newPage();
	anon.on('pageerror', (err) => pageErrors.push(`(no-token tab) ${err.message}`));
	await anon.goto(`${HTTP}/ws/test`);
	await preparePage(anon, '');
	await anon.addScriptTag({ content: pageCode({ fixOpen: true }) });
	await anon.evaluate(() => ws.addEventListener('close', (e) => (window.seedClosed = { code: e.code, reason: e.reason, at: Date.now() })));

	await step(`${P}: as written, the snippet's first ws.send runs while the socket is CONNECTING and throws InvalidStateError (the one fix adapt() makes)`, async () => {
		const r = await page.evaluate(({ code, handlers }) => {
			const made = [];
			const Native = window.WebSocket;
			window.WebSocket = class extends Native {
				constructor(...args) {
					super(...args);
					made.push(this);
				}
			};
			const noop = () => {};
			const saved = {};
			for (const name of handlers) {
				saved[name] = window[name];
				window[name] = noop;
			}
			try {
				new Function(code)();
				return { threw: null, sockets: made.length };
			} catch (e) {
				return { threw: e.name, message: e.message, sockets: made.length };
			} finally {
				window.WebSocket = Native;
				Object.assign(window, saved);
				for (const s of made) s.close();
			}
		}, { code: pageCode({ fixOpen: false }), handlers: HANDLERS });
		assert(r.threw === 'InvalidStateError' && r.sockets === 1, `the unfixed snippet: ${j(r)}`);
	});

	await step(
		`${P}: the page connects with ?token=: onopen logs "Connected to WebSocket", onmessage gets connection_established for the user, and the subscribe_notifications and join_room market_data sent on open are confirmed`,
		async () => {
			await preparePage(page, USER_TOKEN);
			await page.addScriptTag({ content: pageCode({ fixOpen: true }) });
			await until(
				async () => (await confirmed('subscribed', `user/${USER}/notifications`)) >= 2 && (await confirmed('subscribed', 'market/+')) >= 1,
				15000,
				async () => `received: ${j((await received()).map((m) => [m.type, m.action, m.topic, m.message]))}`
			);
			const r = await received();
			assert(r[0].type === 'connection_established' && r[0].user_id === USER && r[0].status === 'connected', `first message ${j(r[0])}`);
			assert((await page.evaluate(() => window.logs)).includes('Connected to WebSocket'), 'onopen did not log');
			const room = r.find((m) => m.type === 'subscription' && m.topic === 'market/+');
			assert(room.room === 'market_data', `the market_data room's confirmation: ${j(room)}`);
			for (const t of [`user/${USER}/transactions`, `user/${USER}/balance`, 'system/announcements'])
				assert(r.some((m) => m.type === 'subscription' && m.action === 'subscribed' && m.topic === t), `the endpoint did not subscribe ${t}`);
			const errors = r.filter((m) => m.type === 'error');
			assert(!errors.length, `errors: ${j(errors)}`);
		},
		{ critical: true }
	);

	await step(`${P}: the Notifications Service snippet's broadcast_notification reaches showNotification(data.data) with the notification: id, title, message, priority, metadata, created_at and its type as notification_type`, async () => {
		const answers = await backend('notify', USER);
		// the email-only notification is not broadcast (the snippet's `if`)
		assert(answers.length === 3 && answers.every((a) => a.answer.status === 'published' && a.answer.topic === `user/${USER}/notifications`), `the gateway's answers: ${j(answers)}`);
		await until(async () => (await handled('id', 'ntf-security')).length, 15000, async () => `showNotification got ${j(await calls('showNotification'))}`);
		const [got] = await handled('id', 'ntf-transaction');
		assert(got && got.handler === 'showNotification', `ntf-transaction: ${j(got)}`);
		const sent = answers[0].body;
		const d = got.data;
		for (const k of ['id', 'title', 'message', 'priority', 'created_at']) assert(d[k] === sent[k], `${k}: ${j(d[k])}, sent ${j(sent[k])}`);
		assert(j(d.metadata) === j(sent.metadata), `metadata ${j(d.metadata)}, sent ${j(sent.metadata)}`);
		assert(d.notification_type === 'transaction' && d.priority === 'high', j(d));
		assert(d.type === undefined || d.type === 'notification', `data.type is ${j(d.type)}`);
	});

	await step(`${P}: subscribe_notifications(['transaction','balance','security']) filters showNotification: the 'savings' notification never arrives (the 'security' one sent after it does)`, async () => {
		const all = (await calls('showNotification')).map((d) => d.id);
		assert(all.includes('ntf-security') && all.includes('ntf-transaction'), `showNotification got ${j(all)}`);
		assert(!all.includes('ntf-savings'), `the 'savings' notification reached showNotification: ${j(all)}`);
		assert(!all.includes('ntf-email-only'), `the email-only notification reached showNotification: ${j(all)}`);
		const r = await received();
		assert(!r.some((m) => m.data && m.data.id === 'ntf-savings'), 'the savings notification reached onmessage');
		const sec = await handled('id', 'ntf-security');
		assert(sec.length === 1 && sec[0].data.notification_type === 'security', j(sec));
	});

	await step(`${P}: the Broadcasting Functions snippet: showNotification, updateTransactionStatus, updateBalance and updateMarketData (room market_data) get their data, and system_announcement reaches onmessage without any subscription of the page's`, async () => {
		const answers = await backend('functions', USER);
		assert(answers.length === 5 && answers.every((a) => a.answer.status === 'published'), `the gateway's answers: ${j(answers)}`);
		const want = [
			['showNotification', 'id', 'ntf-functions'],
			['updateTransactionStatus', 'transaction_id', 'txn-functions'],
			['updateBalance', 'account_id', 'acc-functions'],
			['updateMarketData', 'source', 'seed002-functions']
		];
		for (const [handler, key, value] of want) {
			const got = await until(async () => (await handled(key, value)).find((h) => h.handler === handler), 15000, async () => `${handler} got ${j(await calls(handler))}`);
			const sent = answers.find((a) => a.body[key] === value).body;
			for (const [k, v] of Object.entries(sent)) if (k !== 'type') assert(j(got.data[k]) === j(v), `${handler}: ${k} ${j(got.data[k])}, sent ${j(v)}`);
			assert((await handled(key, value)).length === 1, `${value} reached ${j(await handled(key, value))}`);
		}
		const n = (await handled('id', 'ntf-functions'))[0].data;
		assert(n.notification_type === 'balance', `notification_type ${j(n.notification_type)}`);
		const ann = await until(async () => (await received()).find((m) => m.type === 'system_announcement' && m.data && m.data.title === 'Scheduled maintenance'), 15000, 'no system_announcement reached onmessage');
		assert(ann.data.message === 'Sunday 02:00-03:00 UTC' && ann.data.severity === 'info', j(ann));
	});

	await step(`${P}: the Backend Service snippet's process_transaction reaches updateTransactionStatus with transaction_id, status, amount and timestamp`, async () => {
		const answers = await backend('service', USER);
		assert(answers.length === 1 && answers[0].answer.topic === `user/${USER}/transactions`, `the gateway's answers: ${j(answers)}`);
		const got = await until(async () => (await handled('transaction_id', 'txn-seed002-service'))[0], 15000, async () => `updateTransactionStatus got ${j(await calls('updateTransactionStatus'))}`);
		assert(got.handler === 'updateTransactionStatus', j(got));
		const d = got.data;
		assert(d.status === 'completed' && d.amount === 42.5 && d.timestamp === '2025-01-15T10:30:05+00:00', j(d));
	});

	await step(`${P}: POST /ws/broadcast/{notification,transaction,balance,market,announcement} (curl): each reaches its own handler, and a body's own "type" never changes the message type`, async () => {
		// each body names another message type than its endpoint's
		const cases = [
			['/ws/broadcast/notification', { user_id: USER, id: 'ntf-curl', title: 'Card frozen', message: 'Your card ending 4242 was frozen', type: 'security', priority: 'high' }, `user/${USER}/notifications`, 'notification', 'showNotification', 'id', 'ntf-curl'],
			['/ws/broadcast/transaction', { user_id: USER, transaction_id: 'txn-curl', status: 'failed', amount: 12.0, type: 'balance_update' }, `user/${USER}/transactions`, 'transaction_update', 'updateTransactionStatus', 'transaction_id', 'txn-curl'],
			['/ws/broadcast/balance', { user_id: USER, account_id: 'acc-curl', balance: 99.5, currency: 'GHS', type: 'notification' }, `user/${USER}/balance`, 'balance_update', 'updateBalance', 'account_id', 'acc-curl'],
			['/ws/broadcast/market', { symbol: 'ETH-USD', price: 3500.25, source: 'seed002-curl', type: 'transaction_update' }, 'market/updates', 'market_update', 'updateMarketData', 'source', 'seed002-curl'],
			['/ws/broadcast/announcement', { title: 'Curl announcement', message: 'Statements are late today', type: 'market_update' }, 'system/announcements', 'system_announcement', null, 'title', 'Curl announcement']
		];
		for (const [path, body, topic] of cases) await broadcast(path, body, topic);
		for (const [path, body, , type, handler, key, value] of cases) {
			const msg = await until(async () => (await received()).find((m) => m.data && m.data[key] === value), 15000, `${path}: nothing reached onmessage`);
			assert(msg.type === type, `${path}: message type ${j(msg.type)}, expected ${type} (the body said ${j(body.type)}): ${j(msg)}`);
			const h = await handled(key, value);
			if (handler) assert(h.length === 1 && h[0].handler === handler, `${path}: handlers ${j(h.map((x) => x.handler))}, expected ${handler}`);
			else assert(!h.length, `${path}: reached ${j(h.map((x) => x.handler))}`);
		}
		const n = (await handled('id', 'ntf-curl'))[0].data;
		assert(n.notification_type === 'security' && (n.type === undefined || n.type === 'notification'), `the notification's data: ${j(n)}`);
		// nor does it stay in the data the handler gets (there it is the message type, or absent)
		for (const [, body, , type, , key, value] of cases) {
			const msg = (await received()).find((m) => m.data && m.data[key] === value);
			assert(msg.data.type === undefined || msg.data.type === type, `${value}: data.type ${j(msg.data.type)} (the body said ${j(body.type)})`);
		}
	});

	const ROOM_A = 'vip-lounge';
	const ROOM_B = 'Trading Floor 2';
	await step(`${P}: join_room of any room name is confirmed and the room's messages arrive: the seed's broadcast_market_update(data, room) reaches updateMarketData, a room message reaches onmessage`, async () => {
		await send({ type: 'join_room', room: ROOM_A });
		await send({ type: 'join_room', room: ROOM_B });
		await until(async () => (await confirmed('subscribed', `rooms/${ROOM_A}`)) === 1 && (await confirmed('subscribed', `rooms/${ROOM_B}`)) === 1, 15000, async () => `received: ${j((await received()).filter((m) => m.type !== 'price_update' && m.type !== 'history'))}`);
		const answers = await backend('room', ROOM_A);
		assert(answers.length === 1 && answers[0].answer.topic === `rooms/${ROOM_A}`, j(answers));
		await broadcastRoomMessage(ROOM_B, 'room message 1');
		const got = await until(async () => (await handled('source', 'seed002-room'))[0], 15000, async () => `updateMarketData got ${j(await calls('updateMarketData'))}`);
		assert(got.handler === 'updateMarketData' && got.data.symbol === 'EUR-GHS' && got.data.rate === 13.42, j(got));
		const m = await until(async () => (await received()).find((x) => x.data && x.data.text === 'room message 1'), 15000, 'the room message did not reach onmessage');
		assert(m.type === 'room_message' && m.topic === `rooms/${ROOM_B}`, j(m));
	});

	await step(`${P}: GET /ws/stats (curl): the page's connection and the rooms it is in`, async () => {
		const closed = await until(() => anon.evaluate(() => window.seedClosed), 20000, 'the no-token socket is still open');
		assert(closed, 'no close');
		const r = await curl('GET', '/ws/stats');
		assert(r.status === 200 && typeof r.body === 'object', `HTTP ${r.status} ${r.text}`);
		const s = r.body;
		assert(s.active_connections === 1 && s.websocket_connections === 1, `connections: ${j({ active: s.active_connections, ws: s.websocket_connections })}`);
		assert(s.total_connections >= 2, `total_connections ${s.total_connections}`);
		assert(s.subscriptions[`rooms/${ROOM_A}`] === 1 && s.subscriptions[`rooms/${ROOM_B}`] === 1, `subscriptions ${j(s.subscriptions)}`);
		assert(s.subscriptions['market/+'] === 1 && s.subscriptions[`user/${USER}/transactions`] === 1, `subscriptions ${j(s.subscriptions)}`);
		assert(Number.isInteger(s.messages_sent) && s.messages_sent > 0 && Number.isInteger(s.uptime), j(s));
	});

	await step(`${P}: leave_room is confirmed and the room's messages stop (a message to the room, then one to another room: only the second arrives)`, async () => {
		await send({ type: 'leave_room', room: ROOM_A });
		await until(async () => (await confirmed('unsubscribed', `rooms/${ROOM_A}`)) === 1, 15000, async () => `received: ${j((await received()).filter((m) => m.type === 'subscription' || m.type === 'error'))}`);
		await backend('room', ROOM_A);
		await broadcastRoomMessage(ROOM_B, 'room message 2');
		await until(async () => (await received()).some((x) => x.data && x.data.text === 'room message 2'), 15000, 'the second room message did not arrive');
		const got = await handled('source', 'seed002-room');
		assert(got.length === 1, `updateMarketData got the room's data ${got.length} times`);
		assert((await confirmed('unsubscribed', `rooms/${ROOM_B}`)) === 0, 'the other room was left too');
	});

	await step(`${P}: without a token the seed's socket is closed with 4001 and never greeted`, async () => {
		const closed = await until(() => anon.evaluate(() => window.seedClosed), 20000, 'the no-token socket is still open');
		assert(closed.code === 4001, `closed ${j(closed)}`);
		const r = await anon.evaluate(() => window.received);
		assert(!r.some((m) => m.type === 'connection_established'), `greeted: ${j(r)}`);
		const h = await anon.evaluate(() => window.calls);
		assert(Object.values(h).every((l) => !l.length), `handlers were called: ${j(h)}`);
	});

	await step(`${P}: the pages had no uncaught errors`, async () => {
		assert(!pageErrors.length, pageErrors.join(' | '));
	});
} catch (err) {
	report(false, `${P}: the browser test ran to its end`, err && err.stack ? err.stack : String(err));
} finally {
	await close(context);
}

/** A room message from the backend (POST /api/publish, the notifier's token: the ACL's rooms/+). */
async function broadcastRoomMessage(room, text) {
	const r = await curl('POST', '/api/publish', { token: SVC_TOKEN, body: { topic: `rooms/${room}`, payload: { text, from: 'support' } } });
	assert(r.status === 200 && r.body.status === 'published', `POST /api/publish rooms/${room}: HTTP ${r.status} ${r.text}`);
}

process.exit(done());
