#!/usr/bin/env node
/**
 * seed004.mjs - seed 004 (ShareWise AI: trading and AI studio over Django Channels) runs its
 * own browser code against the gateway, in Debian's headless Chromium (playwright-core).
 *
 * The seed document (../shared/seeds/004_*.txt) has two client snippets, copied below
 * verbatim between marked lines and compared with the document when RTG_SEED_DOC names it:
 *
 *   - "JavaScript WebSocket Client": a socket on /ws/trading/signals/ whose onmessage hands
 *     new_signal / signal_update / error to handleNewSignal(data.signal),
 *     handleSignalUpdate(data.signal) and handleError(data.error) (functions the seed's app
 *     defines: here they record what they get), then a subscribe_symbol NIFTY.
 *   - "React WebSocket Hook": useWebSocket(url, token), an ES module importing 'react'; run
 *     with React 18's UMD build, the module compiled to CommonJS by @babel/standalone as a
 *     bundler would, rendered with React.createElement (no JSX), against
 *     /ws/ai-studio/training/job-1/ (the simulator's job-1).
 *
 * What differs from the document: the URL (this adapter instead of localhost:8000) and the
 * token source (?token=, or the rtg_token session cookie in one case), plus one fix named
 * where it is made: the signals snippet calls send() right after constructing the socket,
 * which a browser refuses (InvalidStateError: still CONNECTING); one case shows that, the
 * others send the same message once the socket is open.
 *
 * Pages are /test of the adapter (same origin: Chromium refuses a made-up page's WebSocket
 * to a loopback address), each part in its own browser context; the seed's code is added
 * with addScriptTag. Data comes from the stack's rtg-trading-sim (alice's signals every 30 s,
 * her job-1 every 60 s) and, for one exact signal, from mosquitto_pub as the backend would
 * publish it (the seed's notify_new_signal).
 *
 * Environment (tests/compat/lib.sh browser_test and 50-seed004-trading-ai-studio.sh):
 *   RTG_HTTP, RTG_WS          the adapter
 *   RTG_MQTT_PORT             the broker
 *   RTG_ALICE_TOKEN           the page's user, alice (the simulator's demo user)
 *   RTG_BACKEND, RTG_BACKEND_TOKEN   a user with the notifier role (writes user/#)
 *   RTG_SEED_DOC              seed 004's document, if this machine has it
 *   RTG_STREAM_WAIT           seconds to wait for the simulator's messages (default 100)
 *
 * Prints "ok - NAME" / "not ok - NAME" per case ("#" lines: details); exits 1 if any failed.
 * The harness (Chromium, reporting, the verbatim check, the snippet's changes) is
 * common.mjs's; the pages are this test's own (/test, a context each, raw frames recorded).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { adapt, assert, checkVerbatim, close, done, env, launchBrowser, report, run, step, until } from './common.mjs';

const SEED = 'seed 004 ShareWise trading + AI studio';
const HTTP = env('RTG_HTTP');
const WS = env('RTG_WS');
const MQTT_PORT = env('RTG_MQTT_PORT');
const ALICE_TOKEN = env('RTG_ALICE_TOKEN');
const BACKEND = env('RTG_BACKEND');
const BACKEND_TOKEN = env('RTG_BACKEND_TOKEN');
const SEED_DOC = env('RTG_SEED_DOC', '');
const STREAM_WAIT = 1000 * Number(env('RTG_STREAM_WAIT', '100'));
const require = createRequire(import.meta.url);

// ---- seed 004, "### JavaScript WebSocket Client", verbatim ----------------------------------
const SIGNALS_SNIPPET = `// Connect to trading signals
const signalsSocket = new WebSocket('ws://localhost:8000/ws/trading/signals/');

signalsSocket.onopen = function(event) {
    console.log('Connected to trading signals');
};

signalsSocket.onmessage = function(event) {
    const data = JSON.parse(event.data);

    switch(data.type) {
        case 'new_signal':
            handleNewSignal(data.signal);
            break;
        case 'signal_update':
            handleSignalUpdate(data.signal);
            break;
        case 'error':
            handleError(data.error);
            break;
    }
};

// Subscribe to specific symbol
signalsSocket.send(JSON.stringify({
    'type': 'subscribe_symbol',
    'symbol': 'NIFTY'
}));`;
// ---- end of the seed's JavaScript WebSocket Client --------------------------------------------

// ---- seed 004, "### React WebSocket Hook", verbatim -------------------------------------------
const HOOK_SNIPPET = `import { useState, useEffect, useRef } from 'react';

export const useWebSocket = (url, token) => {
    const [socket, setSocket] = useState(null);
    const [messages, setMessages] = useState([]);
    const [isConnected, setIsConnected] = useState(false);

    useEffect(() => {
        const ws = new WebSocket(\`\${url}?token=\${token}\`);

        ws.onopen = () => {
            setIsConnected(true);
            setSocket(ws);
        };

        ws.onmessage = (event) => {
            const data = JSON.parse(event.data);
            setMessages(prev => [...prev, data]);
        };

        ws.onclose = () => {
            setIsConnected(false);
        };

        return () => {
            ws.close();
        };
    }, [url, token]);

    const sendMessage = (message) => {
        if (socket && isConnected) {
            socket.send(JSON.stringify(message));
        }
    };

    return { messages, isConnected, sendMessage };
};`;
// ---- end of the seed's React WebSocket Hook ----------------------------------------------------

/** The seed's "Message Formats" signal, as its backend's notify_new_signal would publish it. */
const SEED_SIGNAL = {
	id: 'signal-123',
	symbol: 'NIFTY',
	signal_type: 'BUY',
	confidence_score: 0.85,
	entry_price: 18500.0,
	target_price: 18650.0,
	stop_loss: 18400.0,
	created_at: '2025-08-17T12:00:00Z'
};
const SEED_SIGNAL_TEXT =
	'{"type":"new_signal","id":"signal-123","symbol":"NIFTY","signal_type":"BUY","confidence_score":0.85,' +
	'"entry_price":18500.0,"target_price":18650.0,"stop_loss":18400.0,"created_at":"2025-08-17T12:00:00Z",' +
	'"timestamp":"2025-08-17T12:00:00Z"}';
