#!/usr/bin/env node
/**
 * seed000.mjs - seed 000's own browser code (credit feedback, "Real-time &
 * Streaming Module") in Debian's headless Chromium against make run's stack.
 *
 * Three snippets of the seed document, verbatim between the marked lines below
 * (and compared with the document when RTG_SEED_DOC names it):
 *   - "WebSocket Client (JavaScript)": /realtime/ws/{client_id}, its handlers
 *     updateCreditScore(data.data), updateRiskIndicator(data.risk_score),
 *     updateProgressBar(data.progress);
 *   - "Server-Sent Events (JavaScript)": new EventSource('/realtime/sse/market-updates')
 *     with onmessage -> updateMarketData(data);
 *   - "React Integration": the CreditDashboard component (JSX compiled by
 *     @babel/standalone, run on React 18's UMD build) on /realtime/ws/dashboard/{userId}.
 * What changes is listed with each snippet (CHANGES_*): the adapter's address
 * for ws://localhost:8000, the token (?token=, from the page's RTG_TOKEN), and
 * one fix of the seed's own: its WebSocket client sends before the socket is open.
 * The handlers the seed calls but does not show are defined by this test and
 * record what they get; the assertions are on those records.
 *
 * The seed's backend is the seed's too: seed000_backend.py runs its "API
 * Integration" route (CreditFeedbackStreamer.stream_credit_analysis through
 * clients/python/rtg_gateway.py, a notifier token). Calculations start with
 * POST /api/calculations and the user's token, as the seed's calculator would;
 * a risk score moves as rtg-notify-sim moves it (mosquitto_pub to
 * user/<id>/credit with a notifier token). Portfolio updates and market
 * alerts come from rtg-trading-sim.
 *
 * Environment (10-seed000-credit-feedback.sh): RTG_HTTP, RTG_WS, RTG_T_DIR
 * (browser_test), RTG_SEED_DOC (may be empty), RTG_MQTT_PORT, RTG_PY,
 * RTG_COMPAT (tests/compat), RTG_PYTHONPATH (clients/python),
 * RTG_USER_TOKEN (user456), RTG_ALICE_TOKEN, RTG_BOB_TOKEN, RTG_NOTIFIER +
 * RTG_NOTIFIER_TOKEN (role notifier), RTG_PUBLISHER + RTG_PUBLISHER_TOKEN
 * (role publisher).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
	adapt,
	adapterPage,
	assert,
	checkVerbatim,
	close,
	done,
	env,
	launch,
	report,
	run,
	step,
	until
} from './common.mjs';

const HTTP = env('RTG_HTTP');
const WS = env('RTG_WS');
const SEED_DOC = env('RTG_SEED_DOC', '');
const MQTT_PORT = env('RTG_MQTT_PORT');
const PY = env('RTG_PY', '/usr/bin/python3');
const COMPAT = env('RTG_COMPAT');
const PYTHONPATH = env('RTG_PYTHONPATH');
const USER_TOKEN = env('RTG_USER_TOKEN');
const ALICE_TOKEN = env('RTG_ALICE_TOKEN');
const BOB_TOKEN = env('RTG_BOB_TOKEN');
const NOTIFIER = env('RTG_NOTIFIER');
const NOTIFIER_TOKEN = env('RTG_NOTIFIER_TOKEN');
const PUBLISHER = env('RTG_PUBLISHER');
const PUBLISHER_TOKEN = env('RTG_PUBLISHER_TOKEN');
const P = 'seed 000 (credit feedback)';
const require = createRequire(import.meta.url);
const Babel = require('@babel/standalone');
const REACT_JS = join(dirname(require.resolve('react/package.json')), 'umd/react.development.js');
const REACT_DOM_JS = join(dirname(require.resolve('react-dom/package.json')), 'umd/react-dom.development.js');
const j = (v) => JSON.stringify(v);

// ---- seed 000, "### WebSocket Client (JavaScript)", verbatim ----------------------------------
const WS_SNIPPET = `// Connect to WebSocket
const ws = new WebSocket('ws://localhost:8000/realtime/ws/client123?user_id=user456');

// Handle messages
ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    
    switch(data.type) {
        case 'credit_analysis':
            updateCreditScore(data.data);
            break;
        case 'risk_score_update':
            updateRiskIndicator(data.risk_score);
            break;
        case 'calculation_progress':
            updateProgressBar(data.progress);
            break;
    }
};

// Send messages
ws.send(JSON.stringify({
    type: 'subscribe',
    subscription: 'credit_updates'
}));`;
// ---- end of the seed's snippet ------------------------------------------------------------------

// ---- seed 000, "### Server-Sent Events (JavaScript)", verbatim --------------------------------
const SSE_SNIPPET = `// Connect to SSE
const eventSource = new EventSource('/realtime/sse/market-updates');

// Handle events
eventSource.onmessage = (event) => {
    const data = JSON.parse(event.data);
    updateMarketData(data);
};`;
// ---- end of the seed's snippet ------------------------------------------------------------------

// ---- seed 000, "### React Integration", verbatim ----------------------------------------------
const REACT_SNIPPET = `import { useEffect, useState } from 'react';

function CreditDashboard({ userId }) {
    const [creditScore, setCreditScore] = useState(null);
    const [ws, setWs] = useState(null);
    
    useEffect(() => {
        const websocket = new WebSocket(
            \`ws://localhost:8000/realtime/ws/dashboard/\${userId}\`
        );
        
        websocket.onmessage = (event) => {
            const data = JSON.parse(event.data);
            if (data.type === 'credit_analysis') {
                setCreditScore(data.data.score);
            }
        };
        
        setWs(websocket);
        
        return () => websocket.close();
    }, [userId]);
    
    return (
        <div>
            <h2>Credit Score: {creditScore}</h2>
            {/* Real-time updates will appear here */}
        </div>
    );
}`;
// ---- end of the seed's snippet ------------------------------------------------------------------

const WS_URL = "'ws://localhost:8000/realtime/ws/client123?user_id=user456'";
/** The seed's WebSocket client: our address, the token (or none), and sending once open. */
const wsChanges = (withToken) => [
	{
		from: WS_URL,
		to: withToken
			? `'${WS}/realtime/ws/client123?user_id=user456&token=' + RTG_TOKEN`
			: `'${WS}/realtime/ws/client123?user_id=user456'`,
		why: withToken ? 'the adapter, and the user\'s token from the page (RTG_TOKEN)' : 'the adapter'
	},
	{
		// The seed sends while the socket is CONNECTING: every browser throws
		// InvalidStateError there and nothing is sent. Sending on open is the
		// smallest change that lets the seed's own subscribe reach the server.
		from: '// Send messages\nws.send(',
		to: '// Send messages\nws.onopen = () => ws.send(',
		why: "the seed's ws.send runs before the socket is open (InvalidStateError): sent on open instead"
	}
];
/** The seed's React component: our address, and the token (or none). */
const reactChanges = (withToken) => [
	{
		from: '`ws://localhost:8000/realtime/ws/dashboard/${userId}`',
		to: withToken ? `\`${WS}/realtime/ws/dashboard/\${userId}?token=\${RTG_TOKEN}\`` : `\`${WS}/realtime/ws/dashboard/\${userId}\``,
		why: withToken ? "the adapter, and the user's token from the page (RTG_TOKEN): the credit data is private" : 'the adapter'
	}
];

