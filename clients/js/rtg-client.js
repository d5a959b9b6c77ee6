/**
 * rtg-client.js - a reconnecting client for the realtime gateway's JSON
 * WebSocket protocol (docs/protocol.md).
 *
 * A plain ES module with no dependencies and no build step: browsers load it
 * with `<script type="module">` (the adapter serves it as /rtg-client.js),
 * bundlers and Node import it from the npm package `rtg-client` that
 * clients/js/package.json makes of it (types: rtg-client.d.ts; usage:
 * clients/js/README.md). The WebSocket is options.WebSocket if given, else
 * globalThis.WebSocket (browsers, Node 22 and later), else, in Node 20 and
 * 21, the optional peer package `ws`, imported when connect() is first called.
 *
 *     import { RtgClient } from './rtg-client.js';
 *     const client = new RtgClient({ token });
 *     client.on('price_update', (m) => console.log(m.ticker, m.price));
 *     client.subscribe('ticker', 'AAPL');          // seed 003 form
 *     client.subscribe('market/+');                // any MQTT filter the ACL allows
 *     client.subscribe({ room: 'lobby' });         // any form of the protocol
 *     client.connect();
 *
 * What it does for the application:
 * - connects with the token as ?token= (browsers cannot set headers on a
 *   WebSocket) and waits for the server's greeting before it sends anything;
 * - sends {"type":"ping"} every heartbeatMs and treats a pong that does not
 *   come back within the interval as a dead connection;
 * - reconnects after any loss with exponential backoff and jitter (1 s, x1.5,
 *   up to 30 s by default), except after an authentication failure (4001)
 *   when it has no tokenProvider to get a new token from;
 * - after a reconnect subscribes everything again, telling the server where
 *   it left off ("since"), and reports from the answers whether everything
 *   missed was recovered ('recovered') or not ('gap');
 * - when the server says it dropped messages because this client fell
 *   behind (a 'gap' notice: topic, epoch, from, to, fillable), asks for
 *   exactly those back if the server still holds them, and emits 'recovered'
 *   ({topic, from, to}) with the "history" that brings them;
 * - never delivers one message twice: a message whose topic, epoch and seq it
 *   has already delivered is dropped (history replays included);
 * - queues what the application sends while disconnected (bounded, the
 *   oldest dropped first) and sends it once connected again;
 * - refreshes the token in band on auth_expiring when given a tokenProvider.
 *
 * Events (`on(type, fn)`; fn gets the message object, whose .type is the
 * event's type): every server message type ('connection', 'subscription',
 * 'history', 'price_update', 'notification', 'calculation_update', 'error',
 * 'pong', 'auth_expiring', ...) and the client's own: 'open' (socket open),
 * 'close' ({code, reason}), 'reconnecting' ({attempt, delayMs}), 'state'
 * ({state}), 'recovered' and 'gap' ({topic, channel}) and 'error' ({message,
 * source: 'client'}: server errors have no source). '*' receives them all.
 *
 * WebSocketClient (below) is seed 003's client (the trading platform's
 * static/js/websocket-client.js) with its exact API, built on RtgClient, so
 * the seed's dashboard code runs unchanged against the gateway. The seed's
 * own usage:
 *
 *     // Create client
 *     const ws = new WebSocketClient({
 *         userId: 'user123',
 *         maxMessagesPerSecond: 10,
 *         batchUpdateDelay: 100
 *     });
 *
 *     // Connect
 *     ws.connect();
 *
 *     // Subscribe to data streams
 *     ws.subscribe('ticker', 'AAPL');
 *     ws.subscribe('patterns');
 *     ws.subscribe('alerts');
 *     ws.subscribe('market_status');
 *
 *     // Register event handlers
 *     ws.on('price_update', (data) => {
 *         console.log('Price update:', data);
 *     });
 *
 *     ws.on('pattern_alert', (data) => {
 *         console.log('Pattern detected:', data);
 *     });
 *
 *     // Efficient DOM updates
 *     const priceElement = document.getElementById('aapl-price');
 *     ws.updateElementIfChanged(priceElement, 150.25, val => `$${val.toFixed(2)}`);
 *
 *     // Get statistics
 *     const stats = ws.getStats();
 *     console.log('WebSocket stats:', stats);
 *
 *     // Disconnect
 *     ws.disconnect();
 *
 * Options (the seed's, with its defaults): url (ws(s)://<page host>/api/ws),
 * userId, reconnectDelay 1000, maxReconnectDelay 30000,
 * reconnectBackoffMultiplier 1.5, heartbeatInterval 30000,
 * maxMessagesPerSecond 10, batchUpdateDelay 100, maxQueueSize 1000; and ours:
 * token, tokenProvider, WebSocket (as for RtgClient). Methods: connect(),
 * subscribe(channel, ticker) / unsubscribe(channel, ticker) (sending
 * {"type":"subscribe","channel":"ticker","ticker":"AAPL"}), on(type, handler)
 * / off(), updateElementIfChanged(element, value, formatter), getStats() (the
 * seed's "Frontend Statistics" fields), clearCache(), disconnect(). Server
 * messages reach the handlers in order through a queue drained at most
 * maxMessagesPerSecond a second (at most maxQueueSize held, the oldest
 * dropped and counted in droppedMessages); the DOM is written only when a
 * formatted value changed, in one animation frame per batchUpdateDelay. A
 * page whose seed scripts are classic scripts makes the class global first:
 * `<script type="module">import { WebSocketClient } from '/rtg-client.js';
 * window.WebSocketClient = WebSocketClient;</script>` (module scripts run
 * before DOMContentLoaded).
 */

/** Channel names the adapter knows (docs/protocol.md, "Subscribing"). */
const CHANNELS = new Set([
	'market_data',
	'notifications',
	'system',
	'patterns',
	'alerts',
	'market_status',
	'credit_updates',
	'transactions',
	'balance',
	'calculations',
	'ticker'
]);

/** Close code of the adapter for a missing, invalid or expired token. */
const CLOSE_AUTH = 4001;

/** What to do when no WebSocket implementation can be found. */
const NO_WEBSOCKET =
	"no WebSocket implementation: Node before 22 needs the 'ws' package (npm install ws), " +
	'or pass one as options.WebSocket';

/** Whether this runs in Node (or a runtime that says it is Node): where `ws` may be imported. */
const inNode = () => typeof globalThis.process === 'object' && !!globalThis.process?.versions?.node;

/**
 * The optional peer `ws`, imported once for every client. The specifier is a
 * variable, and bundlers are told to leave the import alone, so a browser
 * bundle neither contains `ws` nor needs it installed: browsers never get here.
 * Resolves to its WebSocket class, or null when it is not installed.
 */