const SIGNAL_FIELDS = ['id', 'symbol', 'signal_type', 'confidence_score', 'entry_price', 'target_price', 'stop_loss', 'created_at'];
const TRAINING_STEPS = 10;

// ---- reporting ---------------------------------------------------------------------------------

/** One case of this seed: common.mjs's step, the name after the seed's. */
const seedStep = (name, fn) => step(`${SEED}: ${name}`, fn);

// ---- the changes to the signals snippet, each checked to apply ---------------------------------------

/** The seed's URL, pointed at this adapter; with a token unless the session cookie carries it. */
function withUrl(snippet, token) {
	const url = `${WS}/ws/trading/signals/${token ? `?token=${token}` : ''}`;
	return adapt(snippet, [{ from: "'ws://localhost:8000/ws/trading/signals/'", to: `'${url}'`, why: 'the URL' }]);
}

/**
 * The seed's one bug, fixed as little as possible: its send() runs before the socket is
 * open (a browser throws InvalidStateError and nothing is sent), so the same send now runs
 * on the socket's open event. The seed's own onopen is left as it is.
 */
function sendOnOpen(snippet) {
	const send = "signalsSocket.send(JSON.stringify({\n    'type': 'subscribe_symbol',\n    'symbol': 'NIFTY'\n}));";
	return adapt(snippet, [{ from: send, to: `signalsSocket.addEventListener('open', () => ${send.slice(0, -1)});`, why: 'the subscribe' }]);
}

/** The functions the seed's app provides, recording what the snippet hands them. */
const HANDLERS = `window.calls = { newSignal: [], signalUpdate: [], error: [] };
function handleNewSignal(signal) { window.calls.newSignal.push(signal); }
function handleSignalUpdate(signal) { window.calls.signalUpdate.push(signal); }
function handleError(error) { window.calls.error.push(error); }
`;

