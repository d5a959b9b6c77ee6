// pack_client.mjs - a Node program using the installed npm package "rtg-client" by
// its name, as an application would (tests/integration/33-js-package.sh copies it
// into a temporary project that installed the packed tarball).
//
// It connects to the adapter, subscribes to RTG_TOPIC, and prints one JSON line per
// thing it sees: {"event":"subscribed"}, {"event":"message",...} (the first live
// message of RTG_TOPIC, then it closes and exits 0), {"event":"error",...},
// {"event":"state",...}. The test publishes with mosquitto_pub once "subscribed" is
// printed. RTG_MODE says where the WebSocket comes from:
//   auto      whatever the package finds (globalThis.WebSocket, else `ws`)
//   explicit  options.WebSocket: `ws`'s class, counting constructions
//   none      globalThis.WebSocket removed and no `ws`: the package must say so
//             ('error' naming ws, state 'closed') and not throw; exits 0 then
// Exits 1 after RTG_TIMEOUT_MS (default 20000) without an outcome.
const { RTG_WS_URL, RTG_TOKEN, RTG_TOPIC } = process.env;
const mode = process.env.RTG_MODE || 'auto';
const print = (obj) => console.log(JSON.stringify(obj));

if (mode === 'none') delete globalThis.WebSocket;
print({ event: 'start', mode, node: process.versions.node, globalWebSocket: typeof globalThis.WebSocket });

const { RtgClient } = await import('rtg-client');
const options = { url: RTG_WS_URL, token: RTG_TOKEN, heartbeatMs: 5000, reconnect: { enabled: false } };
let constructed = 0;
if (mode === 'explicit') {
	const { WebSocket } = await import('ws');
	options.WebSocket = class extends WebSocket {
		constructor(url) {
			super(url);
			constructed++;
		}
	};
}

const timer = setTimeout(() => {
	print({ event: 'timeout' });
	process.exit(1);
}, Number(process.env.RTG_TIMEOUT_MS || 20000));

const client = new RtgClient(options);
client.on('state', (m) => {
	print({ event: 'state', state: m.state });
	if (mode === 'none' && m.state === 'closed') {
		clearTimeout(timer);
		process.exitCode = 0;
	}
});
client.on('error', (m) => print({ event: 'error', message: m.message, source: m.source ?? null }));
client.on('connection', (m) => print({ event: 'connection', user_id: m.user_id }));
client.on('subscription', (m) => {
	if (m.action === 'subscribed' && m.topic === RTG_TOPIC) print({ event: 'subscribed', topic: m.topic });
});
client.on('*', (m) => {
	if (m.topic !== RTG_TOPIC || typeof m.seq !== 'number') return;
	print({ event: 'message', constructed, msg: m });
	clearTimeout(timer);
	client.close();
});

try {
	client.subscribe(RTG_TOPIC);
	client.connect();
	print({ event: 'connect-returned' });
} catch (err) {
	print({ event: 'threw', message: err.message });
	process.exit(1);
}
