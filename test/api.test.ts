// needs: postgres, s3
/**
 * The catalog API end to end over real HTTP: real bundles, a real database
 * (PGlite and PostgreSQL) and a real blob store (a folder and an S3 server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { signLauncherToken } from '../src/auth/launcher-token.ts';
import { buildRawZip } from '../src/bundle/raw-zip.ts';
import type { BlobStore } from '../src/storage/blob-store.ts';
import { makeBundle } from './support/bundles.ts';
import { startTestApi, USERS, type TestApi, type TestApiOptions } from './support/api-server.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

/** Every key in the blob store (staging folder excluded). */
async function blobKeys(t: TestApi): Promise<string[]> {
  const s = t.config.storage;
  if (s.kind === 'fs') {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else out.push(relative(s.path, p));
      }
    };
    walk(s.path);
    return out.filter((k) => k.startsWith('apps/')).sort();
  }
  const c = new S3Client({ endpoint: s.s3Endpoint, region: s.s3Region, forcePathStyle: true, credentials: { accessKeyId: s.s3AccessKeyID, secretAccessKey: s.s3SecretAccessKey } });
  const r = await c.send(new ListObjectsV2Command({ Bucket: s.s3Bucket }));
  c.destroy();
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

function suite(name: string, opts: TestApiOptions) {
  describe(`catalog API on ${name}`, () => {
    let t: TestApi;
    let instances = 0;
    before(async () => {
      t = await startTestApi({ ...opts, instances: { countInstancesOfApp: async () => instances }, flags: { 'Scheduler.AppVersionLimit': '4' } });
    });
    after(() => t?.close());

    test('an import stores the app, its icon, screenshots and the exact bundle bytes', async () => {
      const bundle = await makeBundle({ name: 'ai.test.peak', version: '1.0.0', title: 'Peak', category: 'Healthcare', keywords: ['forecast'] });
      const res = await t.importBundle('alice', bundle, 'ALL_USERS');
      assert.equal(res.status, 201);
      const { app, warnings } = await json(res);
      assert.deepEqual(warnings, []);
      assert.equal(app.name, 'ai.test.peak');
      assert.equal(app.owner, 'alice');
      assert.equal(app.ownerName, 'alice@example.com');
      assert.equal(app.visibility, 'ALL_USERS');
      assert.equal(app.module, 'app.run');
      assert.equal(app.bundleSize, bundle.length);
      assert.equal(app.bundleSha256, createHash('sha256').update(bundle).digest('hex'));

      const icon = await t.fetch('bob', app.iconUrl);
      assert.equal(icon.status, 200);
      assert.equal(icon.headers.get('content-type'), 'image/png');
      assert.match(icon.headers.get('cache-control') ?? '', /immutable/);
      assert.deepEqual([...new Uint8Array(await icon.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      const shot = await t.fetch('bob', app.screenshotUrls[0]);
      assert.equal(shot.status, 200);

      const dl = await t.fetch('alice', `/api/v1/apps/${app.id}/bundle`);
      assert.equal(dl.status, 200);
      assert.ok(Buffer.from(await dl.arrayBuffer()).equals(bundle), 'downloaded bundle is byte-identical');
      assert.equal(dl.headers.get('x-bundle-sha256'), app.bundleSha256);
      assert.equal((await t.fetch('bob', `/api/v1/apps/${app.id}/bundle`)).status, 403, 'only owner/admin download bundles');
      assert.equal((await t.fetch('root', `/api/v1/apps/${app.id}/bundle`)).status, 200);
    });

    test('a launcher token downloads its own app\'s bundle and nothing else', async () => {
      const { app } = await json(await t.importBundle('alice', await makeBundle({ name: 'ai.test.launch', version: '1.0.0' })));
      const other = (await json(await t.fetch('alice', '/api/v1/apps?scope=mine'))).items.find((a: Json) => a.id !== app.id);
      const token = signLauncherToken(t.launcherKey, { app: app.id, instance: 'inst-1', exp: Math.floor(Date.now() / 1000) + 60 });
      const as = (path: string, tok = token) => fetch(t.url + path, { headers: { authorization: `Bearer ${tok}` } });
      const ok = await as(`/api/v1/apps/${app.id}/bundle`);
      assert.equal(ok.status, 200, 'a PRIVATE app\'s bundle, for its launcher');
      assert.equal(Buffer.from(await ok.arrayBuffer()).length, app.bundleSize);
      assert.equal((await as(`/api/v1/apps/${other.id}/bundle`)).status, 403, 'another app');
      assert.equal((await as(`/api/v1/apps/${app.id}`)).status, 403, 'not the app record');
      assert.equal((await as('/api/v1/apps')).status, 403, 'not the catalog');
      const expired = signLauncherToken(t.launcherKey, { app: app.id, exp: Math.floor(Date.now() / 1000) - 1 });
      assert.equal((await as(`/api/v1/apps/${app.id}/bundle`, expired)).status, 401);
      const forged = signLauncherToken(Buffer.alloc(32), { app: app.id, exp: Math.floor(Date.now() / 1000) + 60 });
      assert.equal((await as(`/api/v1/apps/${app.id}/bundle`, forged)).status, 401);
    });

    test('a second import of the same name and version is refused and stores nothing', async () => {
      const before = await blobKeys(t);
      const res = await t.importBundle('alice', await makeBundle({ name: 'ai.test.peak', version: '1.0.0' }));
      assert.equal(res.status, 409);
      assert.match((await json(res)).message, /ai\.test\.peak version 1\.0\.0 already exists; bump \[App\] Version/);
      assert.deepEqual(await blobKeys(t), before);
    });

    test('an invalid manifest is refused with every problem by field, and stores nothing', async () => {
      const before = await blobKeys(t);
      // h2o bundle refuses to write this, so build the archive by hand.
      const toml = '[App]\nName = "ai.test.bad"\nVersion = "one"\n[Runtime]\nModule = "app.run"\nMemoryLimit = "lots"\n[[Env]]\nName = "H2O_CLOUD_X"\nValue = "1"\n';
      const res = await t.importBundle('alice', buildRawZip([{ name: 'app.toml', data: Buffer.from(toml) }]));
      assert.equal(res.status, 400);
      const body = await json(res);
      const paths = body.issues.map((i: Json) => i.path);
      for (const p of ['App.Version', 'Runtime.MemoryLimit', 'Env[0].Name']) assert.ok(paths.includes(p), `${p} in ${paths}`);
      assert.deepEqual(await blobKeys(t), before);
    });

    test('hostile archives are refused: path traversal, symlinks, not a zip', async () => {
      const toml = Buffer.from('[App]\nName = "ai.test.evil"\nVersion = "1.0.0"\n[Runtime]\nModule = "evil"\n');
      const traversal = buildRawZip([{ name: 'app.toml', data: toml }, { name: '../../etc/cron.d/x', data: Buffer.from('boom') }]);
      let res = await t.importBundle('alice', traversal);
      assert.equal(res.status, 400);
      assert.match((await json(res)).message, /\.\./);
      const symlink = buildRawZip([{ name: 'app.toml', data: toml }, { name: 'static/icon.png', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }]);
      res = await t.importBundle('alice', symlink);
      assert.equal(res.status, 400);
      assert.match((await json(res)).message, /symlink|symbolic link/i);
      res = await t.importBundle('alice', Buffer.from('this is not a zip file at all'));
      assert.equal(res.status, 400);
      assert.equal((await json(res)).error, 'Invalid');
    });

    test('a bundle whose local file header disagrees with the central directory on an entry the import never reads is refused (issue #24 item 8a)', async () => {
      const good = await makeBundle({ name: 'ai.test.localhdr', version: '1.0.0' });
      const local = good.indexOf(Buffer.from('app/run.py')) - 30;
      assert.equal(good.readUInt32LE(local), 0x04034b50, 'the first copy of the name is in the local header');
      const before = await blobKeys(t);
      const renamed = Buffer.from(good);
      renamed.write('m', local + 30 + 'app/ru'.length);
      const method = Buffer.from(good);
      method.writeUInt16LE(method.readUInt16LE(local + 8) === 8 ? 0 : 8, local + 8);
      for (const [what, bytes, message] of [
        ['name', renamed, /names a different file in its local header \("app\/rum\.py"\)/],
        ['method', method, /uses compression method \d in its local header but \d in the central directory/],
      ] as const) {
        const res = await t.importBundle('alice', bytes);
        assert.equal(res.status, 400, what);
        const body = await json(res);
        assert.equal(body.issues[0].path, 'app/run.py', what);
        assert.match(body.issues[0].message, message);
        assert.match(body.message, /re-create the archive with a standard zip tool/);
      }
      // The unmodified bundles (yazl, with data descriptors) import in every other test here; alice's AppVersionLimit is kept for them.
      assert.deepEqual(await blobKeys(t), before, 'nothing stored');
    });

    test('an upload over the size limit is refused with 413 before it is stored', async () => {
      const small = await startTestApi({ ...opts, flags: { 'Server.MaxUploadSize': '1Ki' } });
      try {
        const res = await small.importBundle('alice', await makeBundle({ name: 'ai.test.big', version: '1.0.0' }));
        assert.equal(res.status, 413);
        assert.match((await json(res)).message, /Server\.MaxUploadSize/);
        // Without Content-Length (chunked) the limit is enforced while streaming.
        const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request(`${small.url}/api/v1/apps`, { method: 'POST', headers: { authorization: `Bearer ${USERS.alice.token}`, 'content-type': 'application/zip', 'transfer-encoding': 'chunked' } }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512, i));
          req.end();
        });
        assert.equal(chunked.status, 413);
        assert.match(chunked.body, /Server\.MaxUploadSize/);
        assert.deepEqual(await blobKeys(small), []);
        assert.deepEqual(readdirSync(small.blobs.stagingDir()), [], 'the partial upload is removed');
      } finally {
        await small.close();
      }
    });

    test('visibility decides who sees an app; unseen apps are 404, not 403', async () => {
      const { app } = await json(await t.importBundle('alice', await makeBundle({ name: 'ai.test.vis', version: '1.0.0', title: 'Vis' })));
      const seen = async (u: Parameters<TestApi['fetch']>[0]) => (await t.fetch(u, `/api/v1/apps/${app.id}`)).status;
      assert.deepEqual([await seen('alice'), await seen('bob'), await seen('vic'), await seen('anonymous'), await seen('root')], [200, 404, 404, 404, 200]);
      assert.equal((await t.fetch('bob', `/api/v1/apps/${app.id}`, { method: 'PATCH', body: JSON.stringify({ visibility: 'PUBLIC' }), headers: { 'content-type': 'application/json' } })).status, 404);
      const upd = await t.fetch('alice', `/api/v1/apps/${app.id}`, { method: 'PATCH', body: JSON.stringify({ visibility: 'ALL_USERS' }), headers: { 'content-type': 'application/json' } });
      assert.equal(upd.status, 200);
      assert.deepEqual([await seen('bob'), await seen('vic'), await seen('tina'), await seen('anonymous')], [200, 404, 404, 404]);
      assert.equal((await t.fetch('bob', `/api/v1/apps/${app.id}`, { method: 'PATCH', body: JSON.stringify({ visibility: 'PRIVATE' }), headers: { 'content-type': 'application/json' } })).status, 403);
      // A tag naming the visitors' role opens the app to those visitors only.
      const tag = await json(await t.fetch('root', '/api/v1/tags', { method: 'POST', body: JSON.stringify({ name: 'beta', visitorRoles: ['beta-testers'], adminRoles: ['editors'] }), headers: { 'content-type': 'application/json' } }));
      assert.equal((await t.fetch('alice', `/api/v1/apps/${app.id}/tags/beta`, { method: 'PUT' })).status, 403, 'alice lacks the tag admin role');
      assert.equal((await t.fetch('bob', `/api/v1/apps/${app.id}/tags/${tag.id}`, { method: 'PUT' })).status, 200);
      assert.deepEqual([await seen('vic'), await seen('tina')], [404, 200]);
      await t.fetch('alice', `/api/v1/apps/${app.id}`, { method: 'PATCH', body: JSON.stringify({ visibility: 'PUBLIC' }), headers: { 'content-type': 'application/json' } });
      assert.deepEqual([await seen('vic'), await seen('anonymous')], [200, 200]);
      // The manifest (with [[File]] values) is for the owner and admins only.
      assert.ok((await json(await t.fetch('alice', `/api/v1/apps/${app.id}`))).manifest);
      assert.equal((await json(await t.fetch('anonymous', `/api/v1/apps/${app.id}`))).manifest, undefined);
    });

    test('listing: mine vs all, search, category and tag filters, cursor pages', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await t.importBundle('bob', await makeBundle({ name: `ai.test.list${i}`, version: '1.0.0', title: `Lister ${i}`, category: i === 0 ? 'Retail' : 'Sales', keywords: i === 2 ? ['needle'] : [] }), 'ALL_USERS')).status, 201);
      const mine = await json(await t.fetch('bob', '/api/v1/apps?scope=mine'));
      assert.deepEqual(mine.items.map((a: Json) => a.title).sort(), ['Lister 0', 'Lister 1', 'Lister 2']);
      assert.deepEqual((await json(await t.fetch('alice', '/api/v1/apps?search=NEEDLE'))).items.map((a: Json) => a.name), ['ai.test.list2']);
      assert.deepEqual((await json(await t.fetch('alice', '/api/v1/apps?search=lister&category=Retail'))).items.map((a: Json) => a.name), ['ai.test.list0']);
      assert.deepEqual((await json(await t.fetch('alice', '/api/v1/apps?tag=beta'))).items.map((a: Json) => a.name), ['ai.test.vis']);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await json(await t.fetch('alice', `/api/v1/apps?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((a: Json) => a.id));
        cursor = page.nextCursor;
      } while (cursor);
      const all = await json(await t.fetch('alice', '/api/v1/apps?limit=500'));
      assert.deepEqual(seen, all.items.map((a: Json) => a.id));
      assert.equal(new Set(seen).size, seen.length);
      const bad = await t.fetch('alice', '/api/v1/apps?cursor=garbage');
      assert.equal(bad.status, 400);
      assert.match((await json(bad)).issues[0].path, /cursor/);
      const badLimit = await t.fetch('alice', '/api/v1/apps?limit=100000');
      assert.equal(badLimit.status, 400);
      assert.match((await json(badLimit)).message, /limit/);
    });

    test('an app name belongs to its first importer: another user is refused with one answer, whether the app is PRIVATE or visible (issue #24 item 6)', async () => {
      // A server of its own: the suite's AppVersionLimit of 4 would stop these imports.
      const t = await startTestApi(opts);
      try {
      const put = (u: 'root' | 'alice' | 'bob', name: string, body: Json) =>
        t.fetch(u, `/api/v1/app-names/${encodeURIComponent(name)}/owner`, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      assert.equal((await t.importBundle('alice', await makeBundle({ name: 'ai.test.own-private', version: '1.0.0' }), 'PRIVATE')).status, 201);
      const shared = await json(await t.importBundle('alice', await makeBundle({ name: 'ai.test.own-shared', version: '1.0.0' }), 'ALL_USERS'));
      const before = await blobKeys(t);
      // Existing version or new, PRIVATE or visible: bob gets the same status and the same words.
      const answers = [];
      for (const [name, version] of [['ai.test.own-private', '1.0.0'], ['ai.test.own-private', '9.0.0'], ['ai.test.own-shared', '1.0.0'], ['ai.test.own-shared', '9.0.0']] as const) {
        const res = await t.importBundle('bob', await makeBundle({ name, version }), 'PUBLIC');
        const body = await json(res);
        answers.push(`${res.status} ${body.error} ${body.message.replaceAll(name, 'NAME')}`);
      }
      assert.equal(new Set(answers).size, 1, answers.join('\n'));
      assert.match(answers[0]!, /^403 Forbidden app name NAME is not available to you: another user owns it; choose another \[App\] Name in app\.toml/);
      assert.doesNotMatch(answers[0]!, /PRIVATE|version|exists/);
      assert.deepEqual(await blobKeys(t), before, 'a refused import stores nothing');
      // The owner goes on importing; their own duplicate version is still a 409.
      assert.equal((await t.importBundle('alice', await makeBundle({ name: 'ai.test.own-private', version: '1.1.0' }))).status, 201);
      assert.equal((await t.importBundle('alice', await makeBundle({ name: 'ai.test.own-private', version: '1.0.0' }))).status, 409);
      // Admins import under any name; the version says who imported it.
      const byRoot = await json(await t.importBundle('root', await makeBundle({ name: 'ai.test.own-shared', version: '1.2.0' }), 'ALL_USERS'));
      assert.equal(byRoot.app.owner, 'root');
      const versions = await json(await t.fetch('bob', `/api/v1/apps/${shared.app.id}/versions`));
      assert.deepEqual(versions.map((v: Json) => `${v.version} ${v.owner}`), ['1.2.0 root', '1.0.0 alice']);
      // Transfers are for admins; then the new owner imports and the old one is refused.
      assert.equal((await put('alice', 'ai.test.own-shared', { owner: 'bob' })).status, 403);
      assert.equal((await put('root', 'ai.test.nobody-imported-this', { owner: 'bob' })).status, 404);
      const moved = await put('root', 'ai.test.own-shared', { owner: 'bob', ownerName: 'bob@example.com' });
      assert.equal(moved.status, 200);
      assert.deepEqual(await json(moved), { name: 'ai.test.own-shared', owner: 'bob', ownerName: 'bob@example.com' });
      const bobs = await t.importBundle('bob', await makeBundle({ name: 'ai.test.own-shared', version: '2.0.0' }));
      assert.equal(bobs.status, 201);
      const refused = await t.importBundle('alice', await makeBundle({ name: 'ai.test.own-shared', version: '2.1.0' }));
      assert.equal(refused.status, 403);
      assert.match((await json(refused)).message, /app name ai\.test\.own-shared is not available to you/);
      } finally {
        await t.close();
      }
    });

    test('the app version limit stops imports past AppVersionLimit, admins excepted', async () => {
      // bob owns 3 apps already; the limit is 4.
      assert.equal((await t.importBundle('bob', await makeBundle({ name: 'ai.test.limit', version: '1.0.0' }))).status, 201);
      const res = await t.importBundle('bob', await makeBundle({ name: 'ai.test.limit', version: '1.0.1' }));
      assert.equal(res.status, 403);
      assert.match((await json(res)).message, /AppVersionLimit\) is 4/);
      assert.equal((await t.importBundle('vic', await makeBundle({ name: 'ai.test.visitor', version: '1.0.0' }))).status, 403, 'visitors cannot import');
      assert.equal((await t.importBundle('anonymous', await makeBundle({ name: 'ai.test.anon', version: '1.0.0' }))).status, 403);
    });

    test('versions of one app name are listed together', async () => {
      await t.importBundle('root', await makeBundle({ name: 'ai.test.multi', version: '1.0.0' }), 'ALL_USERS');
      const { app } = await json(await t.importBundle('root', await makeBundle({ name: 'ai.test.multi', version: '1.1.0' }), 'ALL_USERS'));
      await t.importBundle('root', await makeBundle({ name: 'ai.test.multi', version: '2.0.0-rc.1' }));
      assert.deepEqual((await json(await t.fetch('alice', `/api/v1/apps/${app.id}/versions`))).map((a: Json) => a.version).sort(), ['1.0.0', '1.1.0']);
      assert.equal((await json(await t.fetch('root', `/api/v1/apps/${app.id}/versions`))).length, 3);
    });

    test('delete: refused while instances exist, then removes the row and every blob', async () => {
      const { app } = await json(await t.importBundle('alice', await makeBundle({ name: 'ai.test.del', version: '1.0.0' })));
      const keys = (await blobKeys(t)).filter((k) => k.includes(app.id));
      assert.equal(keys.length, 3, `bundle, icon, screenshot: ${keys}`);
      assert.equal((await t.fetch('bob', `/api/v1/apps/${app.id}`, { method: 'DELETE' })).status, 404);
      instances = 2;
      const refused = await t.fetch('alice', `/api/v1/apps/${app.id}`, { method: 'DELETE' });
      assert.equal(refused.status, 409);
      assert.match((await json(refused)).message, /2 instance\(s\)/);
      instances = 0;
      assert.equal((await t.fetch('alice', `/api/v1/apps/${app.id}`, { method: 'DELETE' })).status, 204);
      assert.equal((await t.fetch('alice', `/api/v1/apps/${app.id}`)).status, 404);
      assert.deepEqual((await blobKeys(t)).filter((k) => k.includes(app.id)), []);
    });

    test('tags: admins create and delete; tag admins update (admins only when it lists none); names and colours are validated', async () => {
      const mk = (u: 'root' | 'alice', body: Json) => t.fetch(u, '/api/v1/tags', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      assert.equal((await mk('alice', { name: 'x' })).status, 403);
      const bad = await mk('root', { name: 'Bad Name', color: 'red' });
      assert.equal(bad.status, 400);
      assert.match(JSON.stringify((await json(bad)).issues), /body\.(name|color)/);
      const tag = await json(await mk('root', { name: 'featured', title: 'Featured', color: '#ff0000' }));
      assert.equal((await mk('root', { name: 'featured' })).status, 409);
      const hijack = await t.fetch('alice', `/api/v1/tags/featured`, { method: 'PATCH', body: JSON.stringify({ adminRoles: ['alice-friends'] }), headers: { 'content-type': 'application/json' } });
      assert.equal(hijack.status, 403, 'empty admin roles: admins only (issue #24 8c), a full-access user cannot rewrite who administers it');
      assert.match((await json(hijack)).message, /admin/);
      const upd = await t.fetch('root', `/api/v1/tags/featured`, { method: 'PATCH', body: JSON.stringify({ color: '#00ff00' }), headers: { 'content-type': 'application/json' } });
      assert.equal(upd.status, 200);
      const updated = await json(upd);
      assert.equal(updated.color, '#00ff00');
      assert.deepEqual(updated.adminRoles, []);
      assert.equal((await t.fetch('vic', `/api/v1/tags/featured`, { method: 'PATCH', body: JSON.stringify({ color: '#0000ff' }), headers: { 'content-type': 'application/json' } })).status, 403);
      assert.equal((await json(await t.fetch('anonymous', '/api/v1/tags'))).some((x: Json) => x.name === 'featured'), true);
      assert.equal((await t.fetch('alice', `/api/v1/tags/${tag.id}`, { method: 'DELETE' })).status, 403);
      assert.equal((await t.fetch('root', `/api/v1/tags/${tag.id}`, { method: 'DELETE' })).status, 204);
      assert.equal((await t.fetch('root', `/api/v1/tags/featured`)).status, 404);
    });

    test('errors: unknown ids are 404 with a message; the OpenAPI document describes the routes', async () => {
      const r = await t.fetch('alice', '/api/v1/apps/00000000-0000-0000-0000-000000000000');
      assert.equal(r.status, 404);
      assert.equal((await json(r)).error, 'NotFound');
      assert.equal((await t.fetch('alice', '/api/v1/apps/not-a-uuid')).status, 404);
      assert.equal((await t.fetch('anonymous', '/api/v1/apps', { headers: { authorization: 'Bearer wrong-token-xxxxxxxxxx' } })).status, 401);
      const doc = await json(await t.fetch('anonymous', '/openapi.json'));
      for (const p of ['/api/v1/apps', '/api/v1/apps/{id}', '/api/v1/apps/{id}/bundle', '/api/v1/tags', '/api/v1/apps/{id}/tags/{tag}', '/api/v1/app-names/{name}/owner']) assert.ok(doc.paths[p], p);
      assert.ok(doc.components.schemas.App);
    });
  });
}

suite('PGlite + filesystem store', { db: 'pglite', store: 'fs' });
suite('PostgreSQL + S3 store', { db: 'postgres', store: 's3' });

describe('an import that fails half-way', () => {
  test('leaves neither a row nor orphaned blobs', async () => {
    // The real store, made to fail when the bundle itself is stored (after icon and screenshot).
    const failing = (b: BlobStore): BlobStore =>
      Object.assign(Object.create(b) as BlobStore, { putFile: async () => Promise.reject(new Error('disk full (injected)')) });
    const t = await startTestApi({ db: 'pglite', store: 'fs', wrapBlobs: failing });
    try {
      const res = await t.importBundle('alice', await makeBundle({ name: 'ai.test.half', version: '1.0.0' }));
      assert.equal(res.status, 500);
      assert.equal((await json(res)).message, 'internal server error; the server log has the details', 'no internals leak');
      assert.deepEqual((await json(await t.fetch('root', '/api/v1/apps'))).items, []);
      assert.deepEqual(await blobKeys(t), []);
    } finally {
      await t.close();
    }
  });
});