// ---- browser ---------------------------------------------------------------------------------------

let browser;

/**
 * A new context and page on the adapter's /test, recording page errors, console lines
 * and every WebSocket frame (text, parsed when JSON) and close.
 */
async function openPage() {
	const context = await browser.newContext();
	const page = await context.newPage();
	const rec = { errors: [], console: [], sockets: [] };
	page.on('pageerror', (e) => rec.errors.push(`${e.name}: ${e.message}`));
	page.on('console', (m) => rec.console.push(m.text()));
	page.on('websocket', (ws) => {
		const s = { url: ws.url(), in: [], out: [], closed: false };
		rec.sockets.push(s);
		ws.on('framereceived', (f) => s.in.push(String(f.payload)));
		ws.on('framesent', (f) => s.out.push(String(f.payload)));
		ws.on('close', () => (s.closed = true));
	});
	const res = await page.goto(`${HTTP}/test`);
	assert(res && res.status() === 200, `GET /test: HTTP ${res && res.status()}`);
	return { context, page, rec };
}

const parsed = (s) => s.in.map((t) => { try { return JSON.parse(t); } catch { return { unparsable: t }; } });
const brief = (list) => JSON.stringify(list.map((m) => [m.type, m.topic || m.message || '']).slice(-20));

/** Publishes one message as the seed's backend would (mosquitto_pub, QoS 1). */
async function mqttPub(topic, text) {
	const args = ['-h', '127.0.0.1', '-p', MQTT_PORT, '-V', 'mqttv311', '-u', BACKEND, '-P', BACKEND_TOKEN, '-q', '1', '-t', topic, '-m', text];
	const r = await run('mosquitto_pub', args);
	assert(r.code === 0, `mosquitto_pub -t ${topic}: exit ${r.code} ${r.err}`);
}

// ---- the parts ---------------------------------------------------------------------------------------

/** The signals snippet with only the URL and ?token= changed: the seed's send() throws. */
async function asWritten() {
	const p = await openPage();
	await p.page.addScriptTag({ content: HANDLERS + withUrl(SIGNALS_SNIPPET, ALICE_TOKEN) }).catch(() => {});
	await until(() => p.rec.errors.length, 10000, 'no page error');
	assert(/InvalidStateError/.test(p.rec.errors[0]) && /CONNECTING/.test(p.rec.errors[0]), `page error: ${p.rec.errors[0]}`);
	// the socket itself is fine, only the subscribe was lost
	await until(() => p.rec.console.includes('Connected to trading signals'), 10000, `console: ${JSON.stringify(p.rec.console)}`);
	const sent = p.rec.sockets.flatMap((s) => s.out);
	assert(!sent.length, `frames sent: ${sent.join(' ')}`);
	await p.context.close();
}

/** The signals snippet as the seed's app runs it (send on open): handlers and confirmation. */
async function signalsPage(token) {
	const p = await openPage();
	if (!token) {
		// the token source: the HttpOnly session cookie, as Django's session cookie is for the seed
		const status = await p.page.evaluate(
			(t) => fetch('/api/session', { method: 'POST', headers: { Authorization: `Bearer ${t}` } }).then((r) => r.status),
			ALICE_TOKEN
		);
		assert(status === 200, `POST /api/session: HTTP ${status}`);
	}
	await p.page.addScriptTag({ content: HANDLERS + sendOnOpen(withUrl(SIGNALS_SNIPPET, token)) });
	return p;
}

/** Waits for the confirmation of the seed's subscribe_symbol; returns the socket's record. */
async function confirmed(p) {
	const sock = () => p.rec.sockets.find((s) => s.url.includes('/ws/trading/signals/'));
	await until(
		() => sock() && parsed(sock()).some((m) => m.type === 'subscription' && m.action === 'subscribed' && m.symbol === 'NIFTY'),
		10000,
		() => `frames: ${sock() ? brief(parsed(sock())) : 'no socket'}; page errors: ${p.rec.errors.join(' | ')}`
	);
	return sock();
}

