// needs: oidc
/**
 * CLI sign-in end to end: the real `h2o` binary against a real API server in
 * Auth.Mode = oidc and the real OIDC provider. The test plays the person:
 * it reads the code the CLI prints and approves it on the provider's pages
 * (device sign-in), or follows the printed URL (browser sign-in). Then:
 * automatic refresh, expired and refused sign-ins, and platform tokens.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'smol-toml';
import { providerDeviceSignIn, providerSignIn, USERS } from './support/oidc.ts';
import { startOidcApi, type OidcApi } from './support/oidc-api.ts';
import { runNode, type ProcessResult } from './support/process.ts';
import { serviceEnv } from './support/service.ts';

const H2O = fileURLToPath(new URL('../bin/h2o.mjs', import.meta.url));
const issuer = serviceEnv('APPSTORE_TEST_OIDC_ISSUER', 'the OIDC provider');

interface StoredSignIn {
  issuer: string;
  clientID: string;
  idToken: string;
  refreshToken?: string;
  expiresAt: number;
}
interface StoredConfig {
  current?: string;
  profiles: Record<string, { endpoint: string; token?: string; signIn?: StoredSignIn }>;
}

describe('h2o sign-in against the real provider', () => {
  let url: string;
  let dir: string;
  let server: OidcApi;

  before(async () => {
    server = await startOidcApi({ 'Auth.CLIClientID': serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider') });
    ({ url, dir } = server);
  });
  after(() => server.close());

  const env = () => ({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'xdg'), H2O_PROFILE: undefined, H2O_CONFIG: undefined });
  const h2o = (file: string, args: string[]): Promise<ProcessResult> => runNode(H2O, ['--config', file, ...args], { env: env() });
  const readCfg = async (file: string) => parse(await readFile(file, 'utf8')) as unknown as StoredConfig;
  const writeCfg = (file: string, cfg: StoredConfig) => writeFile(file, stringify(cfg), { mode: 0o600 });

  /** Runs `h2o config setup` and, once it prints what to do, lets `act` do it (as the person would); resolves with the result. */
  function setup(file: string, args: string[], act: (stderr: string) => Promise<void> | undefined): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [H2O, '--config', file, '--endpoint', url, 'config', 'setup', ...args], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let acting: Promise<void> | undefined;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        acting ??= act(stderr)?.catch((err: unknown) => {
          child.kill();
          reject(err as Error);
        });
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function deviceSetup(file: string, user: string, extra: string[] = []): Promise<ProcessResult> {
    return setup(file, extra, (stderr) => {
      const m = /open (\S+) on any device and enter the code: (\S+)\n/.exec(stderr);
      return m ? providerDeviceSignIn(m[1]!, m[2]!, user, USERS[user]!.password) : undefined;
    });
  }

  test('device sign-in: the CLI prints a URL and a code; once approved it stores the sign-in 0600 and uses it', async () => {
    const file = join(dir, 'device.toml');
    const r = await deviceSetup(file, 'root');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`open ${issuer}/device on any device and enter the code: `));
    assert.match(r.stdout, /^signed in as Root Admin \(admin\); profile default saved in .* \(current\)\n$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const cfg = await readCfg(file);
    const s = cfg.profiles.default!.signIn!;
    assert.deepEqual([s.issuer, s.clientID, typeof s.refreshToken], [issuer, 'h2o-cli', 'string']);
    assert.ok(s.expiresAt > Date.now() + 500_000);
    // An admin-only command works as root.
    const created = await h2o(file, ['tag', 'create', 'signed-in-tag']);
    assert.equal(created.code, 0, created.stderr);
    const list = await h2o(file, ['config', 'list']);
    assert.match(list.stdout, /default\s+http:\/\/127\.0\.0\.1:\d+\s+sign-in\n/);
  });

  test('an expired ID token is renewed with the refresh token before the request, and saved', async () => {
    const file = join(dir, 'refresh.toml');
    assert.equal((await deviceSetup(file, 'root')).code, 0);
    const cfg = await readCfg(file);
    const old = cfg.profiles.default!.signIn!;
    old.expiresAt = Date.now() - 1000;
    await writeCfg(file, cfg);
    await new Promise((r) => setTimeout(r, 1100)); // a new ID token differs once its iat does
    const r = await h2o(file, ['tag', 'create', 'after-refresh']);
    assert.equal(r.code, 0, r.stderr);
    const renewed = (await readCfg(file)).profiles.default!.signIn!;
    assert.notEqual(renewed.idToken, old.idToken);
    assert.ok(renewed.expiresAt > Date.now() + 500_000);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  test('an expired sign-in that cannot be renewed says to run h2o config setup', async () => {
    const file = join(dir, 'expired.toml');
    assert.equal((await deviceSetup(file, 'alice')).code, 0);
    const cfg = await readCfg(file);
    const s = cfg.profiles.default!.signIn!;
    s.expiresAt = Date.now() - 1000;
    s.refreshToken = 'revoked-or-unknown-refresh-token';
    await writeCfg(file, cfg);
    const refused = await h2o(file, ['app', 'list']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /your sign-in to http:\/\/127\.0\.0\.1:\d+ has expired; run `h2o config setup` to sign in again \(the identity provider refused/);

    delete s.refreshToken;
    await writeCfg(file, cfg);
    const noRefresh = await h2o(file, ['app', 'list']);
    assert.notEqual(noRefresh.code, 0);
    assert.match(noRefresh.stderr, /has expired; run `h2o config setup` to sign in again/);
    assert.match((await h2o(file, ['config', 'list'])).stdout, /sign-in \(expired\)/);
  });

  test('a tampered stored ID token is refused by the server', async () => {
    const file = join(dir, 'tampered.toml');
    assert.equal((await deviceSetup(file, 'alice')).code, 0);
    const cfg = await readCfg(file);
    const s = cfg.profiles.default!.signIn!;
    const [h, p, sig] = s.idToken.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    s.idToken = `${h}.${Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url')}.${sig}`;
    await writeCfg(file, cfg);
    const r = await h2o(file, ['tag', 'create', 'forged']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /signature/);
  });

  test('browser sign-in (--browser): the CLI listens on loopback for the provider redirect', async () => {
    const file = join(dir, 'browser.toml');
    const r = await setup(file, ['--browser'], (stderr) => {
      const m = /open this URL in a browser on this machine:\n {2}(\S+)\n/.exec(stderr);
      if (!m) return undefined;
      const authorize = m[1]!;
      const redirect = new URL(authorize).searchParams.get('redirect_uri')!;
      assert.match(redirect, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      return (async () => {
        const back = await providerSignIn(authorize, 'bob', USERS.bob!.password, redirect);
        const page = await fetch(back);
        assert.match(await page.text(), /you can close this tab/);
      })();
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^signed in as Bob Visitor \(visitor\);/);
    assert.equal((await readCfg(file)).profiles.default!.signIn!.clientID, 'h2o-cli');
  });

  test('a platform token created with the sign-in works with --token, and stops working when revoked', async () => {
    const file = join(dir, 'token.toml');
    assert.equal((await deviceSetup(file, 'root')).code, 0);
    const idToken = (await readCfg(file)).profiles.default!.signIn!.idToken;
    const created = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${idToken}`, 'content-type': 'application/json' }, body: '{"name":"ci","expiresInDays":1}' });
    assert.equal(created.status, 201);
    const { id, token } = (await created.json()) as { id: string; token: string };
    const ci = join(dir, 'ci.toml');
    const saved = await h2o(ci, ['--endpoint', url, 'config', 'setup', '--token', token]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal((await h2o(ci, ['tag', 'create', 'from-ci'])).code, 0);
    assert.equal((await fetch(`${url}/api/v1/tokens/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${idToken}` } })).status, 204);
    const after = await h2o(ci, ['tag', 'create', 'after-revoke']);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /unknown, revoked or expired/);
  });
});
