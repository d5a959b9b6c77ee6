/**
 * rtg-client.d.ts - the types of rtg-client.js: RtgClient, seed 003's
 * WebSocketClient, the helpers, and the messages of the gateway's JSON
 * WebSocket protocol (docs/protocol.md).
 *
 * Written by hand beside the JavaScript (there is no build step); checked by
 * tests/integration/33-js-package.sh, which compiles a typed usage file
 * against it with `tsc --noEmit` and compares every declared export and
 * method with what the module really has. It needs neither the DOM library
 * nor @types/node: the WebSocket and the DOM element are described by the
 * members the client uses, so a browser's WebSocket, Node 22's and the `ws`
 * package's all fit.
 */

// ==== WebSocket implementations ===============================================================

/** The members of a WebSocket the client uses (browsers', Node 22's, `ws`'s). */
export interface WebSocketLike {
	readonly readyState: number;
	send(data: string): void;
	close(code?: number, reason?: string): void;
	// The events are `any`: the client reads ev.data of a message and ev.code,
	// ev.reason, ev.wasClean of a close, and each implementation has its own event types.
	onopen: ((ev: any) => any) | null;
	onmessage: ((ev: any) => any) | null;
	onerror: ((ev: any) => any) | null;
	onclose: ((ev: any) => any) | null;
}

/** A WebSocket class: `new WebSocket(url)`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

// ==== messages from the server ===============================================================

/** Members every message from a topic carries (docs/protocol.md, "Messages from topics"). */
export interface TopicPosition {
	/** the MQTT topic */
	topic: string;
	/** its sequence number in that topic, contiguous from 1 within an epoch */
	seq: number;
	/** names one unbroken run of the topic's sequence numbers */
	epoch: string;
}

/** Any message: a JSON object with a string type. */
export interface RtgMessage {
	type: string;
	[member: string]: any;
}

/** The greeting: the first message of a connection (its type is the endpoint's greeting). */
export interface ConnectionMessage extends RtgMessage {
	type: 'connection';
	status: string;
	connection_id: string;
	user_id: string | null;
	anonymous?: boolean;
	/** the token's exp (seconds since the epoch) */
	expires_at?: number;
	timestamp: string;
}

export interface SubscriptionMessage extends RtgMessage {
	type: 'subscription';
	action: 'subscribed' | 'unsubscribed';
	topic: string;
	channel?: string;
	ticker?: string;
	symbol?: string;
	room?: string;
	subscription?: string;
	policy?: SubscribePolicy;
	/** with "since": whether everything missed is still held */
	recovered?: boolean;
	/** an ACL reload ended it */
	reason?: string;
	timestamp?: string;
}

/** A message from a topic: the publisher's object with topic, seq and epoch added. */
export interface TopicMessage extends RtgMessage, TopicPosition {}

export interface HistoryMessage extends RtgMessage {
	type: 'history';
	topic: string;
	epoch?: string;
	last_seq?: number;
	messages: TopicMessage[];
	/** an answer to "since" or to a replay */
	replay?: boolean;
	from?: number;
	to?: number;
	/** messages left out because this client had delivered them already */
	skipped?: number;
	timestamp?: string;
}

export interface PriceUpdateMessage extends TopicMessage {
	type: 'price_update';
	ticker: string;
	price: number;
	change?: number;
	change_percent?: number;
	volume?: number;
	high?: number;
	low?: number;
	open?: number;
	timestamp?: string;
}

export interface NotificationMessage extends TopicMessage {
	type: 'notification';
	message?: string;
	title?: string;
	notification_type?: string;
}

export interface CalculationUpdateMessage extends TopicMessage {
	type: 'calculation_update';
	calculation_id: string;
	status: 'started' | 'processing' | 'completed' | 'failed';
	progress?: number;
	message?: string;
	result?: any;
}

export interface CalculationAcceptedMessage extends RtgMessage {
	type: 'calculation_accepted';
	calculation_id: string;
}