/** The hook's module, compiled as a bundler would (ES module -> CommonJS), and a component using it. */
async function hookPage() {
	const p = await openPage();
	for (const [pkg, file] of [['react', 'umd/react.development.js'], ['react-dom', 'umd/react-dom.development.js'], ['@babel/standalone', 'babel.min.js']])
		await p.page.addScriptTag({ path: join(dirname(require.resolve(`${pkg}/package.json`)), file) });
	await p.page.evaluate(
		({ snippet, url, token }) => {
			const { code } = Babel.transform(snippet, { sourceType: 'module', plugins: ['transform-modules-commonjs'] });
			const exports = {};
			const requireReact = (name) => {
				if (name !== 'react') throw new Error(`the hook imports ${name}`);
				return React;
			};
			new Function('require', 'exports', code)(requireReact, exports);
			const { useWebSocket } = exports;
			window.renders = [];
			function TrainingProgress() {
				const hook = useWebSocket(url, token);
				window.renders.push({ isConnected: hook.isConnected, count: hook.messages.length });
				window.hook = hook;
				return React.createElement('p', { id: 'training' }, `${hook.isConnected ? 'connected' : 'disconnected'}: ${hook.messages.length}`);
			}
			const el = document.createElement('div');
			document.body.prepend(el);
			window.root = ReactDOM.createRoot(el);
			window.root.render(React.createElement(TrainingProgress));
		},
		{ snippet: HOOK_SNIPPET, url: `${WS}/ws/ai-studio/training/job-1/`, token: ALICE_TOKEN }
	);
	return p;
}

// ---- the test -------------------------------------------------------------------------------------

