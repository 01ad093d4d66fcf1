/**
 * Issue #24 item 7 (DNS rebinding): Auth.Mode = local makes a request without
 * credentials the local admin, so it must answer only loopback host names.
 * The real server (startServer: API + router) over raw HTTP, in both routing modes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { freePort } from './support/ports.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'local-mode-host-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function start(mode: 'BASE_URL' | 'DOMAIN'): Promise<{ server: RunningServer; port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(dataDir, `${mode}-`));
  const { config } = loadConfig({
    flags: {
      'Server.Listen': `127.0.0.1:${port}`,
      'Server.DataDir': dir,
      'Server.Roles': 'api,router',
      'Server.LogLevel': 'fatal',
      'Auth.Mode': 'local',
      'Router.RoutingMode': mode,
      'Router.MainHost': `localhost:${port}`,
      'Router.AppsDomain': `apps.localhost:${port}`,
    },
  });
  return { server: await startServer(config), port };
}

/** One raw HTTP request to 127.0.0.1:port with the given Host (and Origin). */
function send(port: number, host: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host, origin: `http://${host}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const mode of ['BASE_URL', 'DOMAIN'] as const) {
  describe(`local mode in ${mode} routing`, () => {
    let s: { server: RunningServer; port: number };
    after(async () => s && (await s.server.close()));

    test('a foreign Host is refused with a 403 naming Auth.Mode, and never acts as the local admin', async () => {
      s ??= await start(mode);
      for (const host of ['evil.example.com', `evil.example.com:${s.port}`, `127.0.0.1.evil.example.com:${s.port}`, `localhost.evil.example.com`]) {
        const r = await send(s.port, host, '/api/v1/me');
        assert.equal(r.status, 403, `${host}: ${r.body}`);
        assert.match(r.body, /Auth\.Mode/, host);
        assert.doesNotMatch(r.body, /"admin":true/, host);
        const post = await send(s.port, host, '/api/v1/apps', 'POST');
        assert.equal(post.status, 403, `${host} POST: ${post.body}`);
      }
    });

    test('loopback host names act as the local admin: localhost, 127.0.0.1, [::1], *.localhost, any port', async () => {
      s ??= await start(mode);
      for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, '127.0.0.1', 'localhost', `[::1]:${s.port}`, `x.localhost:${s.port}`]) {
        const r = await send(s.port, host, '/api/v1/me');
        assert.equal(r.status, 200, `${host}: ${r.body}`);
        assert.match(r.body, /"admin":true/, host);
      }
    });

    if (mode === 'DOMAIN') {
      test('instance hosts under *.apps.localhost are not refused by the local-mode host check', async () => {
        s ??= await start(mode);
        const r = await send(s.port, `someapp.apps.localhost:${s.port}`, '/');
        assert.doesNotMatch(r.body, /Auth\.Mode = "local" answers only loopback/, r.body);
        const evil = await send(s.port, `someapp.apps.evil.example.com:${s.port}`, '/');
        assert.notEqual(evil.status, 200, evil.body);
      });
    }
  });
}