// ---- processes (common.mjs's run) ----------------------------------------------------------------

/** The seed's backend route: POST /api/analyze-credit/{user_id} -> {returned, analysis}. */
async function analyzeCredit(userId, creditData) {
	const r = await run(PY, [join(COMPAT, 'seed000_backend.py'), userId, j(creditData)], {
		env: { PYTHONPATH, RTG_URL: HTTP, RTG_TOKEN: NOTIFIER_TOKEN }
	});
	assert(r.code === 0, `seed000_backend.py ${userId}: exit ${r.code}: ${r.err.trim()}`);
	return JSON.parse(r.out);
}

async function mqttPub(user, token, topic, message) {
	const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', MQTT_PORT, '-V', 'mqttv311', '-u', user, '-P', token, '-q', '1', '-t', topic, '-m', j(message)]);
	assert(r.code === 0, `mosquitto_pub -t ${topic}: exit ${r.code}: ${r.err.trim()}`);
}

/** POST /api/calculations with a user's token, as the seed's calculator would start one. */
async function startCalculation(token, body) {
	const res = await fetch(`${HTTP}/api/calculations`, {
		method: 'POST',
		headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
		body: j(body)
	});
	const answer = await res.json();
	assert(res.status === 202 && answer.calculation_id, `POST /api/calculations: HTTP ${res.status} ${j(answer)}`);
	return answer.calculation_id;
}