let wsImport = null;
function importWs() {
	const name = 'ws';
	if (!wsImport) {
		wsImport = import(/* webpackIgnore: true */ /* @vite-ignore */ name).then(
			(mod) => mod.WebSocket || (mod.default && mod.default.WebSocket) || mod.default || null,
			() => null
		);
	}
	return wsImport;
}

/** Runs of seq in one replay request, at most (the adapter's limit). */
const MAX_REPLAY_RUNS = 64;

/** Largest "since" sent (the adapter's default max_message_size is 64 KiB). */
const MAX_SINCE_BYTES = 32768;

/**
 * Whether an MQTT topic matches a topic filter ('+' one level, '#' the rest).
 * @param {string} filter
 * @param {string} topic
 * @returns {boolean}
 */
export function topicMatches(filter, topic) {
	const f = filter.split('/');
	const t = topic.split('/');

	if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
	for (let i = 0; i < f.length; i++) {
		if (f[i] === '#') return true;
		if (i >= t.length) return false;
		if (f[i] !== '+' && f[i] !== t[i]) return false;
	}
	return f.length === t.length;
}

/**
 * The MQTT filters a subscribe message stands for, as the adapter resolves
 * them (docs/protocol.md). `me` is the user id from the greeting.
 * @param {object} msg a subscribe message (any form)
 * @param {string} me
 * @returns {string[]}
 */
export function filtersOf(msg, me) {
	const channel = (name) => {
		switch (name) {
			case 'market_data':
				return ['market/+'];
			case 'notifications':
				return [`user/${me}/notifications`];
			case 'system':
				return ['system/announcements', 'system/stats'];
			case 'patterns':
				return ['market/patterns/+'];
			case 'alerts':
				return [`user/${me}/alerts`];
			case 'market_status':
				return ['market/status'];
			case 'credit_updates':
				return [`user/${me}/credit`];
			case 'transactions':
				return [`user/${me}/transactions`];
			case 'balance':
				return [`user/${me}/balance`];
			case 'calculations':
				return ['calc/+/progress'];
			case 'ticker':
				return msg.ticker ? [`market/${msg.ticker}`] : [];
			default:
				return [];
		}
	};
	if (typeof msg.topic === 'string') return [msg.topic];
	if (msg.channel || msg.subscription) return channel(msg.channel || msg.subscription);
	if (msg.symbol || msg.ticker) return [`market/${msg.symbol || msg.ticker}`];
	if (msg.room) {
		return CHANNELS.has(msg.room) && msg.room !== 'ticker' ? channel(msg.room) : [`rooms/${msg.room}`];
	}
	if (Array.isArray(msg.types)) return [`user/${me}/notifications`];
	return [];
}

/**
 * Turns the arguments of subscribe()/unsubscribe() into one subscription
 * description: the message members naming it, its key and its label.
 * @param {string|object} target
 * @param {string|object} [extra]
 * @returns {{fields: object, key: string, label: string, kind: string}}
 */
function describe(target, extra) {
	let fields;

	if (typeof target === 'string') {
		if (typeof extra === 'string') {
			// seed 003: subscribe('ticker', 'AAPL'), also ('symbol', 'NIFTY'), ('room', 'lobby'), ('topic', 'x/y')
			if (target === 'ticker') fields = { channel: 'ticker', ticker: extra };
			else if (['symbol', 'room', 'topic', 'channel', 'subscription'].includes(target)) fields = { [target]: extra };
			else fields = { channel: target };
			extra = undefined;
		} else if (CHANNELS.has(target)) {
			fields = { channel: target };
		} else {
			fields = { topic: target };
		}
	} else if (target && typeof target === 'object') {
		fields = { ...target };
		delete fields.type;
	} else {
		throw new TypeError('subscribe needs a topic filter, a channel name or an object');
	}
	if (extra && typeof extra === 'object') Object.assign(fields, extra);
	delete fields.since;

	if (typeof fields.topic === 'string') return { fields, kind: 'subscribe', key: `topic:${fields.topic}`, label: fields.topic };
	const ch = fields.channel || fields.subscription;
	if (ch === 'ticker' || (!ch && fields.ticker && !fields.symbol)) {
		if (!fields.ticker) throw new TypeError("channel 'ticker' needs a ticker");
		return { fields, kind: 'subscribe', key: `ticker:${fields.ticker}`, label: `ticker:${fields.ticker}` };
	}
	if (ch) return { fields, kind: 'subscribe', key: `channel:${ch}`, label: ch };
	if (fields.symbol) return { fields, kind: 'symbol', key: `symbol:${fields.symbol}`, label: `symbol:${fields.symbol}` };
	if (fields.room) return { fields, kind: 'room', key: `room:${fields.room}`, label: `room:${fields.room}` };
	if (Array.isArray(fields.types)) {
		const types = fields.types.join(',');
		return { fields, kind: 'notifications', key: `notifications:${types}`, label: `notifications:${types}` };
	}
	throw new TypeError(`cannot tell what to subscribe from ${JSON.stringify(target)}`);
}

/** The message types of each kind of subscription: [subscribe, unsubscribe]. */
const KIND_TYPES = {
	subscribe: ['subscribe', 'unsubscribe'],
	symbol: ['subscribe_symbol', 'unsubscribe_symbol'],
	room: ['join_room', 'leave_room'],
	notifications: ['subscribe_notifications', 'unsubscribe_notifications']
};

/**
 * @typedef {object} ReconnectOptions
 * @property {number} [initialMs=1000] first delay
 * @property {number} [factor=1.5] growth of the delay per failed attempt
 * @property {number} [maxMs=30000] longest delay (before jitter)
 * @property {number} [jitter=0.2] each delay is scattered by +/- this fraction
 * @property {boolean} [enabled=true] false: never reconnect by itself
 */

/**
 * @typedef {object} RtgClientOptions
 * @property {string} [url] WebSocket URL; default ws(s)://<page host>/ws
 * @property {string} [token] the JWT, sent as ?token=
 * @property {() => (string|Promise<string>)} [tokenProvider] gives a fresh token
 *   on auth_expiring and after a 4001 close
 * @property {number} [heartbeatMs=30000] ping interval; 0 disables the heartbeat
 * @property {ReconnectOptions} [reconnect]
 * @property {number} [maxQueue=100] messages kept while disconnected
 * @property {number} [connectTimeoutMs=10000] time for the socket to open and greet
 * @property {number} [requestTimeoutMs=15000] time for calculate() to be accepted
 * @property {typeof WebSocket} [WebSocket] implementation; default globalThis.WebSocket, else
 *   (Node 20, 21) the package `ws`
 */

