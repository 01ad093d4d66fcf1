import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { loadConfig } from '../config/load.ts';
import { isLocalPath, signInURL } from './authorize.ts';
import { stripPlatformCookies } from './forward-headers.ts';
import { appPath, hostTable, routeTarget } from './hosts.ts';
import { endToEnd } from './http-engine.ts';
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

test('upstream errors: refused/reset 502, unreachable 503, timeouts 504', () => {
  const e = (code: string) => classifyUpstreamError(Object.assign(new Error(code), { code }));
  assert.equal(e('ECONNREFUSED').status, 502);
  assert.equal(e('ECONNRESET').status, 502);
  assert.equal(e('EHOSTUNREACH').status, 503);
  assert.equal(e('EUPSTREAMRESPONSETIMEOUT').status, 504);
  assert.equal(e('EUPSTREAMCONNECTTIMEOUT').status, 504);
});
