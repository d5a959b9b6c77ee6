// dom.ts - the declarations in a browser project (tsconfig.dom.json): the DOM's own
// WebSocket class is an implementation, DOM elements take updateElementIfChanged().
import { RtgClient, WebSocketClient } from 'rtg-client';

const client = new RtgClient({ url: `wss://${location.host}/ws`, WebSocket });
client.connect();

const ws = new WebSocketClient({ userId: 'user123', WebSocket: globalThis.WebSocket });
const priceElement = document.getElementById('aapl-price');
ws.updateElementIfChanged(priceElement, 150.25, (val) => `$${val.toFixed(2)}`);
ws.updateElementIfChanged(document.querySelector('td.price'), 'n/a');