/**
 * @typedef {object} RtgStats
 * @property {boolean} connected greeted by the server and usable
 * @property {boolean} reconnecting waiting to (or trying to) reconnect
 * @property {number} reconnectAttempts attempts since the last success
 * @property {number} messagesReceived
 * @property {number} messagesSent
 * @property {number} reconnects successful reconnections
 * @property {number} errors server errors and client-side failures
 * @property {string|null} lastMessageTime ISO time of the last message received
 * @property {string[]} subscriptions labels, e.g. "ticker:AAPL", "market/+", "notifications"
 * @property {number} gaps resubscriptions that could not recover what was missed, and gap notices
 * @property {number} recovered resubscriptions that recovered everything missed, and replays
 * @property {number} duplicates messages dropped as already delivered
 * @property {number} queueSize messages waiting for a connection
 * @property {number} queueDropped messages dropped because the queue was full
 * @property {string} state connecting | connected | reconnecting | closed | idle
 * @property {string|null} connectionId
 * @property {string|null} userId
 */

/**
 * Handlers by message type ('*': every type), shared by both clients below.
 * One faulty handler never stops the others or the client.
 * @private
 */
class Handlers {
	constructor() {
		this._map = new Map();
	}

	on(type, fn) {
		if (!this._map.has(type)) this._map.set(type, new Set());
		this._map.get(type).add(fn);
		return () => this.off(type, fn);
	}

	off(type, fn) {
		const set = this._map.get(type);
		if (set) set.delete(fn);
	}

	/** Whether anyone listens to type (directly or with '*'). */
	has(type) {
		return [type, '*'].some((key) => (this._map.get(key)?.size ?? 0) > 0);
	}

	/** Calls the handlers of type, then those of '*', with msg; returns how many threw. */
	emit(type, msg) {
		let failed = 0;
		for (const key of [type, '*']) {
			const set = this._map.get(key);
			if (!set) continue;
			for (const fn of [...set]) {
				try {
					fn(msg);
				} catch (err) {
					failed++;
					console.error(`rtg-client: a '${key}' handler failed:`, err);
				}
			}
		}
		return failed;
	}
}

/** A reconnecting client of the gateway's WebSocket protocol. */
export class RtgClient {
	/** @param {RtgClientOptions} [options] */
	constructor(options = {}) {
		const rc = options.reconnect || {};
		this.options = {
			url: options.url || RtgClient.defaultUrl(),
			heartbeatMs: options.heartbeatMs ?? 30000,
			maxQueue: options.maxQueue ?? 100,
			connectTimeoutMs: options.connectTimeoutMs ?? 10000,
			requestTimeoutMs: options.requestTimeoutMs ?? 15000,
			reconnect: {
				enabled: rc.enabled ?? true,
				initialMs: rc.initialMs ?? 1000,
				factor: rc.factor ?? 1.5,
				maxMs: rc.maxMs ?? 30000,
				jitter: rc.jitter ?? 0.2
			}
		};
		/** @type {string|undefined} */
		this.token = options.token;
		this.tokenProvider = options.tokenProvider;
		this._WebSocket = options.WebSocket || globalThis.WebSocket;
		this._handlers = new Handlers();
		/** key -> {fields, kind, key, label} */
		this._subs = new Map();
		/** topic -> {epoch, seq}: the last message delivered */
		this._positions = new Map();
		this._gapRuns = new Map(); // JSON [topic, epoch] -> [[from, to], ...] to ask back
		this._replayInFlight = false;
		this._queue = [];
		this._pendingCalcs = new Map();
		this._pendingPings = [];
		this._ws = null;
		this._state = 'idle';
		this._everConnected = false;
		this._importing = false; // importing `ws` (Node 20, 21)
		this._timers = { reconnect: null, heartbeat: null, connect: null };
		this._awaitingPong = false;
		this.connectionId = null;
		this.userId = null;
		this.expiresAt = null;
		this._stats = {
			messagesReceived: 0,
			messagesSent: 0,
			reconnects: 0,
			reconnectAttempts: 0,
			errors: 0,
			gaps: 0,
			recovered: 0,
			duplicates: 0,
			queueDropped: 0,
			lastMessageTime: null
		};
		if (typeof globalThis.addEventListener === 'function') {
			// back online: do not wait for the backoff timer
			globalThis.addEventListener('online', () => {
				if (this._state === 'reconnecting' && this._timers.reconnect) {
					clearTimeout(this._timers.reconnect);
					this._timers.reconnect = null;
					this._open();
				}
			});
		}
	}

	/** ws(s)://<this page's host>/ws, or ws://127.0.0.1:8000/ws outside a browser. */
	static defaultUrl() {
		const loc = globalThis.location;
		if (loc && loc.host) return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
		return 'ws://127.0.0.1:8000/ws';
	}

	/** @returns {string} connecting | connected | reconnecting | closed | idle */
	get state() {
		return this._state;
	}

	/** @returns {boolean} greeted by the server and usable */
	get connected() {
		return this._state === 'connected';
	}

	// ---- events ------------------------------------------------------------------------

	/**
	 * Calls fn(message) for each event of this type ('*': every event).
	 * @param {string} type
	 * @param {(msg: object) => void} fn
	 * @returns {() => void} a function that removes the handler
	 */
	on(type, fn) {
		return this._handlers.on(type, fn);
	}

	/**
	 * Removes a handler added with on().
	 * @param {string} type
	 * @param {(msg: object) => void} fn
	 */
	off(type, fn) {
		this._handlers.off(type, fn);
	}

	/** @private */
	_emit(type, msg) {
		this._handlers.emit(type, msg);
	}

	/** @private */
	_fail(message, extra = {}) {
		this._stats.errors++;
		this._emit('error', { type: 'error', source: 'client', message, ...extra });
	}

	/** @private */
	_setState(state) {
		if (this._state === state) return;
		this._state = state;
		this._emit('state', { type: 'state', state });
	}

	// ---- connecting ----------------------------------------------------------------------

	/** Connects (again); harmless while already connecting or connected. */
	connect() {
		if (this._ws || this._timers.reconnect) return;
		this._stats.reconnectAttempts = 0;
		if (!this._WebSocket) {
			if (!inNode()) throw new Error(NO_WEBSOCKET);
			this._importThenOpen();
			return;
		}
		this._open('connecting');
	}

