// ws-broadcast.js - the Node `ws` peer of bench/run.sh: subscribes to market/+ on
// the broker (npm mqtt) and sends each payload, as received, to every WebSocket
// client subscribed to its topic (ws://host:PORT/?topic=market/X&topic=...; no
// topic: all). Compression off. Usage: node ws-broadcast.js PORT MQTT_PORT TOKEN_FILE
'use strict';
const fs = require('fs');
const mqtt = require('mqtt');
const { WebSocketServer } = require('ws');

const [port, mqttPort, tokenFile] = process.argv.slice(2);
const byTopic = new Map(); // topic -> Set of sockets
const wss = new WebSocketServer({ host: '127.0.0.1', port: +port, perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const topics = new URL(req.url, 'http://x').searchParams.getAll('topic');
  for (const t of topics.length ? topics : ['*']) {
    if (!byTopic.has(t)) byTopic.set(t, new Set());
    byTopic.get(t).add(ws);
  }
  ws.on('close', () => { for (const set of byTopic.values()) set.delete(ws); });
  ws.on('error', () => {});
});

const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, {
  username: 'bench-node', password: fs.readFileSync(tokenFile, 'utf8').trim(), protocolVersion: 4,
});
client.on('connect', () => client.subscribe('market/+', () => console.log(`listening ${port}`)));
client.on('message', (topic, payload) => {
  const text = payload.toString();
  for (const key of [topic, '*']) {
    const set = byTopic.get(key);
    if (set) for (const ws of set) ws.send(text);
  }
});
