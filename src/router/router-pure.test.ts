import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { loadConfig } from '../config/load.ts';
import { isLocalPath, signInURL } from './authorize.ts';
import { stripPlatformCookies } from './forward-headers.ts';
import { appPath, hostTable, routeTarget } from './hosts.ts';
import { endToEnd, requestHeaderList, responseHeaderList } from './http-engine.ts';
import { SessionHandoff } from './handoff.ts';
import { classifyUpstreamError } from './proxy.ts';

const { config } = loadConfig({ flags: { 'Server.Listen': '127.0.0.1:8080', 'Router.MainHost': 'store.example.com', 'Router.AppsDomain': 'apps.example.com' } });
const table = hostTable(config);
const req = (host: string | undefined, url: string) => ({ headers: host === undefined ? {} : { host }, url }) as unknown as IncomingMessage;

test('routeTarget: instance hosts, base URLs, the API, strangers', () => {
  assert.deepEqual(routeTarget(table, req('foo.apps.example.com', '/a?b')), { kind: 'instance', name: 'foo', mode: 'DOMAIN', path: '/a?b' });
  assert.deepEqual(routeTarget(table, req('FOO.Apps.Example.com.', '/')), { kind: 'instance', name: 'foo', mode: 'DOMAIN', path: '/' });
  assert.deepEqual(routeTarget(table, req('store.example.com', '/instance/foo/x')), { kind: 'instance', name: 'foo', mode: 'BASE_URL', path: '/instance/foo/x' });
  assert.deepEqual(routeTarget(table, req('store.example.com', '/instance/foo?x')), { kind: 'add-slash', name: 'foo' });
  assert.deepEqual(routeTarget(table, req('store.example.com', '/api/v1/apps')), { kind: 'main' });
  assert.equal(routeTarget(table, req('a.foo.apps.example.com', '/')).kind, 'unknown-host');
  assert.equal(routeTarget(table, req('evil.com', '/instance/foo/')).kind, 'unknown-host');
  assert.equal(routeTarget(table, req('foo.apps.example.com@evil.com', '/')).kind, 'main');
  assert.equal(routeTarget(table, req(undefined, '/instance/foo/')).kind, 'unknown-host');
  assert.equal(routeTarget(table, req('store.example.com', 'http://evil.com/instance/foo/')).kind, 'absolute-form');
  assert.equal(appPath({ name: 'foo', mode: 'BASE_URL', path: '/instance/foo/x?y' }), '/x?y');
  assert.deepEqual(routeTarget(table, req('store.example.com', '/_appstore/handoff?instance=foo')), { kind: 'handoff' });
  assert.deepEqual(routeTarget(table, req('store.example.com', '/_appstore/handoffx')), { kind: 'main' });
});

test('sign-in return paths never leave the main host', () => {
  for (const bad of ['//evil.com', '/\\evil.com', 'http://evil.com', '/x\r\nSet-Cookie: a=b']) assert.ok(!isLocalPath(bad), bad);
  const u = new URL(signInURL(config, 'foo', '//evil.com/x', 'DOMAIN'));
  assert.equal(u.host, 'store.example.com');
  assert.equal(u.searchParams.get('return'), '/instance/foo//evil.com/x');
  assert.equal(new URL(signInURL(config, 'foo', '/instance/foo/\\evil', 'BASE_URL')).searchParams.get('return'), '/instance/foo/');
});

test('platform cookies are removed, others kept in order', () => {
  assert.equal(stripPlatformCookies('a=1; appstore_session=s; b=2; appstore_session_login=l', 'appstore_session'), 'a=1; b=2');
  assert.equal(stripPlatformCookies('appstore_session=s', 'appstore_session'), undefined);
  assert.equal(stripPlatformCookies(undefined, 'appstore_session'), undefined);
});