	/**
	 * Node without a global WebSocket: imports `ws` (once), then opens, unless
	 * close() came first. Without it: an 'error' event naming the fix (written
	 * to the console when nobody listens), and the state 'closed'.
	 * @private
	 */
	_importThenOpen() {
		this._setState('connecting');
		if (this._importing) return;
		this._importing = true;
		importWs().then((WebSocket) => {
			this._importing = false;
			if (this._state !== 'connecting' || this._ws) return;
			if (!WebSocket) {
				if (!this._handlers.has('error')) console.error(`rtg-client: ${NO_WEBSOCKET}`);
				this._fail(NO_WEBSOCKET);
				this._setState('closed');
				return;
			}
			this._WebSocket = WebSocket;
			this._open('connecting');
		});
	}

	/**
	 * Closes the connection for good (until connect() is called again).
	 * @param {number} [code=1000]
	 * @param {string} [reason]
	 */
	close(code = 1000, reason = 'client closed') {
		this._clearTimers();
		const ws = this._ws;
		this._ws = null;
		this._setState('closed');
		if (ws) {
			this._detach(ws);
			try {
				ws.close(code, reason);
			} catch {
				/* already closing */
			}
			this._emit('close', { type: 'close', code, reason, wasClean: true, byClient: true });
		}
	}

	/**
	 * Drops the connection as if it had been lost: reconnects after the backoff
	 * delay and resumes every subscription where it left off. (Connects if idle
	 * or closed.)
	 */
	reconnect() {
		const ws = this._ws;
		if (!ws) {
			if (this._state === 'idle' || this._state === 'closed') this.connect();
			return;
		}
		this._detach(ws);
		try {
			ws.close(4000, 'client reconnects');
		} catch {
			/* already closing */
		}
		this._onClose(4000, 'client reconnects', true);
	}

	/** The URL with the token as ?token= (never logged by the client). @private */
	_urlWithToken() {
		if (!this.token) return this.options.url;
		const u = new URL(this.options.url, globalThis.location ? globalThis.location.href : undefined);
		u.searchParams.set('token', this.token);
		return u.toString();
	}

	/**
	 * Opens a socket; the state stays 'reconnecting' during a reconnect attempt.
	 * @param {string} [state]
	 * @private
	 */
	_open(state) {
		this._timers.reconnect = null;
		if (state) this._setState(state);
		let ws;
		try {
			ws = new this._WebSocket(this._urlWithToken());
		} catch (err) {
			this._fail(`cannot open the WebSocket: ${err.message}`);
			this._scheduleReconnect();
			return;
		}
		this._ws = ws;
		this._greeted = false;
		ws.onopen = () => this._emit('open', { type: 'open', url: this.options.url });
		ws.onmessage = (ev) => this._onMessage(ev.data);
		ws.onerror = () => {
			/* a close event always follows; it decides what to do */
		};
		ws.onclose = (ev) => this._onClose(ev.code, ev.reason, ev.wasClean);
		this._timers.connect = setTimeout(() => {
			if (this._ws === ws && !this._greeted) this._drop(ws, 4000, 'no greeting from the server in time');
		}, this.options.connectTimeoutMs);
	}

	/** @private */
	_detach(ws) {
		ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
	}

	/**
	 * Gives up on a socket that is not answering: does not wait for a closing
	 * handshake a dead peer will never complete.
	 * @private
	 */
	_drop(ws, code, reason) {
		this._detach(ws);
		try {
			ws.close(code, reason);
		} catch {
			/* already closing */
		}
		this._fail(reason);
		this._onClose(code, reason, false);
	}

	/** @private */
	_onClose(code, reason, wasClean) {
		this._ws = null;
		this._greeted = false;
		this._stopHeartbeat();
		clearTimeout(this._timers.connect);
		this._timers.connect = null;
		this._emit('close', { type: 'close', code, reason, wasClean: !!wasClean });
		if (this._state === 'closed') return;
		if (code === CLOSE_AUTH) {
			if (!this.tokenProvider) {
				this._fail(`authentication failed: ${reason || 'invalid token'}`, { code });
				this._setState('closed');
				return;
			}
			Promise.resolve()
				.then(() => this.tokenProvider())
				.then((tok) => {
					if (tok) this.token = tok;
				})
				.catch((err) => this._fail(`tokenProvider failed: ${err && err.message}`))
				.finally(() => this._scheduleReconnect());
			return;
		}
		this._scheduleReconnect();
	}

	/**
	 * The delay before reconnect attempt n (1, 2, ...): initialMs * factor^(n-1),
	 * at most maxMs, scattered by +/- jitter.
	 * @param {number} attempt
	 * @returns {number} milliseconds
	 */
	backoffDelay(attempt) {
		const r = this.options.reconnect;
		const base = Math.min(r.maxMs, r.initialMs * Math.pow(r.factor, Math.max(0, attempt - 1)));
		return Math.max(0, Math.round(base * (1 + r.jitter * (2 * Math.random() - 1))));
	}

	/** @private */
	_scheduleReconnect() {
		if (this._state === 'closed') return;
		if (!this.options.reconnect.enabled) {
			this._setState('closed');
			return;
		}
		const attempt = ++this._stats.reconnectAttempts;
		const delayMs = this.backoffDelay(attempt);
		this._setState('reconnecting');
		this._emit('reconnecting', { type: 'reconnecting', attempt, delayMs });
		clearTimeout(this._timers.reconnect);
		this._timers.reconnect = setTimeout(() => this._open(), delayMs);
	}

	/** @private */
	_clearTimers() {
		clearTimeout(this._timers.reconnect);
		clearTimeout(this._timers.connect);
		this._timers.reconnect = this._timers.connect = null;
		this._stopHeartbeat();
	}

	// ---- heartbeat -------------------------------------------------------------------------

	/** @private */
	_startHeartbeat() {
		this._stopHeartbeat();
		this._awaitingPong = false;
		if (!this.options.heartbeatMs) return;
		this._timers.heartbeat = setInterval(() => {
			const ws = this._ws;
			if (!ws) return;
			if (this._awaitingPong) {
				this._drop(ws, 4000, `no pong within ${this.options.heartbeatMs} ms: connection dead`);
				return;
			}
			this._awaitingPong = true;
			this._sendNow({ type: 'ping' });
		}, this.options.heartbeatMs);
	}

	/** @private */
	_stopHeartbeat() {
		clearInterval(this._timers.heartbeat);
		this._timers.heartbeat = null;
	}

	// ---- receiving ---------------------------------------------------------------------------

	/** @private */
	_onMessage(data) {
		let msg;
		this._stats.messagesReceived++;
		this._stats.lastMessageTime = new Date().toISOString();
		try {
			msg = JSON.parse(typeof data === 'string' ? data : String(data));
		} catch {
			this._fail('the server sent a message that is not JSON');
			return;
		}
		if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
			this._fail('the server sent a message without a type');
			return;
		}
		if (!this._greeted) this._onGreeting(msg);

