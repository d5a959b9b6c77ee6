// usage.ts - typed use of the package's public API, checked with `tsc --noEmit`
// (tsconfig.json, tsconfig.dom.json). It is never run: it proves the declarations
// are usable as the README shows them, and each @ts-expect-error proves they are
// not so loose that a mistake passes (tsc fails on an expectation that is not met).
import RtgDefault, {
	RtgClient,
	WebSocketClient,
	topicMatches,
	filtersOf,
	type RtgClientOptions,
	type RtgStats,
	type WebSocketConstructor,
	type WebSocketLike,
	type PriceUpdateMessage,
	type HistoryMessage,
	type ConnectionState
} from 'rtg-client';

// A minimal WebSocket implementation, as a test double or another library would be.
class FakeSocket implements WebSocketLike {
	readyState = 0;
	onopen: ((ev: any) => any) | null = null;
	onmessage: ((ev: any) => any) | null = null;
	onerror: ((ev: any) => any) | null = null;
	onclose: ((ev: any) => any) | null = null;
	constructor(public url: string) {}
	send(data: string): void {
		void data;
	}
	close(code?: number, reason?: string): void {
		void code;
		void reason;
	}
}
const impl: WebSocketConstructor = FakeSocket;

const options: RtgClientOptions = {
	url: 'ws://127.0.0.1:8000/ws',
	token: 'eyJ...',
	tokenProvider: async () => 'eyJ...new',
	heartbeatMs: 0,
	reconnect: { initialMs: 500, factor: 2, maxMs: 10000, jitter: 0.1, enabled: true },
	maxQueue: 50,
	connectTimeoutMs: 5000,
	requestTimeoutMs: 5000,
	WebSocket: impl
};
const client = new RtgClient(options);
const same: RtgClient = new RtgDefault();
void same;

// events: the handler's argument is typed by the event's name
const off = client.on('price_update', (m) => {
	const price: number = m.price;
	const ticker: string = m.ticker;
	const seq: number = m.seq;
	const epoch: string = m.epoch;
	void [price, ticker, seq, epoch];
});
off();
client.on('history', (m: HistoryMessage) => {
	for (const msg of m.messages) void msg.topic;
});
client.on('connection', (m) => {
	const user: string | null = m.user_id;
	void user;
});
client.on('subscription', (m) => {
	if (m.action === 'subscribed' && m.recovered === false) void m.topic;
});
client.on('calculation_update', (m) => {
	if (m.status === 'completed') void m.result;
	// @ts-expect-error not a status the protocol has
	if (m.status === 'done') void m;
});
client.on('error', (m) => {
	const text: string = m.message;
	if (m.source === 'client') void text;
});
client.on('close', (m) => void (m.code + m.reason.length));
client.on('reconnecting', (m) => void (m.attempt + m.delayMs));
client.on('state', (m) => {
	const s: ConnectionState = m.state;
	void s;
});
client.on('recovered', (m) => void m.topic);
client.on('gap', (m) => void m.topic);
client.on('*', (m) => void m.type);
client.on('market_alert', (m) => void m.anything); // any other type: an RtgMessage
client.on('price_update', (m) => {
	// a publisher may add members of its own: any other member is allowed, typed any
	void m.bid;
	// @ts-expect-error but price is a number
	const p: string = m.price;
	void p;
});
const handler = (m: PriceUpdateMessage) => void m;
client.off('price_update', handler);

// methods
client.connect();
const label: string = client.subscribe('market/+');
client.subscribe('notifications');
client.subscribe('ticker', 'AAPL');
client.subscribe({ symbol: 'NIFTY' });
client.subscribe({ room: 'lobby' });
client.subscribe({ types: ['transaction', 'security'] });
client.subscribe('market/+', { policy: 'queue' });
// @ts-expect-error not a policy
client.subscribe('market/+', { policy: 'sometimes' });
// @ts-expect-error a subscription is a filter, a channel or an object
client.subscribe(42);
const had: boolean = client.unsubscribe('market/+');
const now: boolean = client.publish('rooms/lobby', { text: 'hi' }, false);
client.send({ type: 'ping' });
// @ts-expect-error every message has a string type
client.send({ topic: 'x' });
const id: Promise<string> = client.calculate('roi', { initial_investment: 1000, final_value: 1500 });
const rtt: Promise<number> = client.ping();
client.refreshToken('eyJ...');
const delay: number = client.backoffDelay(3);
client.reconnect();
const stats: RtgStats = client.getStats();
const state: ConnectionState = client.state;
const connected: boolean = client.connected;
const url: string = RtgClient.defaultUrl();
client.close(1000, 'bye');
void [label, had, now, id, rtt, delay, stats.subscriptions, stats.duplicates, state, connected, url];
// @ts-expect-error heartbeatMs is a number
new RtgClient({ heartbeatMs: '30s' });
// @ts-expect-error state is read-only
client.state = 'connected';

// seed 003's WebSocketClient
const ws = new WebSocketClient({
	userId: 'user123',
	maxMessagesPerSecond: 10,
	batchUpdateDelay: 100,
	token: 'eyJ...',
	WebSocket: impl
});
ws.connect();
ws.subscribe('ticker', 'AAPL');
ws.subscribe('patterns');
ws.on('price_update', (data) => void data.price);
ws.on('pattern_alert', (data) => void data.pattern);
const el = { textContent: '' as string | null };
const wrote: boolean = ws.updateElementIfChanged(el, 150.25, (val) => `$${val.toFixed(2)}`);
// @ts-expect-error the formatter gets the value's type
ws.updateElementIfChanged(el, 150.25, (val: string) => val);
const wstats = ws.getStats();
const applied: number = wstats.updatesApplied;
const under: RtgClient = ws.client;
const dropped: number = ws.droppedMessages;
ws.clearCache();
ws.disconnect();
void [wrote, applied, under, dropped, ws.userId];

// helpers
const m: boolean = topicMatches('market/+', 'market/AAPL');
const filters: string[] = filtersOf({ channel: 'notifications' }, 'alice');
void [m, filters];
