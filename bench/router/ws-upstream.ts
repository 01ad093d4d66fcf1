/**
 * A websocket upstream for the benchmark: accepts upgrades at <ip>:10101 and
 * holds them open (echoing messages). Prints `ready`.
 *   node --import tsx bench/router/ws-upstream.ts <ip>
 */
import { WebSocketServer } from 'ws';

const ip = process.argv[2] ?? '127.66.0.11';
const wss = new WebSocketServer({ host: ip, port: 10101, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
wss.on('listening', () => process.stdout.write('ready\n'));