		switch (msg.type) {
			case 'pong':
				this._awaitingPong = false;
				for (const p of this._pendingPings.splice(0)) p.resolve(Date.now() - p.sent);
				break;
			case 'subscription':
				this._onSubscription(msg);
				break;
			case 'history':
				msg = this._filterHistory(msg);
				break;
			case 'gap':
				this._onGap(msg);
				break;
			case 'calculation_accepted': {
				const p = this._pendingCalcs.get(msg.calculation_id);
				if (p) {
					clearTimeout(p.timer);
					this._pendingCalcs.delete(msg.calculation_id);
					p.resolve(msg.calculation_id);
				}
				break;
			}
			case 'error':
				this._stats.errors++;
				this._onServerError(msg);
				break;
			case 'auth_expiring':
				this._onAuthExpiring(msg);
				break;
			case 'auth':
				if (msg.expires_at) this.expiresAt = msg.expires_at;
				break;
			default:
				if (typeof msg.topic === 'string' && msg.epoch !== undefined && typeof msg.seq === 'number') {
					if (!this._track(msg)) {
						this._stats.duplicates++;
						return;
					}
				}
		}
		this._emit(msg.type, msg);
	}

	/**
	 * The first message: the greeting. Subscribes everything again, then sends
	 * what was queued.
	 * @private
	 */
	_onGreeting(msg) {
		this._greeted = true;
		clearTimeout(this._timers.connect);
		this._timers.connect = null;
		if (msg.type === 'connection') {
			this.connectionId = msg.connection_id ?? null;
			this.userId = msg.user_id ?? null;
			this.expiresAt = msg.expires_at ?? null;
		}
		if (this._everConnected) this._stats.reconnects++;
		// a replay asked on the last connection gets no answer; what it missed, "since" recovers
		this._replayInFlight = false;
		this._gapRuns.clear();
		this._everConnected = true;
		this._stats.reconnectAttempts = 0;
		this._setState('connected');
		this._startHeartbeat();
		for (const sub of this._subs.values()) this._sendSubscribe(sub, true);
		const queued = this._queue.splice(0);
		for (const m of queued) this._sendNow(m);
	}

	/** Records the position of a message; false if it was delivered already. @private */
	_track(msg) {
		const p = this._positions.get(msg.topic);
		if (p && p.epoch === msg.epoch && msg.seq <= p.seq) return false;
		this._positions.set(msg.topic, { epoch: msg.epoch, seq: msg.seq });
		return true;
	}

	/**
	 * The server dropped messages of a topic because this client fell behind
	 * (a gap notice: topic, epoch, from, to, fillable). When it still holds
	 * them, asks for exactly those runs: the notices of one burst arrive
	 * together, so the runs of a topic noted before the next turn of the event
	 * loop go in one request. They come back in a "history" with "replay":
	 * true, "from" and "to", after the newer messages already on their way
	 * (each message has its seq). The notice itself is emitted as 'gap'.
	 * @private
	 */
	_onGap(msg) {
		this._stats.gaps++;
		if (msg.fillable !== true || typeof msg.topic !== 'string') return;
		const key = JSON.stringify([msg.topic, msg.epoch]);
		const runs = this._gapRuns.get(key) ?? [];
		runs.push([msg.from, msg.to]);
		this._gapRuns.set(key, runs);
		if (!this._replayInFlight) setTimeout(() => this._askReplays(), 0);
	}

	/**
	 * Asks for the runs _onGap noted of one topic (at most MAX_REPLAY_RUNS),
	 * unless a request is awaiting its answer: one at a time, so a client far
	 * behind asks for many runs at once rather than running into the server's
	 * rate limit. The answer (or an error) lets the next go.
	 * @private
	 */
	_askReplays() {
		if (this._replayInFlight) return;
		for (const [key, runs] of this._gapRuns) {
			const [topic, epoch] = JSON.parse(key);
			const ask = runs.splice(0, MAX_REPLAY_RUNS);
			if (!runs.length) this._gapRuns.delete(key);
			this._replayInFlight = this._sendNow({ type: 'replay', topic, epoch, runs: ask });
			return;
		}
	}

	/** A replay request was answered or refused: the next may go. @private */
	_replayAnswered() {
		this._replayInFlight = false;
		if (this._gapRuns.size) this._askReplays();
	}

	/** Drops from a history what was delivered already; tracks the rest. @private */
	_filterHistory(msg) {
		if (!Array.isArray(msg.messages)) return msg;
		if (msg.replay === true && typeof msg.from === 'number') {
			// the answer to _onGap's replay: exactly what was missed, never seen before
			this._stats.recovered++;
			this._replayAnswered();
			this._emit('recovered', { type: 'recovered', topic: msg.topic, from: msg.from, to: msg.to });
			return msg;
		}
		const fresh = [];
		for (const m of msg.messages) {
			if (m && typeof m.topic === 'string' && m.epoch !== undefined && typeof m.seq === 'number' && !this._track(m)) {
				this._stats.duplicates++;
				continue;
			}
			fresh.push(m);
		}
		if (fresh.length === msg.messages.length) return msg;
		return { ...msg, messages: fresh, skipped: msg.messages.length - fresh.length };
	}

	/** @private */
	_onSubscription(msg) {
		if (msg.recovered === true) {
			this._stats.recovered++;
			this._emit('recovered', { type: 'recovered', topic: msg.topic, channel: msg.channel });
		} else if (msg.recovered === false) {
			this._stats.gaps++;
			this._emit('gap', { type: 'gap', topic: msg.topic, channel: msg.channel });
		}
		if (msg.action === 'unsubscribed' && msg.reason) {
			// the server ended it (an ACL reload took the right away): forget it
			for (const [key, sub] of this._subs) {
				const filters = filtersOf(sub.fields, this.userId);
				if (filters.length === 1 && filters[0] === msg.topic) this._subs.delete(key);
			}
		}
	}

	/** @private */
	_onServerError(msg) {
		const text = String(msg.message || '');
		if (this._replayInFlight && /^(replay|rate limit)/.test(text)) this._replayAnswered();
		if (/calculat/i.test(text) && this._pendingCalcs.size) {
			const [id, p] = this._pendingCalcs.entries().next().value;
			clearTimeout(p.timer);
			this._pendingCalcs.delete(id);
			p.reject(new Error(text));
		}
	}

	/** @private */
	_onAuthExpiring() {
		if (!this.tokenProvider) return;
		Promise.resolve()
			.then(() => this.tokenProvider())
			.then((tok) => {
				if (tok) this.refreshToken(tok);
			})
			.catch((err) => this._fail(`tokenProvider failed: ${err && err.message}`));
	}

	// ---- sending -------------------------------------------------------------------------------

	/** @private */
	_sendNow(msg) {
		const ws = this._ws;
		if (!ws || !this._greeted || ws.readyState !== 1) return false;
		try {
			ws.send(JSON.stringify(msg));
		} catch (err) {
			this._fail(`send failed: ${err.message}`);
			return false;
		}
		this._stats.messagesSent++;
		return true;
	}

	/**
	 * Sends any protocol message; while disconnected it is queued (at most
	 * maxQueue messages, the oldest dropped first) and sent after the next
	 * greeting.
	 * @param {object} msg a JSON object with a string "type"
	 * @returns {boolean} true if it went out now, false if it was queued
	 */
	send(msg) {
		if (this._sendNow(msg)) return true;
		this._queue.push(msg);
		while (this._queue.length > this.options.maxQueue) {
			this._queue.shift();
			this._stats.queueDropped++;
		}
		return false;
	}

	/**
	 * "since" for a subscription: where this client left off in its topics.
	 * {epoch, seq} for one filter without wildcards, else {topic: {epoch, seq}}
	 * for every topic seen that one of its filters matches. Undefined if none.
	 * @private
	 */
	_sinceFor(sub) {
		const filters = filtersOf(sub.fields, this.userId);
		if (!filters.length) return undefined;
		if (filters.length === 1 && !/[+#]/.test(filters[0])) {
			const p = this._positions.get(filters[0]);
			return p ? { epoch: p.epoch, seq: p.seq } : undefined;
		}
		const map = {};
		let n = 0;
		for (const [topic, p] of this._positions) {
			if (filters.some((f) => topicMatches(f, topic))) {
				map[topic] = { epoch: p.epoch, seq: p.seq };
				n++;
			}
		}
		return n ? map : undefined;
	}

	/** @private */
	_sendSubscribe(sub, resume) {
		const msg = { type: KIND_TYPES[sub.kind][0], ...sub.fields };
		if (resume) {
			const since = this._sinceFor(sub);
			// a huge per-topic map could exceed the server's message size limit:
			// then ask for the full history instead (the answer has no "recovered")
			if (since && JSON.stringify(since).length <= MAX_SINCE_BYTES) msg.since = since;
		}
		return this._sendNow(msg);
	}

	/**
	 * Subscribes, now or as soon as connected, and again after every reconnect.
	 *
	 *   subscribe('market/+')                      a topic filter
	 *   subscribe('notifications')                 a channel name
	 *   subscribe('ticker', 'AAPL')                seed 003
	 *   subscribe({channel: 'ticker', ticker: 'AAPL'})
	 *   subscribe({symbol: 'NIFTY'})               subscribe_symbol
	 *   subscribe({room: 'lobby'})                 join_room
	 *   subscribe({subscription: 'credit_updates'})
	 *   subscribe({types: ['transaction']})        subscribe_notifications
	 *   subscribe('market/+', {policy: 'queue'})   with options
	 *
	 * A string that is a channel name means the channel; for a topic of that
	 * name use {topic: name}.
	 * @param {string|object} target
	 * @param {string|object} [extra] a ticker (seed 003 form) or more members (policy)
	 * @returns {string} the subscription's label (as in getStats().subscriptions)
	 */
	subscribe(target, extra) {
		const sub = describe(target, extra);
		this._subs.set(sub.key, sub);
		this._sendSubscribe(sub, false);
		return sub.label;
	}

	/**
	 * Ends a subscription made with subscribe() (same arguments).
	 * @param {string|object} target
	 * @param {string|object} [extra]
	 * @returns {boolean} whether it was subscribed
	 */
	unsubscribe(target, extra) {
		const sub = describe(target, extra);
		const had = this._subs.delete(sub.key);
		this._sendNow({ type: KIND_TYPES[sub.kind][1], ...sub.fields });
		// forget positions no remaining subscription covers
		const filters = [...this._subs.values()].flatMap((s) => filtersOf(s.fields, this.userId));
		for (const topic of [...this._positions.keys()]) {
			if (!filters.some((f) => topicMatches(f, topic))) this._positions.delete(topic);
		}
		return had;
	}

	/**
	 * Publishes where the ACL lets this user write (rooms/lobby, or anything for ops).
	 * @param {string} topic
	 * @param {*} payload an object (sent as JSON) or a string (sent as its bytes)
	 * @param {boolean} [retain=false]
	 * @returns {boolean} sent now (true) or queued (false)
	 */
	publish(topic, payload, retain = false) {
		return this.send({ type: 'publish', topic, payload, retain: !!retain });
	}

	/**
	 * Starts a calculation; its progress arrives as 'calculation_update' events.
	 * @param {string} type npv, irr, roi, payback_period, loan_amortization, credit_score, ...
	 * @param {object} [parameters]
	 * @param {string} [id] calculation_id; generated when absent
	 * @returns {Promise<string>} the calculation_id, once the server accepted it
	 */
	calculate(type, parameters = {}, id) {
		const calculationId = id || `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this._pendingCalcs.delete(calculationId);
				reject(new Error(`calculation ${calculationId} was not accepted in time`));
			}, this.options.requestTimeoutMs);
			this._pendingCalcs.set(calculationId, { resolve, reject, timer });
			this.send({ type: 'calculate', calculation_id: calculationId, calculation_type: type, parameters });
		});
	}

	/**
	 * Replaces the token: in band on the live connection ({"type":"auth"}) and
	 * for every later reconnect.
	 * @param {string} token
	 */
	refreshToken(token) {
		this.token = token;
		this._sendNow({ type: 'auth', token });
	}

	/**
	 * Sends a ping now.
	 * @returns {Promise<number>} the round trip in ms, when the pong comes
	 */
	ping() {
		return new Promise((resolve, reject) => {
			if (!this._sendNow({ type: 'ping' })) {
				reject(new Error('not connected'));
				return;
			}
			this._pendingPings.push({ resolve, sent: Date.now() });
		});
	}

	/** @returns {RtgStats} */
	getStats() {
		const s = this._stats;
		return {
			connected: this._state === 'connected',
			reconnecting: this._state === 'reconnecting',
			reconnectAttempts: s.reconnectAttempts,
			messagesReceived: s.messagesReceived,
			messagesSent: s.messagesSent,
			reconnects: s.reconnects,
			errors: s.errors,
			lastMessageTime: s.lastMessageTime,
			subscriptions: [...this._subs.values()].map((sub) => sub.label),
			gaps: s.gaps,
			recovered: s.recovered,
			duplicates: s.duplicates,
			queueSize: this._queue.length,
			queueDropped: s.queueDropped,
			state: this._state,
			connectionId: this.connectionId,
			userId: this.userId
		};
	}
}

// ==== WebSocketClient: seed 003's client API on top of RtgClient ===================================

/** Events RtgClient raises itself rather than receives: passed on at once, never queued. */
const CLIENT_EVENTS = new Set(['open', 'close', 'reconnecting', 'state', 'recovered', 'gap']);

/** A clock for the throttle that does not jump with the wall clock where there is one. */
const now = () => (globalThis.performance && typeof performance.now === 'function' ? performance.now() : Date.now());

/**
 * @typedef {object} WebSocketClientOptions
 * @property {string} [url] default ws(s)://<page host>/api/ws (ws://127.0.0.1:8000/api/ws outside a browser)
 * @property {string} [userId] the application's idea of the user; the gateway knows the user
 *   from the token (see WebSocketClient#userId)
 * @property {number} [reconnectDelay=1000] first reconnect delay (ms)
 * @property {number} [maxReconnectDelay=30000] longest reconnect delay (ms)
 * @property {number} [reconnectBackoffMultiplier=1.5] growth of the delay per failed attempt
 * @property {number} [heartbeatInterval=30000] {"type":"ping"} every this many ms; 0: none
 * @property {number} [maxMessagesPerSecond=10] handlers get at most this many server
 *   messages per second; 0 or Infinity: no throttle
 * @property {number} [batchUpdateDelay=100] DOM writes of updateElementIfChanged() are
 *   gathered for this long (ms), then applied in one animation frame
 * @property {number} [maxQueueSize=1000] server messages held for the throttle; the
 *   oldest are dropped beyond it (counted: droppedMessages)
 * @property {string} [token] ours: the JWT (sent as ?token=)
 * @property {() => (string|Promise<string>)} [tokenProvider] ours: a fresh token on
 *   auth_expiring and after a 4001 close
 * @property {typeof WebSocket} [WebSocket] ours: the implementation (Node)
 */

/**
 * @typedef {object} WebSocketClientStats  (the seed's "Frontend Statistics", field for field)
 * @property {boolean} connected
 * @property {boolean} reconnecting
 * @property {number} reconnectAttempts failed attempts since the last success
 * @property {number} messagesReceived
 * @property {number} messagesSent
 * @property {number} updatesApplied DOM writes made by updateElementIfChanged()
 * @property {number} reconnects successful reconnections
 * @property {number} errors server errors, client failures and handlers that threw
 * @property {string|null} lastMessageTime ISO time of the last message received
 * @property {string[]} subscriptions "ticker:AAPL", "patterns", "alerts", ...
 * @property {number} queueSize server messages waiting for the throttle
 * @property {number} pendingUpdates elements with a DOM write waiting for the next batch
 * @property {number} cacheSize elements whose last written text is remembered
 */

/**
 * Seed 003's WebSocketClient: the trading dashboard's client, with its exact
 * API, talking to the gateway. The connection, reconnects with backoff,
 * heartbeat, resubscription with "since" recovery and de-duplication are
 * RtgClient's (this.client); this class adds what the seed's dashboard
 * relies on: the throttled message queue, batched change-only DOM updates
 * and the seed's statistics.
 */
export class WebSocketClient {
	/** @param {WebSocketClientOptions} [options] */
	constructor(options = {}) {
		this.options = {
			url: options.url || WebSocketClient.defaultUrl(),
			userId: options.userId ?? null,
			reconnectDelay: options.reconnectDelay ?? 1000,
			maxReconnectDelay: options.maxReconnectDelay ?? 30000,
			reconnectBackoffMultiplier: options.reconnectBackoffMultiplier ?? 1.5,
			heartbeatInterval: options.heartbeatInterval ?? 30000,
			maxMessagesPerSecond: options.maxMessagesPerSecond ?? 10,
			batchUpdateDelay: options.batchUpdateDelay ?? 100,
			maxQueueSize: options.maxQueueSize ?? 1000
		};
		/** The RtgClient underneath: publish(), calculate(), ping() and its own events. */
		this.client = new RtgClient({
			url: this.options.url,
			token: options.token,
			tokenProvider: options.tokenProvider,
			WebSocket: options.WebSocket,
			heartbeatMs: this.options.heartbeatInterval,
			reconnect: {
				initialMs: this.options.reconnectDelay,
				factor: this.options.reconnectBackoffMultiplier,
				maxMs: this.options.maxReconnectDelay
			}
		});
		this._handlers = new Handlers();
		/** server messages waiting for their turn, oldest first */
		this._queue = [];
		this._drainTimer = null;
		/** when the throttle lets the next message through (now() time) */
		this._nextSlot = 0;
		this._dropped = 0;
		/** element -> the text last written to it (or found in it) */
		this._cache = new Map();
		/** element -> the text to write at the next batch */
		this._pending = new Map();
		this._flushTimer = null;
		this._frame = null;
		this._updatesApplied = 0;
		this._errors = 0;
		this.client.on('*', (msg) => this._receive(msg));
	}

	/** ws(s)://<this page's host>/api/ws, or ws://127.0.0.1:8000/api/ws outside a browser. */
	static defaultUrl() {
		const loc = globalThis.location;
		if (loc && loc.host) return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/api/ws`;
		return 'ws://127.0.0.1:8000/api/ws';
	}

	/** The user: the gateway's (from the token, once greeted), else options.userId. */
	get userId() {
		return this.client.userId ?? this.options.userId;
	}

	/** Server messages dropped because the queue held maxQueueSize already. */
	get droppedMessages() {
		return this._dropped;
	}

	/** Connects; reconnects by itself after any loss until disconnect(). */
	connect() {
		this.client.connect();
	}

	/**
	 * Closes the connection and stops reconnecting (connect() starts again).
	 * Server messages still queued for the throttle are dropped; DOM updates
	 * already asked for are still applied.
	 */
	disconnect() {
		this.client.close(1000, 'client disconnect');
		clearTimeout(this._drainTimer);
		this._drainTimer = null;
		this._queue.length = 0;
	}

	/**
	 * The message members naming a subscription: {channel, ticker} as the seed
	 * sends them, or any subscribe form of the protocol given as an object.
	 * @private
	 */
	static _target(channel, ticker) {
		if (channel && typeof channel === 'object') return channel;
		if (typeof channel !== 'string' || !channel) throw new TypeError('subscribe needs a channel name');
		return ticker === undefined || ticker === null ? { channel } : { channel, ticker: String(ticker) };
	}

	/**
	 * Subscribes now, or once connected, and again after every reconnect:
	 * subscribe('ticker', 'AAPL') sends {"type":"subscribe","channel":"ticker","ticker":"AAPL"},
	 * subscribe('patterns') sends {"type":"subscribe","channel":"patterns"}.
	 * @param {string} channel ticker, patterns, alerts, market_status, market_data, ...
	 * @param {string} [ticker]
	 * @returns {string} the subscription as getStats() lists it ("ticker:AAPL", "patterns")
	 */
	subscribe(channel, ticker) {
		return this.client.subscribe(WebSocketClient._target(channel, ticker));
	}

	/**
	 * Ends a subscription: unsubscribe('ticker', 'AAPL') sends
	 * {"type":"unsubscribe","channel":"ticker","ticker":"AAPL"}.
	 * @param {string} channel
	 * @param {string} [ticker]
	 * @returns {boolean} whether it was subscribed
	 */
	unsubscribe(channel, ticker) {
		return this.client.unsubscribe(WebSocketClient._target(channel, ticker));
	}

	/**
	 * Calls handler(message) for each message of this type: price_update,
	 * pattern_alert, alert_trigger, market_status, history, subscription,
	 * connection, pong, error, ... ('*': all). Server messages come through
	 * the throttle, in order; the client's own events (open, close,
	 * reconnecting, state, recovered, gap, and errors with source 'client')
	 * come at once.
	 * @param {string} type
	 * @param {(data: object) => void} handler
	 * @returns {() => void} removes the handler
	 */
	on(type, handler) {
		return this._handlers.on(type, handler);
	}

	/**
	 * Removes a handler added with on().
	 * @param {string} type
	 * @param {(data: object) => void} handler
	 */
	off(type, handler) {
		this._handlers.off(type, handler);
	}

	/** @private */
	_dispatch(msg) {
		this._errors += this._handlers.emit(msg.type, msg);
	}

	// ---- the throttled message queue -------------------------------------------------------------

	/** @private */
	_throttled() {
		const n = this.options.maxMessagesPerSecond;
		return n > 0 && Number.isFinite(n);
	}

	/**
	 * Every message from RtgClient. Server messages go through the queue, so
	 * handlers see them in order and at most maxMessagesPerSecond a second;
	 * one that finds the queue empty and the throttle open is handled at once.
	 * @private
	 */
	_receive(msg) {
		if (CLIENT_EVENTS.has(msg.type) || (msg.type === 'error' && msg.source === 'client') || !this._throttled()) {
			this._dispatch(msg);
			return;
		}
		const t = now();
		if (!this._queue.length && this._drainTimer === null && t >= this._nextSlot) {
			this._nextSlot = t + 1000 / this.options.maxMessagesPerSecond;
			this._dispatch(msg);
			return;
		}
		this._queue.push(msg);
		while (this._queue.length > this.options.maxQueueSize) {
			this._queue.shift();
			this._dropped++;
		}
		this._scheduleDrain();
	}

	/** @private */
	_scheduleDrain() {
		if (this._drainTimer !== null || !this._queue.length) return;
		this._drainTimer = setTimeout(() => this._drain(), Math.max(0, this._nextSlot - now()));
	}

	/**
	 * Hands one queued message to the handlers. Slots are 1000 /
	 * maxMessagesPerSecond ms apart; a timer that fired late is made up for,
	 * but by no more than half a slot, so no one-second window ever sees more
	 * than maxMessagesPerSecond + 1 messages.
	 * @private
	 */
	_drain() {
		this._drainTimer = null;
		const msg = this._queue.shift();
		if (!msg) return;
		const interval = 1000 / this.options.maxMessagesPerSecond;
		this._nextSlot = Math.max(this._nextSlot + interval, now() + interval / 2);
		this._dispatch(msg);
		this._scheduleDrain();
	}

	// ---- DOM updates -------------------------------------------------------------------------------

	/**
	 * Shows formatter(value) (or String(value)) as the element's text, but only
	 * if that differs from what it shows: writes are gathered for
	 * batchUpdateDelay ms and applied together in one animation frame.
	 * @param {Element|null} element a missing element is ignored
	 * @param {*} value
	 * @param {(value: *) => string} [formatter]
	 * @returns {boolean} whether a write was scheduled (false: nothing changed)
	 */
	updateElementIfChanged(element, value, formatter) {
		if (!element) return false;
		let text;
		try {
			text = formatter ? formatter(value) : value;
		} catch (err) {
			this._errors++;
			console.error('rtg-client: an updateElementIfChanged formatter failed:', err);
			return false;
		}
		text = text === undefined || text === null ? '' : String(text);
		if (this._pending.has(element)) {
			if (this._pending.get(element) === text) return false;
			if (this._cache.get(element) === text) {
				// back to what it shows: the scheduled write would change nothing
				this._pending.delete(element);
				return false;
			}
		} else if (this._cache.has(element)) {
			if (this._cache.get(element) === text) return false;
		} else if (element.textContent === text) {
			// first seen, and it shows this already
			this._cache.set(element, text);
			return false;
		}
		this._pending.set(element, text);
		this._scheduleFlush();
		return true;
	}

	/** @private */
	_scheduleFlush() {
		if (this._flushTimer !== null || this._frame !== null) return;
		this._flushTimer = setTimeout(() => {
			this._flushTimer = null;
			if (typeof globalThis.requestAnimationFrame === 'function') {
				this._frame = globalThis.requestAnimationFrame(() => {
					this._frame = null;
					this._flush();
				});
			} else {
				this._flush();
			}
		}, this.options.batchUpdateDelay);
	}

	/**
	 * Applies the gathered writes. Elements no longer in a document leave the
	 * cache here, so it does not keep removed elements alive.
	 * @private
	 */
	_flush() {
		const batch = [...this._pending];
		this._pending.clear();
		for (const [element, text] of batch) {
			element.textContent = text;
			this._cache.set(element, text);
			this._updatesApplied++;
		}
		for (const element of [...this._cache.keys()]) {
			if (element.isConnected === false) this._cache.delete(element);
		}
	}

	/** Forgets every element's last text: the next update of each is written. */
	clearCache() {
		this._cache.clear();
	}

	/** @returns {WebSocketClientStats} */
	getStats() {
		const s = this.client.getStats();
		return {
			connected: s.connected,
			reconnecting: s.reconnecting,
			reconnectAttempts: s.reconnectAttempts,
			messagesReceived: s.messagesReceived,
			messagesSent: s.messagesSent,
			updatesApplied: this._updatesApplied,
			reconnects: s.reconnects,
			errors: s.errors + this._errors,
			lastMessageTime: s.lastMessageTime,
			subscriptions: s.subscriptions,
			queueSize: this._queue.length,
			pendingUpdates: this._pending.size,
			cacheSize: this._cache.size
		};
	}
}

export default RtgClient;