export interface PublishedMessage extends RtgMessage {
	type: 'published';
	topic: string;
}

export interface PongMessage extends RtgMessage {
	type: 'pong';
	timestamp?: string;
}

/** A gap notice: the server dropped messages of a topic because this client fell behind. */
export interface GapNoticeMessage extends RtgMessage {
	type: 'gap';
	topic: string;
	epoch: string;
	from: number;
	to: number;
	count: number;
	/** the topic's history still holds the run: the client asks for it by itself */
	fillable: boolean;
	message?: string;
	timestamp?: string;
}

export interface AuthExpiringMessage extends RtgMessage {
	type: 'auth_expiring';
	expires_in: number;
}

export interface AuthMessage extends RtgMessage {
	type: 'auth';
	status: 'authenticated' | 'refreshed';
	user_id: string;
	expires_at?: number;
}

/** A refusal from the server (the connection stays open), or a failure of the client. */
export interface ErrorMessage extends RtgMessage {
	type: 'error';
	message: string;
	/** the same text (seed 004 reads it) */
	error?: string;
	/** 'client': the client's own failure (no WebSocket, no greeting, a send that failed, ...) */
	source?: 'client';
	/** with source 'client' after an authentication failure: the close code (4001) */
	code?: number;
	timestamp?: string;
}

// ==== the client's own events ===================================================================

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface OpenEvent extends RtgMessage {
	type: 'open';
	url: string;
}

export interface CloseEvent extends RtgMessage {
	type: 'close';
	code: number;
	reason: string;
	wasClean: boolean;
	/** close() or disconnect() ended it */
	byClient?: boolean;
}

export interface ReconnectingEvent extends RtgMessage {
	type: 'reconnecting';
	attempt: number;
	delayMs: number;
}

export interface StateEvent extends RtgMessage {
	type: 'state';
	state: ConnectionState;
}

/** Everything missed was recovered: after a resubscription, or a replay's range. */
export interface RecoveredEvent extends RtgMessage {
	type: 'recovered';
	topic?: string;
	channel?: string;
	from?: number;
	to?: number;
}

/**
 * Something was missed for good (a resubscription answered "recovered": false:
 * topic, channel), or the server's gap notice itself (GapNoticeMessage).
 */
export interface GapEvent extends RtgMessage {
	type: 'gap';
	topic?: string;
	channel?: string;
}

/** The argument of a handler, by event type; other types get an RtgMessage. */
export interface RtgEventMap {
	connection: ConnectionMessage;
	subscription: SubscriptionMessage;
	history: HistoryMessage;
	price_update: PriceUpdateMessage;
	notification: NotificationMessage;
	calculation_update: CalculationUpdateMessage;
	calculation_accepted: CalculationAcceptedMessage;
	published: PublishedMessage;
	pong: PongMessage;
	auth_expiring: AuthExpiringMessage;
	auth: AuthMessage;
	error: ErrorMessage;
	open: OpenEvent;
	close: CloseEvent;
	reconnecting: ReconnectingEvent;
	state: StateEvent;
	recovered: RecoveredEvent;
	gap: GapEvent | GapNoticeMessage;
	'*': RtgMessage;
}

export type RtgHandler<T extends string> = (
	msg: T extends keyof RtgEventMap ? RtgEventMap[T] : RtgMessage
) => void;

// ==== RtgClient ===============================================================================

export interface ReconnectOptions {
	/** first delay (ms), default 1000 */
	initialMs?: number;
	/** growth of the delay per failed attempt, default 1.5 */
	factor?: number;
	/** longest delay before jitter (ms), default 30000 */
	maxMs?: number;
	/** each delay is scattered by +/- this fraction, default 0.2 */
	jitter?: number;
	/** false: never reconnect by itself; default true */
	enabled?: boolean;
}

