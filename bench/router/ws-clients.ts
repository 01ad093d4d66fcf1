/**
 * Opens N websockets through the router (Host ws.apps.localhost, bearer
 * token), checks one echo on each, then holds them. Prints `open N` once all
 * are open and echoing.
 *   node --import tsx bench/router/ws-clients.ts <router-port> <N> <token>
 */
import WebSocket from 'ws';

const [port, n = '10000', token = ''] = process.argv.slice(2);
const total = Number(n);
const held: WebSocket[] = [];
let failed = 0;

function open(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { host: 'ws.apps.localhost', authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once('open', () => ws.send('ping'));
    ws.once('message', () => {
      held.push(ws);
      resolve();
    });
    ws.once('error', () => {
      failed++;
      resolve();
    });
  });
}

// Open in batches so the router is not flooded with thousands of simultaneous handshakes.
for (let i = 0; i < total; i += 200) await Promise.all(Array.from({ length: Math.min(200, total - i) }, open));
process.stdout.write(`open ${held.length} failed ${failed}\n`);
setInterval(() => undefined, 1 << 30);
