import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { csrfRefusal, type CsrfRequest } from './csrf.ts';

const host = 'store.example.com:8080';
const req = (over: Partial<CsrfRequest> & { headers?: CsrfRequest['headers'] }): CsrfRequest => ({ method: 'POST', via: 'session', ...over, headers: { host, ...over.headers } });

describe('csrfRefusal', () => {
  test('safe methods and bearer-authenticated writes pass whatever the headers say', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) assert.equal(csrfRefusal(req({ method, headers: { origin: 'https://evil.example' } }), 'http'), undefined);
    for (const via of ['static-token', 'platform-token', 'id-token', 'anonymous'] as const) assert.equal(csrfRefusal(req({ via, headers: { origin: 'https://evil.example' } }), 'http'), undefined);
  });

  test('a cookie-authenticated write from our own origin passes', () => {
    assert.equal(csrfRefusal(req({ headers: { origin: `http://${host}` } }), 'http'), undefined);
    assert.equal(csrfRefusal(req({ headers: { origin: `HTTP://STORE.example.com:8080` } }), 'http'), undefined);
    assert.equal(csrfRefusal(req({ headers: { 'sec-fetch-site': 'same-origin' } }), 'http'), undefined);
    assert.equal(csrfRefusal(req({ headers: { 'sec-fetch-site': 'none' } }), 'http'), undefined);
  });

  test('an instance host, another scheme, another port, "null" and garbage are refused for every unsafe method', () => {
    const foreign = [`http://x.apps.${host}`, `https://${host}`, 'http://store.example.com:8081', 'http://store.example.com', 'null', 'not a url', `http://${host}/path`, `http://user@${host}`];
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const origin of foreign) {
        for (const via of ['session', 'local'] as const) assert.match(csrfRefusal(req({ method, via, headers: { origin } }), 'http') ?? '', /cross-origin request refused/, `${method} ${origin} ${via}`);
      }
    }
  });

  test('without Origin: Sec-Fetch-Site same-site or cross-site is refused; neither header refuses a cookie but not local mode (the CLI)', () => {
    for (const s of ['same-site', 'cross-site']) assert.match(csrfRefusal(req({ headers: { 'sec-fetch-site': s } }), 'http') ?? '', /Sec-Fetch-Site/);
    assert.match(csrfRefusal(req({}), 'http') ?? '', /must carry Origin or Sec-Fetch-Site/);
    assert.equal(csrfRefusal(req({ via: 'local' }), 'http'), undefined);
    assert.match(csrfRefusal(req({ via: 'local', headers: { 'sec-fetch-site': 'same-site' } }), 'http') ?? '', /Sec-Fetch-Site/);
  });

  test('no Host header: nothing is same-origin', () => {
    assert.ok(csrfRefusal({ method: 'POST', via: 'session', headers: { origin: 'http://localhost' } }, 'http'));
  });
});