export interface RtgClientOptions {
	/** default ws(s)://<page host>/ws, or ws://127.0.0.1:8000/ws outside a browser */
	url?: string;
	/** the JWT, sent as ?token= */
	token?: string;
	/** gives a fresh token on auth_expiring and after a 4001 close */
	tokenProvider?: () => string | Promise<string>;
	/** ping interval (ms), default 30000; 0 disables the heartbeat */
	heartbeatMs?: number;
	reconnect?: ReconnectOptions;
	/** messages kept while disconnected, default 100 */
	maxQueue?: number;
	/** time for the socket to open and greet (ms), default 10000 */
	connectTimeoutMs?: number;
	/** time for calculate() to be accepted (ms), default 15000 */
	requestTimeoutMs?: number;
	/** default globalThis.WebSocket, else (Node 20, 21) the package `ws` */
	WebSocket?: WebSocketConstructor;
}

export type SubscribePolicy = 'auto' | 'conflate' | 'queue' | 'disconnect';

/** The subscribe forms of the protocol, as objects (without "type"). */
export interface SubscribeTarget {
	topic?: string;
	channel?: string;
	ticker?: string;
	subscription?: string;
	symbol?: string;
	room?: string;
	types?: string[];
	policy?: SubscribePolicy;
	[member: string]: any;
}

export interface RtgStats {
	/** greeted by the server and usable */
	connected: boolean;
	reconnecting: boolean;
	/** attempts since the last success */
	reconnectAttempts: number;
	messagesReceived: number;
	messagesSent: number;
	/** successful reconnections */
	reconnects: number;
	errors: number;
	/** ISO time of the last message received */
	lastMessageTime: string | null;
	/** labels, e.g. "ticker:AAPL", "market/+", "notifications" */
	subscriptions: string[];
	gaps: number;
	recovered: number;
	/** messages dropped as already delivered */
	duplicates: number;
	/** messages waiting for a connection */
	queueSize: number;
	queueDropped: number;
	state: ConnectionState;
	connectionId: string | null;
	userId: string | null;
}

/** A reconnecting client of the gateway's WebSocket protocol. */
export class RtgClient {
	constructor(options?: RtgClientOptions);

	/** ws(s)://<this page's host>/ws, or ws://127.0.0.1:8000/ws outside a browser */
	static defaultUrl(): string;

	/** the options with their defaults filled in (WebSocket, token, tokenProvider excepted) */
	readonly options: Required<Omit<RtgClientOptions, 'WebSocket' | 'token' | 'tokenProvider' | 'reconnect'>> & {
		reconnect: Required<ReconnectOptions>;
	};
	token: string | undefined;
	tokenProvider: (() => string | Promise<string>) | undefined;
	/** from the greeting */
	connectionId: string | null;
	/** from the greeting; null for an anonymous client */
	userId: string | null;
	/** the token's exp (seconds since the epoch), from the greeting or a refresh */
	expiresAt: number | null;

	readonly state: ConnectionState;
	/** greeted by the server and usable */
	readonly connected: boolean;

	/** Calls fn for each event of this type ('*': every event); returns a function that removes it. */
	on<T extends string>(type: T, fn: RtgHandler<T>): () => void;
	off<T extends string>(type: T, fn: RtgHandler<T>): void;

	/**
	 * Connects (again); harmless while connecting or connected. Throws when there
	 * is no WebSocket implementation outside Node; in Node 20 and 21 without
	 * `ws` it emits an 'error' (source 'client') and the state becomes 'closed'.
	 */
	connect(): void;
	/** Closes for good (until connect()). */
	close(code?: number, reason?: string): void;
	/** Drops the connection as if lost: reconnects after the backoff and resumes. */
	reconnect(): void;
	/** The delay before reconnect attempt n (1, 2, ...), in ms. */
	backoffDelay(attempt: number): number;