test('hop-by-hop headers are dropped, upgrades keep theirs', () => {
  const h = { connection: 'keep-alive, x-secret', 'keep-alive': 'timeout=5', 'x-secret': '1', 'x-ok': '2', upgrade: 'websocket', 'transfer-encoding': 'chunked' };
  assert.deepEqual(endToEnd(h), { 'x-ok': '2', 'transfer-encoding': 'chunked' });
  assert.deepEqual(Object.keys(endToEnd(h, true)).sort(), ['connection', 'transfer-encoding', 'upgrade', 'x-ok']);
});

test('header lists for the upstream and back: hop-by-hop dropped, platform Set-Cookie dropped', () => {
  assert.deepEqual(requestHeaderList({ host: 'h', connection: 'keep-alive, x-secret', 'x-secret': '1', accept: 'a', te: 'trailers', 'x-many': ['1', '2'] }), ['host', 'h', 'accept', 'a', 'x-many', '1', 'x-many', '2']);
  const raw = ['Content-Type', 'text/plain', 'Connection', 'close, X-Hop', 'X-Hop', '1', 'Set-Cookie', 'appstore_session=x; Path=/', 'Set-Cookie', 'theme=dark', 'set-cookie', ' appstore_session_instance=y', 'Transfer-Encoding', 'chunked'];
  assert.deepEqual(responseHeaderList(raw, 'appstore_session'), ['Content-Type', 'text/plain', 'Set-Cookie', 'theme=dark', 'Transfer-Encoding', 'chunked']);
  assert.deepEqual(responseHeaderList(['Connection', 'x-one', 'X-One', '1', 'Connection', 'x-two', 'X-Two', '2', 'X-Kept', '3']), ['X-Kept', '3'], 'names from every Connection header are hop-by-hop');
});

test('session hand-off codes: this host, this browser, once, in time', () => {
  let now = 1_000_000;
  const h = new SessionHandoff({ key: Buffer.alloc(32, 7), cookieName: 'appstore_session', secure: true, sessionTTL: 3600, now: () => now });
  const begun = h.begin('foo', '//evil.com');
  assert.match(begun.setCookie, /^appstore_session_handoff=[\w-]+; Path=\/_appstore\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
  const q = new URLSearchParams(begun.handoffPath.split('?')[1]);
  assert.equal(q.get('return'), '/');
  const p = h.parseStart(q);
  assert.ok(!('error' in p));
  const state = `appstore_session_handoff=${q.get('state')}`;
  const code = h.issue('session-token', p.name, p.state, '/x');
  assert.deepEqual(h.redeem(code, 'bar', state), { ok: false, reason: 'The sign-in code was issued for another app instance.' });
  assert.deepEqual(h.redeem(code, 'foo', 'appstore_session_handoff=other'), { ok: false, reason: 'The sign-in code was started in another browser or tab.' });
  now += 60_001;
  assert.deepEqual(h.redeem(code, 'foo', state), { ok: false, reason: 'The sign-in code has expired.' });
  now -= 30_000;
  const ok = h.redeem(code, 'foo', state);
  assert.ok(ok.ok);
  assert.equal(ok.returnPath, '/x');
  assert.deepEqual(h.redeem(code, 'foo', state), { ok: false, reason: 'The sign-in code has already been used.' });
  const cookie = /^appstore_session_instance=([^;]+)/.exec(ok.setCookie[0]!)![1]!;
  assert.equal(h.sessionOf(cookie, 'foo'), 'session-token');
  assert.equal(h.sessionOf(cookie, 'bar'), undefined, 'bound to its instance host');
  assert.ok(!cookie.includes('session-token'), 'sealed, not readable');
  assert.equal(h.sessionOf(code, 'foo'), undefined, 'a code is no cookie');
});

test('upstream errors: refused/reset 502, unreachable 503, timeouts 504', () => {
  const e = (code: string) => classifyUpstreamError(Object.assign(new Error(code), { code }));
  assert.equal(e('ECONNREFUSED').status, 502);
  assert.equal(e('ECONNRESET').status, 502);
  assert.equal(e('EHOSTUNREACH').status, 503);
  assert.equal(e('EUPSTREAMRESPONSETIMEOUT').status, 504);
  assert.equal(e('EUPSTREAMCONNECTTIMEOUT').status, 504);
});
