import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.ts';
import { appsDomain, instanceURL, isHostPort, mainHost } from './instance-url.ts';

test('instance URLs in both modes follow MainHost, AppsDomain and the PublicURL scheme', () => {
  const { config } = loadConfig({ flags: { 'Server.PublicURL': 'https://store.example.com', 'Router.AppsDomain': 'apps.example.com' } });
  assert.equal(mainHost(config), 'store.example.com');
  assert.equal(instanceURL(config, 'foo'), 'https://store.example.com/instance/foo/');
  assert.equal(instanceURL(config, 'foo', 'DOMAIN'), 'https://foo.apps.example.com/');
});

test('local defaults: localhost:<port> and apps.localhost:<port>', () => {
  const { config } = loadConfig({ flags: { 'Server.Listen': '127.0.0.1:9090', 'Router.RoutingMode': 'DOMAIN' } });
  assert.equal(appsDomain(config), 'apps.localhost:9090');
  assert.equal(instanceURL(config, 'bar'), 'http://bar.apps.localhost:9090/');
});

test('MainHost and AppsDomain must be host[:port]', () => {
  assert.ok(isHostPort('apps.localhost:8080'));
  assert.ok(!isHostPort('https://apps.example.com'));
  assert.ok(!isHostPort('*.apps.example.com'));
  assert.throws(() => loadConfig({ flags: { 'Router.AppsDomain': 'http://x/y' } }), /Router\.AppsDomain.*without scheme/);
});
