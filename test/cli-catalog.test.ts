// Runs the real `h2o` executable (bin/h2o.mjs through node) against a real API
// server (PGlite database, folder blob store) started here, users by static token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { App, Tag } from '../src/api/schemas.ts';
import { startTestApi, USERS, type TestApi } from './support/api-server.ts';
import { runNode, runNodeOnTerminal, SCRIPT, type ProcessResult } from './support/process.ts';

const H2O = fileURLToPath(new URL('../bin/h2o.mjs', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/bundles/wave-app/', import.meta.url));

let api: TestApi;
let dir: string;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-catalog-'));
  api = await startTestApi({ db: 'pglite', store: 'fs' });
});
after(async () => {
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs h2o in `cwd` with a private HOME, so no real config is ever read. */
function h2o(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<ProcessResult> {
  return runNode(H2O, args, { cwd: opts.cwd ?? dir, env: { HOME: join(dir, 'home'), XDG_CONFIG_HOME: undefined, H2O_CONFIG: undefined, H2O_PROFILE: undefined, ...opts.env } });
}

/** A config file with one profile per user of the test server (alice current). */
async function configFor(): Promise<string> {
  const file = join(dir, `config${n++}.toml`);
  for (const user of ['alice', 'bob', 'vic', 'root'] as const) {
    const r = await h2o(['--config', file, '--profile', user, '--endpoint', api.url, 'config', 'setup', '--token', USERS[user].token]);
    assert.equal(r.code, 0, r.stderr);
  }
  return file;
}

/** A copy of the fixture app, with another version and (so another user may import it) another name. */
async function appCopy(version?: string, name?: string): Promise<string> {
  const to = join(dir, `app${n++}`);
  await cp(FIXTURE, to, { recursive: true });
  const toml = join(to, 'app.toml');
  let text = await readFile(toml, 'utf8');
  if (version) text = text.replace('Version = "0.1.2"', `Version = "${version}"`);
  if (name) text = text.replace('Name = "ai.h2o.wave.fixture-peak"', `Name = "${name}"`);
  await writeFile(toml, text);
  return to;
}

describe('h2o config', () => {
  test('setup writes a 0600 TOML file; a second profile is added, use switches, show hides the token', async () => {
    const file = join(dir, 'cfg', 'nested', 'config.toml');
    const first = await h2o(['config', 'setup', '--endpoint', `${api.url}/`, '--token', USERS.alice.token], { env: { H2O_CONFIG: file } });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /profile default saved in .* \(current\)/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const second = await h2o(['--config', file, 'config', 'setup', '--profile', 'staging', '--endpoint', 'http://127.0.0.1:9']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /h2o config use staging/);
    const text = await readFile(file, 'utf8');
    assert.match(text, /current = "default"/);
    assert.match(text, /\[profiles\.staging\]/);

    const list = await h2o(['--config', file, 'config', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^CURRENT\s+NAME\s+ENDPOINT\s+TOKEN\n\*\s+default\s+http:\/\/127\.0\.0\.1:\d+\s+set\n\s+staging\s+http:\/\/127\.0\.0\.1:9\s+none\n$/);

    const show = await h2o(['--config', file, 'config', 'show', '-o', 'json']);
    assert.equal(show.code, 0, show.stderr);
    assert.deepEqual(JSON.parse(show.stdout), { config: file, profile: 'default', endpoint: api.url, token: 'set' });
    assert.doesNotMatch(show.stdout, new RegExp(USERS.alice.token));

    assert.equal((await h2o(['--config', file, 'config', 'use', 'staging'])).code, 0);
    assert.match((await h2o(['--config', file, 'config', 'show'])).stdout, /Profile\s+staging/);
    const byEnv = await h2o(['--config', file, 'config', 'show', '-o', 'yaml'], { env: { H2O_PROFILE: 'default' } });
    assert.equal((parseYaml(byEnv.stdout) as { profile: string }).profile, 'default');
    const unknown = await h2o(['--config', file, 'config', 'use', 'nope']);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /profile "nope" is not in .*known: default, staging/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  test('a config file others may read is refused with the chmod to run', async () => {
    const file = await configFor();
    await chmod(file, 0o644);
    const r = await h2o(['--config', file, 'app', 'list']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /mode 0644.*run `chmod 600 /);
  });

  test('no profile at all says to run config setup; a bad endpoint names the flag', async () => {
    const r = await h2o(['app', 'list']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no profile is configured.*h2o config setup --endpoint URL/);
    const bad = await h2o(['--config', join(dir, 'bad.toml'), 'config', 'setup', '--endpoint', 'ftp://x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--endpoint: "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL/);
  });
});

describe('h2o against a running server', () => {
  let cfg: string;
  let imported: App;
  before(async () => {
    cfg = await configFor();
  });
  const as = (user: 'alice' | 'bob' | 'vic' | 'root', args: string[], cwd?: string) => h2o(['--config', cfg, '--profile', user, ...args], { cwd });

  test('bundle import prints the app like the seed; app list shows it as a table and as JSON', async () => {
    const app = await appCopy();
    const r = await as('alice', ['bundle', 'import', '-v', 'ALL_USERS'], app);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/\s{3,}/)[0]),
      ['ID', 'Title', 'Version', 'Category', 'Created At', 'Updated At', 'Owner', 'Visibility', 'Description', 'Tags'],
    );
    assert.match(r.stdout, /^Title\s+Peak$/m);
    assert.match(r.stdout, /^Version\s+0\.1\.2$/m);
    assert.match(r.stdout, /^Owner\s+alice@example\.com$/m);
    assert.match(r.stdout, /^Visibility\s+ALL_USERS$/m);
    assert.match(r.stdout, /^Created At\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/m);
    // The bundle is written to a temporary folder, not left in the app folder.
    assert.deepEqual((await readdir(app)).filter((f) => f.endsWith('.wave')), []);

    const json = await as('alice', ['app', 'list', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const apps = JSON.parse(json.stdout) as App[];
    assert.equal(apps.length, 1);
    imported = apps[0]!;
    assert.equal(imported.name, 'ai.h2o.wave.fixture-peak');
    assert.match(r.stdout, new RegExp(`^ID\\s+${imported.id}$`, 'm'));

    const table = await as('alice', ['app', 'list']);
    assert.equal(table.code, 0, table.stderr);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+TITLE\s+OWNER\s+CREATED\s+CATEGORY\s+VISIBILITY\s+TAGS$/);
    assert.match(row!, new RegExp(`^${imported.id}\\s+Peak 0\\.1\\.2\\s+alice@example\\.com\\s+\\d+s\\s+Healthcare\\s+ALL_USERS$`));
    assert.deepEqual(rest, []);
    // Columns line up: the header's TITLE starts where the row's title does.
    assert.equal(header!.indexOf('TITLE'), row!.indexOf('Peak'));

    // bob sees it only with -a; yaml parses to the same app.
    assert.deepEqual(JSON.parse((await as('bob', ['app', 'list', '-o', 'json'])).stdout), []);
    const all = await as('bob', ['app', 'list', '-a', '-o', 'yaml']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual((parseYaml(all.stdout) as App[]).map((a) => a.id), [imported.id]);
  });

  test('importing the same version again exits 6 and says to bump [App] Version', async () => {
    const r = await as('alice', ['bundle', 'import', '--app-dir', await appCopy()]);
    assert.equal(r.code, 6);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: app ai\.h2o\.wave\.fixture-peak version 0\.1\.2 already exists; bump \[App\] Version in app\.toml/);
  });

  test('another user importing the name exits 5 (issue #24 item 6); app transfer (admins) gives the name to them, and then the first importer exits 5', async () => {
    const name = 'ai.h2o.wave.fixture-peak';
    const notYours = new RegExp(`^error: app name ${name.replaceAll('.', '\\.')} is not available to you: another user owns it`);
    let r = await as('bob', ['bundle', 'import', '--app-dir', await appCopy('0.9.0')]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, notYours);
    assert.equal((await as('alice', ['app', 'transfer', name, 'bob'])).code, 5, 'admins only');
    r = await as('root', ['app', 'transfer', name, 'bob', '--user-name', 'bob@example.com']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `app name ${name} now belongs to bob@example.com (bob)\n`);
    r = await as('bob', ['bundle', 'import', '--app-dir', await appCopy('0.9.0'), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const bobs = JSON.parse(r.stdout) as App;
    r = await as('alice', ['bundle', 'import', '--app-dir', await appCopy('0.9.1')]);
    assert.equal(r.code, 5);
    assert.match(r.stderr, notYours);
    // Back as it was for the tests below.
    assert.equal((await as('bob', ['app', 'delete', bobs.id])).code, 0);
    assert.equal((await as('root', ['app', 'transfer', name, 'alice', '--user-name', 'alice@example.com'])).code, 0);
  });

  test('app list follows nextCursor across pages; --limit stops early', async () => {
    for (const v of ['0.2.0', '0.3.0']) assert.equal((await as('bob', ['bundle', 'import', '--app-dir', await appCopy(v, 'ai.h2o.wave.fixture-bob')])).code, 0);
    // One app per request: three requests, all apps, newest first.
    const paged = await as('bob', ['app', 'list', '-a', '--page-size', '1', '-o', 'json']);
    assert.equal(paged.code, 0, paged.stderr);
    assert.deepEqual((JSON.parse(paged.stdout) as App[]).map((a) => a.version), ['0.3.0', '0.2.0', '0.1.2']);
    const limited = await as('bob', ['app', 'list', '-a', '--limit', '2', '--page-size', '1', '-o', 'json']);
    assert.equal(limited.code, 0, limited.stderr);
    assert.deepEqual((JSON.parse(limited.stdout) as App[]).map((a) => a.version), ['0.3.0', '0.2.0']);
    const bad = await as('bob', ['app', 'list', '--limit', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit: "x" is not a whole number/);
  });

  test('app get and app update -v change what others see', async () => {
    const got = await as('alice', ['app', 'get', imported.id, '-o', 'json']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as App).visibility, 'ALL_USERS');
    const upd = await as('alice', ['app', 'update', imported.id, '-v', 'private']);
    assert.equal(upd.code, 0, upd.stderr);
    assert.match(upd.stdout, /^Visibility\s+PRIVATE$/m);
    // Now bob may not see it: 404, exit 3.
    const hidden = await as('bob', ['app', 'get', imported.id]);
    assert.equal(hidden.code, 3);
    const badV = await as('alice', ['app', 'update', imported.id, '-v', 'EVERYONE']);
    assert.equal(badV.code, 2);
    assert.match(badV.stderr, /"EVERYONE" is not one of PRIVATE, ALL_USERS, PUBLIC/);
  });

  test('app download writes the byte-identical bundle', async () => {
    const out = join(dir, 'downloaded.wave');
    const r = await as('alice', ['app', 'download', imported.id, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    // stderr is a pipe here, not a terminal: no progress noise.
    assert.equal(r.stderr, '');
    const bytes = await readFile(out);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), imported.bundleSha256);
    assert.equal(bytes.length, imported.bundleSize);
    // Without -o, the server's file name in the working directory.
    const cwd = await mkdtemp(join(dir, 'dl-'));
    const named = await as('alice', ['app', 'download', imported.id], cwd);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout.trim(), join(cwd, 'ai.h2o.wave.fixture-peak.0.1.2.wave'));
    assert.deepEqual(await readFile(named.stdout.trim()), bytes);
  });

  test('on a terminal, app download shows progress on stderr', { skip: !SCRIPT && 'needs util-linux script(1) for a pseudo-terminal' }, async () => {
    const out = join(dir, 'tty.wave');
    const r = await runNodeOnTerminal(H2O, ['--config', cfg, '--profile', 'alice', 'app', 'download', imported.id, '-o', out], { cwd: dir, env: { HOME: join(dir, 'home') } });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\rdownloading \d+\.\d MiB \/ \d+\.\d MiB 100%/);
    assert.equal((await readFile(out)).length, imported.bundleSize);
  });

  test('tag create (admin), assign, list, get, update, remove', async () => {
    const created = await as('root', ['tag', 'create', 'beta', '--title', 'Beta', '--color', '#ff8800', '--admin-roles', 'editors', '-o', 'json']);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual((JSON.parse(created.stdout) as Tag).adminRoles, ['editors']);
    const notAdmin = await as('alice', ['tag', 'create', 'other']);
    assert.equal(notAdmin.code, 5);
    assert.match(notAdmin.stderr, /only admins can create tags/);

    const bobs = JSON.parse((await as('bob', ['app', 'list', '-o', 'json'])).stdout) as App[];
    const assign = await as('bob', ['tag', 'assign', 'beta', bobs[0]!.id]);
    assert.equal(assign.code, 0, assign.stderr);
    assert.match(assign.stdout, /^Tags\s+Beta$/m);
    const table = await as('bob', ['app', 'list']);
    assert.match(table.stdout.split('\n')[1]!, /\s+Beta$/);
    // Filters reach the server: only the tagged app, and search/category narrow too (bob's apps are PRIVATE, alice's too by now).
    const tagged = JSON.parse((await as('bob', ['app', 'list', '-a', '--tag', 'beta', '-o', 'json'])).stdout) as App[];
    assert.deepEqual(tagged.map((a) => a.id), [bobs[0]!.id]);
    assert.deepEqual(JSON.parse((await as('bob', ['app', 'list', '-a', '--search', 'no-such-words', '-o', 'json'])).stdout), []);
    assert.deepEqual(JSON.parse((await as('bob', ['app', 'list', '-a', '--category', 'Retail', '-o', 'json'])).stdout), []);
    assert.equal((JSON.parse((await as('bob', ['app', 'list', '-a', '--category', 'Healthcare', '--search', 'covid', '-o', 'json'])).stdout) as App[]).length, 2);

    const list = await as('vic', ['tag', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+NAME\s+TITLE\s+COLOR\s+CATEGORY\s+ADMIN ROLES\s+VISITOR ROLES\n\S+\s+beta\s+Beta\s+#ff8800\s+no\s+editors$/m);

    const upd = await as('bob', ['tag', 'update', 'beta', '--visitor-roles', 'guests,beta-testers']);
    assert.equal(upd.code, 0, upd.stderr);
    assert.match(upd.stdout, /^Visitor Roles\s+guests,beta-testers$/m);
    const got = await as('vic', ['tag', 'get', 'beta', '-o', 'yaml']);
    assert.deepEqual((parseYaml(got.stdout) as Tag).visitorRoles, ['guests', 'beta-testers']);

    const nothing = await as('bob', ['tag', 'update', 'beta']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to update/);

    const remove = await as('bob', ['tag', 'remove', 'beta', bobs[0]!.id, '-o', 'json']);
    assert.equal(remove.code, 0, remove.stderr);
    assert.deepEqual((JSON.parse(remove.stdout) as App).tags, []);
  });

  test('token create prints the secret once; the token works as a profile; list shows its last use; revoke by name stops it', async () => {
    const created = await as('alice', ['token', 'create', 'nightly build', '--expires-in-days', '7', '-o', 'json']);
    assert.equal(created.code, 0, created.stderr);
    const tok = JSON.parse(created.stdout) as { id: string; name: string; token: string; expiresAt: string; createdAt: string };
    assert.match(tok.token, /^h2oat_/);
    assert.equal(Date.parse(tok.expiresAt) - Date.parse(tok.createdAt), 7 * 86_400_000);

    const file = join(dir, `token${n++}.toml`);
    assert.equal((await h2o(['--config', file, 'config', 'setup', '--endpoint', api.url, '--token', tok.token])).code, 0);
    const used = await h2o(['--config', file, 'app', 'list', '-o', 'json']);
    assert.equal(used.code, 0, used.stderr);
    // A platform token cannot mint tokens (a leaked one must not outlive itself): exit 5 with the reason.
    const mint = await h2o(['--config', file, 'token', 'create', 'child']);
    assert.equal(mint.code, 5);
    assert.match(mint.stderr, /a platform token cannot create tokens/);

    const list = await as('alice', ['token', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+NAME\s+CREATED\s+EXPIRES\s+LAST USED\n/);
    assert.match(list.stdout, new RegExp(`^${tok.id}\\s+nightly build\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d [\\d:]+ \\+0000 UTC\\s+\\d+s ago$`, 'm'));
    assert.doesNotMatch(list.stdout, /h2oat_/);
    // bob does not see alice's token and cannot revoke it.
    assert.equal((await as('bob', ['token', 'revoke', 'nightly build'])).code, 3);

    const revoked = await as('alice', ['token', 'revoke', 'nightly build']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`token nightly build \\(${tok.id}\\) revoked`));
    assert.equal((await h2o(['--config', file, 'app', 'list'])).code, 4);
    const bad = await as('alice', ['token', 'create', 'x', '--expires-in-days', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--expires-in-days: "soon" is not a whole number of days/);
  });

  test('forbidden exits 5 with the server message', async () => {
    // alice lacks the tag's admin role (editors).
    const r = await as('alice', ['tag', 'update', 'beta', '--title', 'Mine']);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /^error: updating tag beta needs one of its admin roles: editors/);
  });

  test('an unknown id exits 3', async () => {
    const r = await as('alice', ['app', 'get', '00000000-0000-4000-8000-000000000000']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^error: /);
    assert.equal((await as('alice', ['tag', 'get', 'no-such-tag'])).code, 3);
    assert.equal((await as('alice', ['app', 'delete', '00000000-0000-4000-8000-000000000000'])).code, 3);
  });

  test('a wrong token exits 4 and says to check the token', async () => {
    const file = join(dir, 'wrong.toml');
    assert.equal((await h2o(['--config', file, 'config', 'setup', '--endpoint', api.url, '--token', 'not-a-real-token'])).code, 0);
    const r = await h2o(['--config', file, 'app', 'list']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /has expired or its token is not valid: sign in again with `h2o config setup`, or set a new token with `h2o config setup --token TOKEN`/);
    assert.equal(r.stdout, '');
  });

  test('server errors with field issues print each issue on its own line and exit 2', async () => {
    const r = await as('root', ['tag', 'create', 'Bad Name']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: invalid request: body\.name.*\n {2}body\.name: /);
  });

  test('a server that is down exits 1 with "cannot reach"', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await as('alice', ['--endpoint', `http://127.0.0.1:${port}`, 'app', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED — is the server running\\? check \`h2o config show\``));
  });

  test('a server that was stopped exits 1 with "cannot reach" and what to check', async () => {
    const gone = await startTestApi({ db: 'pglite', store: 'fs' });
    const file = join(dir, `stopped${n++}.toml`);
    assert.equal((await h2o(['--config', file, '--endpoint', gone.url, 'config', 'setup', '--token', USERS.alice.token])).code, 0);
    assert.equal((await h2o(['--config', file, 'app', 'list'])).code, 0, 'reachable while it runs');
    await gone.close();
    for (const args of [['app', 'list'], ['instance', 'list'], ['bundle', 'import', '--app-dir', await appCopy()]]) {
      const r = await h2o(['--config', file, ...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: cannot reach ${gone.url.replace(/\./g, '\\.')}: ECONNREFUSED — is the server running\\? check \`h2o config show\``));
    }
  });

  test('a folder without app.toml exits 2 before anything is sent', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    const r = await as('alice', ['bundle', 'import'], empty);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no app\.toml/);
  });

  test('app delete removes it; --help of every command shows an example', async () => {
    const r = await as('alice', ['app', 'delete', imported.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await as('alice', ['app', 'get', imported.id])).code, 3);
    for (const cmd of [['config', 'setup'], ['config', 'use'], ['config', 'list'], ['config', 'show'], ['app', 'list'], ['app', 'get'], ['app', 'update'], ['app', 'delete'], ['app', 'transfer'], ['app', 'download'], ['bundle', 'import'], ['tag', 'list'], ['tag', 'get'], ['tag', 'assign'], ['tag', 'remove'], ['tag', 'update'], ['tag', 'create'], ['tag', 'delete'], ['token', 'create'], ['token', 'list'], ['token', 'revoke']]) {
      const h = await h2o([...cmd, '--help']);
      assert.equal(h.code, 0, cmd.join(' '));
      assert.match(h.stdout, new RegExp(`Usage: h2o ${cmd.join(' ')}`));
      assert.match(h.stdout, new RegExp(`Examples?:\\n {2}\\$ h2o (--profile \\S+ )?${cmd.join(' ')}`), cmd.join(' '));
    }
  });

  test('on a terminal, bundle import shows upload progress on stderr', { skip: !SCRIPT && 'needs util-linux script(1) for a pseudo-terminal' }, async () => {
    const app = await appCopy('0.9.0');
    const r = await runNodeOnTerminal(H2O, ['--config', cfg, '--profile', 'alice', 'bundle', 'import', '--app-dir', app], { cwd: dir, env: { HOME: join(dir, 'home') } });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\ruploading \d+\.\d MiB \/ \d+\.\d MiB 100%/);
    assert.match(r.stdout, /Version\s+0\.9\.0/);
  });
});

describe('h2o against servers that misbehave or refuse', () => {
  let cfgOf: (url: string) => Promise<string>;
  before(() => {
    cfgOf = async (url) => {
      const file = join(dir, `edge${n++}.toml`);
      assert.equal((await h2o(['--config', file, '--endpoint', url, 'config', 'setup', '--token', USERS.alice.token])).code, 0);
      return file;
    };
  });

  test('a bundle over the server limit exits 2 with the server message', async () => {
    const small = await startTestApi({ db: 'pglite', store: 'fs', flags: { 'Server.MaxUploadSize': '1Ki' } });
    try {
      const r = await h2o(['--config', await cfgOf(small.url), 'bundle', 'import', '--app-dir', await appCopy()]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: the bundle is \d+ bytes, over the 1024-byte limit \(Server\.MaxUploadSize\)/);
    } finally {
      await small.close();
    }
  });

  test('a download whose bytes do not match X-Bundle-SHA256 exits 1 and keeps nothing', async () => {
    let corrupt = false;
    const flaky = await startTestApi({
      db: 'pglite',
      store: 'fs',
      wrapBlobs: (b) => ({
        ...b,
        putFile: b.putFile.bind(b),
        putBuffer: b.putBuffer.bind(b),
        delete: b.delete.bind(b),
        exists: b.exists.bind(b),
        stagingDir: b.stagingDir.bind(b),
        close: b.close.bind(b),
        async get(key) {
          const o = await b.get(key);
          if (!corrupt) return o;
          let first = true;
          // Same length, one byte flipped: only the checksum can tell.
          const flip = new Transform({
            transform(chunk: Buffer, _enc, done) {
              if (first) chunk = Buffer.concat([Buffer.from([chunk[0]! ^ 0xff]), chunk.subarray(1)]);
              first = false;
              done(null, chunk);
            },
          });
          return { ...o, stream: o.stream.pipe(flip) };
        },
      }),
    });
    try {
      const cfg = await cfgOf(flaky.url);
      const imp = await h2o(['--config', cfg, 'bundle', 'import', '--app-dir', await appCopy(), '-o', 'json']);
      assert.equal(imp.code, 0, imp.stderr);
      const id = (JSON.parse(imp.stdout) as App).id;
      corrupt = true;
      const cwd = await mkdtemp(join(dir, 'bad-dl-'));
      const r = await h2o(['--config', cfg, 'app', 'download', id], { cwd });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: the downloaded bundle's SHA-256 is [0-9a-f]{64} but the server announced [0-9a-f]{64}; nothing was kept/);
      assert.deepEqual(await readdir(cwd), []);
    } finally {
      await flaky.close();
    }
  });
});