// ---- pages ---------------------------------------------------------------------------------------

/** The handlers the seed calls and does not show: each records its argument. */
const HANDLERS = `window.seedCalls = { updateCreditScore: [], updateRiskIndicator: [], updateProgressBar: [], updateMarketData: [] };
function updateCreditScore(v) { seedCalls.updateCreditScore.push(v); }
function updateRiskIndicator(v) { seedCalls.updateRiskIndicator.push(v); }
function updateProgressBar(v) { seedCalls.updateProgressBar.push(v); }
function updateMarketData(v) { seedCalls.updateMarketData.push(v); }`;

/** A page of the adapter's origin with the handlers, RTG_TOKEN, and the given script. */
async function seedPage(context, token, script) {
	const page = await adapterPage(context, HTTP);
	await page.addScriptTag({ content: `${HANDLERS}\nvar RTG_TOKEN = ${j(token)};` });
	await page.addScriptTag({ content: script });
	return page;
}

/** A page rendering the seed's CreditDashboard (compiled with or without the token) for userId. */
async function dashboardPage(context, token, userId) {
	const page = await adapterPage(context, HTTP);
	await page.addScriptTag({ content: `var RTG_TOKEN = ${j(token)};` });
	await page.addScriptTag({ path: REACT_JS });
	await page.addScriptTag({ path: REACT_DOM_JS });
	const jsx = adapt(REACT_SNIPPET, reactChanges(token !== null));
	const compiled = Babel.transform(jsx, { presets: ['react'], plugins: ['transform-modules-commonjs'], sourceType: 'module' }).code;
	// ours: the snippet is an ES module importing 'react'; here that is React's UMD build
	await page.addScriptTag({
		content: `(function (require, module, exports) {\n${compiled}\nwindow.CreditDashboard = CreditDashboard;\n})((name) => { if (name === 'react') return window.React; throw new Error('no module ' + name); }, { exports: {} }, {});`
	});
	await page.evaluate((id) => {
		ReactDOM.createRoot(document.getElementById('root')).render(React.createElement(window.CreditDashboard, { userId: id }));
	}, userId);
	return page;
}

const frames = (page) => page.rtg.sockets.flatMap((s) => s.received);
const ofType = (page, type) => frames(page).filter((m) => m && m.type === type);
const calls = (page) => page.evaluate(() => window.seedCalls);
const heading = (page) => page.evaluate(() => (document.querySelector('#root h2') || {}).textContent);
const brief = (page) => j(frames(page).map((m) => (m && m.type ? [m.type, m.topic || m.message || m.user_id || ''] : m)).slice(-30));

/** The page's WebSocket frames show a greeting; returns it. */
async function greeting(page, what) {
	return until(() => ofType(page, 'connection')[0], 15000, () => `${what}: no greeting; frames ${brief(page)}; page errors ${j(page.rtg.errors)}`);
}

// ---- the test ------------------------------------------------------------------------------------