try {
	await seedStep("the JavaScript WebSocket Client snippet in this test is the seed's, verbatim", () =>
		checkVerbatim(SEED_DOC, '### JavaScript WebSocket Client', 'javascript', SIGNALS_SNIPPET)
	);
	await seedStep("the React WebSocket Hook snippet in this test is the seed's, verbatim", () =>
		checkVerbatim(SEED_DOC, '### React WebSocket Hook', 'javascript', HOOK_SNIPPET)
	);

	browser = await launchBrowser();
	// the pages that wait for the simulator start first, so their waits overlap
	const hook = await hookPage();
	const signals = await signalsPage(ALICE_TOKEN);
	const started = Date.now();
	const left = () => Math.max(1000, STREAM_WAIT - (Date.now() - started));
	let sigSock;

	await seedStep('the signals snippet as the seed writes it (URL and ?token= ours) throws InvalidStateError at its send(): why the others send on open', asWritten);

	await seedStep("the signals snippet on /ws/trading/signals/?token=: onopen logs, the seed's subscribe_symbol NIFTY frame is sent and confirmed", async () => {
		sigSock = await confirmed(signals);
		assert(signals.rec.console.includes('Connected to trading signals'), `console: ${JSON.stringify(signals.rec.console)}`);
		assert(
			sigSock.out.length === 1 && sigSock.out[0] === JSON.stringify({ type: 'subscribe_symbol', symbol: 'NIFTY' }),
			`frames sent: ${sigSock.out.join(' ')}`
		);
		const msgs = parsed(sigSock);
		const greeting = msgs[0];
		assert(greeting.type === 'connection' && greeting.user_id === 'alice', `first frame: ${JSON.stringify(greeting)}`);
		assert(msgs.some((m) => m.type === 'subscription' && m.topic === 'user/alice/signals'), `no subscription to alice's signals: ${brief(msgs)}`);
		const conf = msgs.find((m) => m.type === 'subscription' && m.symbol === 'NIFTY');
		console.log(`subscribe_symbol NIFTY on /ws/trading/signals/ is confirmed as ${JSON.stringify(conf)}`);
		const errs = await signals.page.evaluate(() => window.calls.error);
		assert(!errs.length && !signals.rec.errors.length, `handleError got ${JSON.stringify(errs)}; page errors ${signals.rec.errors.join(' | ')}`);
	});

	await seedStep("handleNewSignal(data.signal) gets the seed's example signal exactly as the backend published it", async () => {
		await mqttPub('user/alice/signals', SEED_SIGNAL_TEXT);
		const got = await until(
			() => signals.page.evaluate(() => window.calls.newSignal.find((s) => s && s.id === 'signal-123' && s.created_at === '2025-08-17T12:00:00Z')),
			10000,
			async () => `handleNewSignal calls: ${JSON.stringify(await signals.page.evaluate(() => window.calls.newSignal))}`
		);
		for (const [k, v] of Object.entries(SEED_SIGNAL)) assert(got[k] === v, `signal.${k} is ${JSON.stringify(got[k])}, published ${JSON.stringify(v)}`);
		const frame = sigSock.in.find((t) => t.includes('"signal-123"'));
		assert(frame.includes('"entry_price":18500.0'), `the numbers were re-encoded: ${frame}`);
		const m = JSON.parse(frame);
		assert(m.type === 'new_signal' && m.timestamp === '2025-08-17T12:00:00Z' && m.topic === 'user/alice/signals', frame);
	});

	await seedStep("an unknown message type from the client: handleError(data.error) gets a string naming it", async () => {
		await signals.page.evaluate(() => signalsSocket.send(JSON.stringify({ type: 'get_signal_history', symbol: 'NIFTY' })));
		const errs = await until(
			() => signals.page.evaluate(() => (window.calls.error.length ? window.calls.error : null)),
			10000,
			() => `no handleError call; frames: ${brief(parsed(sigSock))}`
		);
		assert(errs.length === 1 && typeof errs[0] === 'string' && errs[0].includes("'get_signal_history'"), `handleError got ${JSON.stringify(errs)}`);
	});

	await seedStep('the session cookie as the token source (POST /api/session): the snippet with only the host changed is greeted as alice, NIFTY confirmed', async () => {
		const p = await signalsPage(null);
		const s = await confirmed(p);
		assert(!s.url.includes('token='), s.url);
		const first = parsed(s)[0];
		assert(first.type === 'connection' && first.user_id === 'alice', `first frame: ${JSON.stringify(first)}`);
		await p.context.close();
	});

	await seedStep("useWebSocket on /ws/ai-studio/training/job-1/: isConnected becomes true, the greeting and the job's subscription are its first messages", async () => {
		await until(
			() => hook.page.evaluate(() => window.hook && window.hook.isConnected && window.hook.messages.length >= 2),
			10000,
			async () => `renders ${JSON.stringify(await hook.page.evaluate(() => window.renders))}; errors ${hook.rec.errors.join(' | ')}`
		);
		const h = await hook.page.evaluate(() => ({ messages: window.hook.messages, renders: window.renders, text: document.getElementById('training').textContent }));
		assert(h.renders[0].isConnected === false && h.renders[0].count === 0, `first render ${JSON.stringify(h.renders[0])}`);
		assert(h.messages[0].type === 'connection' && h.messages[0].user_id === 'alice', `first message ${JSON.stringify(h.messages[0])}`);
		assert(
			h.messages[1].type === 'subscription' && h.messages[1].action === 'subscribed' && h.messages[1].topic === 'user/alice/studio/training/job-1',
			`second message ${JSON.stringify(h.messages[1])}`
		);
		assert(/^connected: \d+$/.test(h.text), `rendered "${h.text}"`);
		const sock = hook.rec.sockets[0];
		assert(sock && sock.url === `${WS}/ws/ai-studio/training/job-1/?token=${ALICE_TOKEN}`, `the hook's socket: ${sock && sock.url}`);
	});

	await seedStep("useWebSocket: messages accumulate, every frame in order; the simulator's training_update arrives as {type, progress:{progress_percentage, current_step, total_steps}}", async () => {
		const live = await until(
			() => hook.page.evaluate(() => window.hook.messages.find((m) => m.type === 'training_update')),
			left(),
			async () => `no training_update for job-1; messages: ${brief(await hook.page.evaluate(() => window.hook.messages))}`
		);
		const p = live.progress;
		assert(p && typeof p === 'object', `no progress object: ${JSON.stringify(live)}`);
		assert(typeof p.progress_percentage === 'number' && p.progress_percentage > 0 && p.progress_percentage <= 100, `progress_percentage ${p.progress_percentage}`);
		assert(typeof p.current_step === 'string' && p.current_step.length > 0, `current_step ${p.current_step}`);
		assert(p.total_steps === TRAINING_STEPS && typeof p.eta_minutes === 'number', `total_steps ${p.total_steps}, eta_minutes ${p.eta_minutes}`);
		assert(p.job_id === 'job-1' && live.topic === 'user/alice/studio/training/job-1' && typeof live.timestamp === 'string', JSON.stringify(live));
		// every frame the socket got is in messages, in order (React may render the last one a little later)
		const h = await until(
			async () => {
				const now = await hook.page.evaluate(() => ({ messages: window.hook.messages, renders: window.renders }));
				now.frames = parsed(hook.rec.sockets[0]);
				return now.messages.length === now.frames.length ? now : null;
			},
			5000,
			async () => `the hook has ${await hook.page.evaluate(() => window.hook.messages.length)} messages, the socket got ${hook.rec.sockets[0].in.length} frames`
		);
		assert(JSON.stringify(h.messages) === JSON.stringify(h.frames), 'the messages differ from the frames received');
		for (let i = 1; i < h.renders.length; i++)
			assert(h.renders[i].count >= h.renders[i - 1].count, `messages shrank between renders: ${JSON.stringify(h.renders)}`);
	});

	await seedStep("useWebSocket's sendMessage({type:'ping'}) once connected: the pong is appended to messages", async () => {
		const before = await hook.page.evaluate(() => window.hook.messages.length);
		await hook.page.evaluate(() => window.hook.sendMessage({ type: 'ping' }));
		await until(
			() => hook.page.evaluate((n) => window.hook.messages.slice(n).some((m) => m.type === 'pong'), before),
			10000,
			async () => `messages after the ping: ${brief(await hook.page.evaluate((n) => window.hook.messages.slice(n), before))}`
		);
		assert(hook.rec.sockets[0].out.includes('{"type":"ping"}'), `frames sent: ${hook.rec.sockets[0].out.join(' ')}`);
	});

	await seedStep("the simulator's signals for alice reach handleNewSignal / handleSignalUpdate with the seed's signal fields", async () => {
		const sims = await until(
			() =>
				signals.page.evaluate(() => {
					const all = [...window.calls.newSignal, ...window.calls.signalUpdate].filter((s) => s && s.id !== 'signal-123');
					return all.length ? all : null;
				}),
			left(),
			() => `no simulator signal for alice; frames: ${brief(parsed(sigSock))}`
		);
		for (const s of sims) {
			const missing = SIGNAL_FIELDS.filter((f) => !(f in s));
			assert(!missing.length, `a signal without ${missing.join(', ')}: ${JSON.stringify(s)}`);
			assert(typeof s.confidence_score === 'number' && typeof s.entry_price === 'number' && /^(BUY|SELL)$/.test(s.signal_type), JSON.stringify(s));
		}
		const frames = parsed(sigSock).filter((m) => m.type === 'new_signal' || m.type === 'signal_update');
		assert(frames.every((m) => m.topic === 'user/alice/signals'), `a signal from elsewhere: ${brief(frames)}`);
	});

	await seedStep("unmounting the component runs the hook's cleanup: its socket closes", async () => {
		await hook.page.evaluate(() => window.root.unmount());
		await until(() => hook.rec.sockets[0].closed, 10000, 'the socket is still open');
	});
} catch (err) {
	report(false, `${SEED}: the browser test ran to its end`, err && err.stack ? err.stack : String(err));
} finally {
	await close(browser);
}
process.exit(done());