	/** Sends any protocol message; queued while disconnected. True: sent now. */
	send(msg: RtgMessage): boolean;
	/**
	 * Subscribes, now or once connected, and again after every reconnect:
	 * subscribe('market/+'), subscribe('notifications'), subscribe('ticker', 'AAPL'),
	 * subscribe({symbol: 'NIFTY'}), subscribe('market/+', {policy: 'queue'}).
	 * Returns the label getStats().subscriptions lists.
	 */
	subscribe(target: string | SubscribeTarget, extra?: string | SubscribeTarget): string;
	/** Ends a subscription (same arguments); whether it was subscribed. */
	unsubscribe(target: string | SubscribeTarget, extra?: string | SubscribeTarget): boolean;
	/** Publishes (an object as JSON, a string as its bytes); true: sent now. */
	publish(topic: string, payload: unknown, retain?: boolean): boolean;
	/** Starts a calculation; resolves to its calculation_id once accepted. */
	calculate(type: string, parameters?: Record<string, unknown>, id?: string): Promise<string>;
	/** Replaces the token, in band and for later reconnects. */
	refreshToken(token: string): void;
	/** Sends a ping; resolves to the round trip in ms. */
	ping(): Promise<number>;
	getStats(): RtgStats;
}

// ==== WebSocketClient (seed 003) ==============================================================

export interface WebSocketClientOptions {
	/** default ws(s)://<page host>/api/ws, or ws://127.0.0.1:8000/api/ws outside a browser */
	url?: string;
	userId?: string | null;
	/** default 1000 */
	reconnectDelay?: number;
	/** default 30000 */
	maxReconnectDelay?: number;
	/** default 1.5 */
	reconnectBackoffMultiplier?: number;
	/** default 30000; 0: none */
	heartbeatInterval?: number;
	/** default 10; 0 or Infinity: no throttle */
	maxMessagesPerSecond?: number;
	/** default 100 */
	batchUpdateDelay?: number;
	/** default 1000 */
	maxQueueSize?: number;
	token?: string;
	tokenProvider?: () => string | Promise<string>;
	WebSocket?: WebSocketConstructor;
}

/** The seed's "Frontend Statistics", field for field. */
export interface WebSocketClientStats {
	connected: boolean;
	reconnecting: boolean;
	reconnectAttempts: number;
	messagesReceived: number;
	messagesSent: number;
	updatesApplied: number;
	reconnects: number;
	errors: number;
	lastMessageTime: string | null;
	subscriptions: string[];
	queueSize: number;
	pendingUpdates: number;
	cacheSize: number;
}

/** What updateElementIfChanged() writes to: a DOM element, or anything with textContent. */
export interface TextElement {
	textContent: string | null;
	readonly isConnected?: boolean;
}

/** Seed 003's WebSocketClient, on RtgClient: throttled handlers, batched DOM updates. */
export class WebSocketClient {
	constructor(options?: WebSocketClientOptions);

	static defaultUrl(): string;

	readonly options: Required<Omit<WebSocketClientOptions, 'token' | 'tokenProvider' | 'WebSocket' | 'userId'>> & {
		userId: string | null;
	};
	/** the RtgClient underneath: publish(), calculate(), ping() and its own events */
	readonly client: RtgClient;
	/** the gateway's user (from the token, once greeted), else options.userId */
	readonly userId: string | null;
	/** server messages dropped because the queue held maxQueueSize already */
	readonly droppedMessages: number;

	connect(): void;
	disconnect(): void;
	subscribe(channel: string | SubscribeTarget, ticker?: string | number): string;
	unsubscribe(channel: string | SubscribeTarget, ticker?: string | number): boolean;
	on<T extends string>(type: T, handler: RtgHandler<T>): () => void;
	off<T extends string>(type: T, handler: RtgHandler<T>): void;
	updateElementIfChanged<V>(
		element: TextElement | null | undefined,
		value: V,
		formatter?: (value: V) => string
	): boolean;
	clearCache(): void;
	getStats(): WebSocketClientStats;
}

// ==== helpers =================================================================================

/** Whether an MQTT topic matches a topic filter ('+' one level, '#' the rest). */
export function topicMatches(filter: string, topic: string): boolean;

/** The MQTT filters a subscribe message stands for; me is the user id from the greeting. */
export function filtersOf(msg: SubscribeTarget, me: string | null): string[];

export default RtgClient;