let context;
try {
	await step(`${P}: the JavaScript WebSocket client in this test is the seed's, verbatim`, () =>
		checkVerbatim(SEED_DOC, '### WebSocket Client (JavaScript)', 'javascript', WS_SNIPPET)
	);
	await step(`${P}: the Server-Sent Events snippet in this test is the seed's, verbatim`, () =>
		checkVerbatim(SEED_DOC, '### Server-Sent Events (JavaScript)', 'javascript', SSE_SNIPPET)
	);
	await step(`${P}: the React CreditDashboard in this test is the seed's, verbatim`, () =>
		checkVerbatim(SEED_DOC, '### React Integration', 'jsx', REACT_SNIPPET)
	);
	for (const [what, changes] of [
		['WebSocket client', wsChanges(true)],
		['React component', reactChanges(true)]
	])
		for (const c of changes) console.log(`change in the ${what}: ${j(c.from)} -> ${j(c.to.replace(/127\.0\.0\.1:\d+/, 'ADAPTER'))}: ${c.why}`);

	context = await launch();
	// every page at once: the simulators keep publishing while the cases run
	const wsPage = await seedPage(context, USER_TOKEN, adapt(WS_SNIPPET, wsChanges(true)));
	const anonPage = await seedPage(context, null, adapt(WS_SNIPPET, wsChanges(false)));
	const ssePage = await seedPage(context, null, SSE_SNIPPET);
	const dash = await dashboardPage(context, ALICE_TOKEN, 'alice');
	const anonDash = await dashboardPage(context, null, 'alice');
	const bobDash = await dashboardPage(context, BOB_TOKEN, 'alice');

	// (a) + (e): the seed's WebSocket client with the user's token, fed by the seed's backend
	await step(
		`${P}: the JavaScript WebSocket client with ?token= (user456) subscribes credit_updates; updateCreditScore gets the credit object from CreditFeedbackStreamer.stream_credit_analysis (numeric score), updateRiskIndicator a number, updateProgressBar 0-100 up to 100 for POST /api/calculations`,
		async () => {
			const g = await greeting(wsPage, 'user456');
			assert(g.user_id === 'user456' && g.anonymous === undefined, `greeting ${j(g)}`);
			assert(wsPage.rtg.sockets[0].sent.includes(j({ type: 'subscribe', subscription: 'credit_updates' })), `the seed's subscribe was not sent: ${j(wsPage.rtg.sockets[0].sent)}`);
			await until(
				() => ofType(wsPage, 'subscription').some((m) => m.action === 'subscribed' && m.topic === 'user/user456/credit'),
				10000,
				() => `no confirmation of credit_updates (user/user456/credit): ${brief(wsPage)}`
			);
			assert(!wsPage.rtg.errors.length, `page errors: ${j(wsPage.rtg.errors)}`);

			const { returned, analysis } = await analyzeCredit('user456', { payment_history: 0.96, credit_utilization: 0.35 });
			assert(j(returned) === j({ status: 'analysis_complete' }), `the seed's route returned ${j(returned)}`);
			const credit = await until(async () => (await calls(wsPage)).updateCreditScore[0], 15000, async () => `updateCreditScore not called; frames ${brief(wsPage)}`);
			assert(typeof credit.score === 'number' && credit.score === analysis.score, `updateCreditScore got ${j(credit)}; the analysis was ${j(analysis)}`);
			for (const [k, v] of Object.entries(analysis)) assert(j(credit[k]) === j(v), `updateCreditScore got ${k} = ${j(credit[k])}, the analysis has ${j(v)}`);

			await mqttPub(NOTIFIER, NOTIFIER_TOKEN, 'user/user456/credit', {
				type: 'risk_score_update',
				risk_score: 0.42,
				previous_score: 0.47,
				factors: ['Lower credit utilization'],
				timestamp: new Date().toISOString()
			});
			const risk = await until(
				async () => {
					const r = (await calls(wsPage)).updateRiskIndicator;
					return r.length && r;
				},
				15000,
				async () => `updateRiskIndicator not called; frames ${brief(wsPage)}`
			);
			assert(j(risk) === j([0.42]), `updateRiskIndicator got ${j(risk)}`);

			const id = await startCalculation(USER_TOKEN, {
				calculation_type: 'credit_score',
				parameters: { payment_history: 0.96, credit_utilization: 0.35, credit_age_years: 6, num_accounts: 4, recent_inquiries: 1, debt_to_income: 0.3 }
			});
			const progress = await until(
				async () => {
					const p = (await calls(wsPage)).updateProgressBar;
					return p.includes(100) && p;
				},
				30000,
				async () => `updateProgressBar got ${j((await calls(wsPage)).updateProgressBar)}; frames ${brief(wsPage)}`
			);
			assert(progress.every((p) => typeof p === 'number' && p >= 0 && p <= 100), `updateProgressBar got ${j(progress)}`);
			assert(progress.every((p, i) => i === 0 || p >= progress[i - 1]) && progress.length >= 2, `updateProgressBar got ${j(progress)}: not rising to 100`);
			// Playwright may see the frames a moment after the page did
			const updates = await until(
				() => {
					const u = ofType(wsPage, 'calculation_progress');
					return u.some((m) => m.status === 'completed') && u;
				},
				10000,
				() => `no completed calculation_progress frame: ${brief(wsPage)}`
			);
			assert(updates.length === progress.length && updates.every((m) => m.calculation_id === id), `calculation_progress frames ${j(updates.map((m) => [m.calculation_id, m.progress]))} for ${id}`);
			const last = updates[updates.length - 1];
			assert(last.status === 'completed' && last.result && typeof last.result.score === 'number', `the last update ${j(last)}`);
			assert(!ofType(wsPage, 'calculation_update').length, 'a calculation_update arrived unrenamed');
			assert(!wsPage.rtg.errors.length, `page errors: ${j(wsPage.rtg.errors)}`);
		}
	);

	// (a) without a token: anonymous, nothing private
	await step(
		`${P}: the JavaScript WebSocket client without a token connects anonymously: greeting anonymous, credit_updates refused, its handlers get none of user456's credit, risk or progress`,
		async () => {
			const g = await greeting(anonPage, 'anonymous');
			assert(g.anonymous === true && g.user_id === null, `greeting ${j(g)}`);
			await until(
				() => ofType(anonPage, 'error').some((m) => /credit_updates/.test(m.message) && m.error),
				10000,
				() => `no error for the anonymous subscribe credit_updates: ${brief(anonPage)}`
			);
			// user456's credit, risk score and progress went out before this ping (the case
			// above): its pong comes after anything the adapter had queued for this socket
			await anonPage.evaluate(() => ws.send(JSON.stringify({ type: 'ping' })));
			await until(() => ofType(anonPage, 'pong').length, 10000, () => `no pong: ${brief(anonPage)}`);
			const c = await calls(anonPage);
			assert(!c.updateCreditScore.length && !c.updateRiskIndicator.length && !c.updateProgressBar.length, `handlers called: ${j(c)}`);
			const private_ = frames(anonPage).filter((m) => m && (String(m.topic || '').startsWith('user/') || String(m.topic || '').startsWith('calc/')));
			assert(!private_.length, `private frames: ${j(private_)}`);
			assert(!ofType(anonPage, 'subscription').length, `subscriptions: ${j(ofType(anonPage, 'subscription'))}`);
			assert(!anonPage.rtg.errors.length, `page errors: ${j(anonPage.rtg.errors)}`);
		}
	);

	// (b) the SSE snippet, no token: a public feed whose events are unnamed
	await step(
		`${P}: new EventSource('/realtime/sse/market-updates') without a token: onmessage gives updateMarketData market objects with type and topic (prices, indicators, status)`,
		async () => {
			const got = await until(
				async () => {
					const m = (await calls(ssePage)).updateMarketData;
					const types = new Set(m.map((d) => d && d.type));
					return ['price_update', 'market_update', 'market_status'].every((t) => types.has(t)) && m;
				},
				40000,
				async () => `updateMarketData got types ${j([...new Set((await calls(ssePage)).updateMarketData.map((d) => d && d.type))])}; page errors ${j(ssePage.rtg.errors)}`
			);
			const bad = got.filter((d) => !d || typeof d.type !== 'string' || typeof d.topic !== 'string' || !d.topic.startsWith('market/'));
			assert(!bad.length, `not market objects with type and topic: ${j(bad.slice(0, 3))}`);
			const price = got.find((d) => d.type === 'price_update');
			assert(typeof price.price === 'number' && typeof price.ticker === 'string' && price.topic === `market/${price.ticker}`, `price_update ${j(price)}`);
			const ind = got.find((d) => d.type === 'market_update');
			assert(ind.topic === 'market/indicators' && ind.data && typeof ind.data.discount_rate === 'number', `market_update ${j(ind)}`);
			assert(!ssePage.rtg.errors.length, `page errors: ${j(ssePage.rtg.errors)}`);
		}
	);

	// (d) the React dashboard, with alice's token
	let creditFrame;
	await step(
		`${P}: the React CreditDashboard with ?token= (alice) shows "Credit Score: <n>" from the credit_analysis CreditFeedbackStreamer streams`,
		async () => {
			const g = await greeting(dash, 'alice');
			assert(g.user_id === 'alice', `greeting ${j(g)}`);
			await until(
				() => ofType(dash, 'subscription').some((m) => m.action === 'subscribed' && m.topic === 'user/alice/credit'),
				10000,
				() => `no subscription to user/alice/credit: ${brief(dash)}`
			);
			const { analysis } = await analyzeCredit('alice', { payment_history: 0.99, credit_utilization: 0.08 });
			creditFrame = await until(
				() => ofType(dash, 'credit_analysis').find((m) => m.data && m.data.score === analysis.score && j(m.data.factors) === j(analysis.factors)),
				15000,
				() => `no credit_analysis with score ${analysis.score}: ${brief(dash)}`
			);
			// rtg-notify-sim publishes alice's credit too: the heading shows the newest score
			await until(
				async () => {
					const scores = ofType(dash, 'credit_analysis').map((m) => m.data.score);
					return (await heading(dash)) === `Credit Score: ${scores[scores.length - 1]}`;
				},
				10000,
				async () => `the heading is ${j(await heading(dash))}; credit_analysis scores ${j(ofType(dash, 'credit_analysis').map((m) => m.data.score))}`
			);
			assert(/^Credit Score: \d+$/.test(await heading(dash)), `the heading is ${j(await heading(dash))}`);
			assert(!dash.rtg.errors.length, `page errors: ${j(dash.rtg.errors)}`);
		}
	);

	// (d) without a token, and with another user's token: none of alice's credit
	await step(
		`${P}: the React CreditDashboard for alice without a token (anonymous) and with bob's token gets none of alice's credit: "Credit Score: " stays empty`,
		async () => {
			assert(creditFrame, 'not run: the dashboard with a token got no credit_analysis (the case above)');
			const g = await greeting(anonDash, 'anonymous');
			assert(g.anonymous === true, `anonymous greeting ${j(g)}`);
			const gb = await greeting(bobDash, 'bob');
			assert(gb.user_id === 'bob', `bob's greeting ${j(gb)}`);
			await until(
				() => ofType(bobDash, 'error').filter((m) => /user\/alice\/(credit|portfolio)/.test(m.message)).length === 2,
				10000,
				() => `bob is not refused alice's credit and portfolio: ${brief(bobDash)}`
			);
			// a market alert published after alice's credit reached her dashboard: once both
			// pages have it, anything of alice's would have reached them before
			const id = `compat-seed000-${Date.now()}`;
			await mqttPub(PUBLISHER, PUBLISHER_TOKEN, 'market/alerts/AAPL', {
				type: 'market_alert',
				id,
				ticker: 'AAPL',
				severity: 'low',
				headline: 'Compatibility test marker',
				message: 'Published by tests/compat/browser/seed000.mjs'
			});
			for (const [page, who] of [
				[anonDash, 'anonymous'],
				[bobDash, 'bob']
			]) {
				await until(() => ofType(page, 'market_alert').some((m) => m.alert && m.alert.id === id), 15000, () => `${who}: no market alert ${id}: ${brief(page)}`);
				const leaked = frames(page).filter((m) => m && (m.type === 'credit_analysis' || /user\/alice/.test(j(m.topic || '')) || (m.messages && /user\/alice/.test(j(m)))));
				assert(!leaked.length, `${who} got alice's data: ${j(leaked).slice(0, 400)}`);
				assert((await heading(page)) === 'Credit Score: ', `${who}: the heading is ${j(await heading(page))}`);
				assert(!page.rtg.errors.length, `${who}: page errors ${j(page.rtg.errors)}`);
			}
		}
	);

	// the dashboard endpoint's other messages (the seed's "Message Types")
	await step(
		`${P}: the dashboard's socket (/realtime/ws/dashboard/alice) gets portfolio_update with data.portfolio and market_alert with data.alert from rtg-trading-sim`,
		async () => {
			const live = (type) => ofType(dash, type);
			await until(
				() => live('portfolio_update').length && live('market_alert').some((m) => !String(m.alert && m.alert.id).startsWith('compat-')),
				90000,
				() => `portfolio_update ${live('portfolio_update').length}, market_alert ${live('market_alert').length}: ${brief(dash)}`
			);
			const p = live('portfolio_update')[0];
			assert(p.portfolio && typeof p.portfolio.total_value === 'number' && Array.isArray(p.portfolio.positions) && p.topic === 'user/alice/portfolio' && p.data === undefined, `portfolio_update ${j(p)}`);
			const a = live('market_alert').find((m) => !String(m.alert.id).startsWith('compat-'));
			assert(a.alert && typeof a.alert.headline === 'string' && typeof a.alert.ticker === 'string' && a.topic === `market/alerts/${a.alert.ticker}`, `market_alert ${j(a)}`);
			assert(typeof p.timestamp === 'string' && typeof a.timestamp === 'string', `timestamps ${j([p.timestamp, a.timestamp])}`);
		}
	);
} catch (err) {
	report(false, `${P}: the browser test runs to its end`, err && err.stack ? err.stack : String(err));
} finally {
	await close(context);
}
process.exit(done());
