// needs: postgres
/**
 * The App Repository against both engines it runs on: embedded PGlite (in
 * memory) and a real PostgreSQL server, with the same test body.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { canSeeApp } from '../src/auth/policy.ts';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../src/lib/errors.ts';
import type { Principal, Viewer, Visibility } from '../src/lib/principal.ts';
import { AppRepository, nameNotAvailable } from '../src/repository/apps.ts';
import type { AppRecord, NewApp, VisibilityPolicy } from '../src/repository/apps.ts';
import { openDatabase } from '../src/repository/db.ts';
import type { Database } from '../src/repository/db.ts';
import { appNames, appTags, apps } from '../src/repository/schema.ts';
import { TagRepository } from '../src/repository/tags.ts';
import { createTestDatabase } from './support/pg-database.ts';
import type { TestDatabase } from './support/pg-database.ts';
import { rejection } from './support/rejection.ts';

let seq = 0;
function newApp(over: Partial<NewApp> = {}): NewApp {
  seq++;
  return {
    name: `ai.h2o.test.app${seq}`,
    version: '1.0.0',
    title: `App ${seq}`,
    description: '',
    category: 'Other',
    keywords: [],
    owner: 'alice',
    ownerName: 'alice@example.com',
    visibility: 'PRIVATE',
    manifest: { App: { Name: `ai.h2o.test.app${seq}`, Version: '1.0.0' } },
    format: 'wave',
    bundleKey: `apps/x${seq}/bundle.wave`,
    bundleSha256: 'a'.repeat(64),
    bundleSize: 1234,
    ...over,
  };
}

function principal(subject: string, kind: 'admin' | 'full' | 'visitor', roles: string[] = []): Principal {
  return { subject, name: `${subject}@example.com`, roles, admin: kind === 'admin', fullAccess: kind !== 'visitor' };
}

const anon: Viewer = null;
const admin = principal('root', 'admin', ['admin']);
const alice = principal('alice', 'full');
const bob = principal('bob', 'full');
const vera = principal('vera', 'visitor', ['partner']);
const val = principal('val', 'visitor', ['other']);
const vic = principal('vic', 'visitor');
const open: VisibilityPolicy = { publicAccess: true };
const closed: VisibilityPolicy = { publicAccess: false };

function titles(items: AppRecord[]): string[] {
  return items.map((a) => a.title).sort();
}

function repositorySuite(engine: string, openDb: () => Promise<{ database: Database; cleanup: () => Promise<void> }>): void {
  describe(`App Repository on ${engine}`, () => {
    let database: Database;
    let cleanup: () => Promise<void>;
    let repo: AppRepository;
    let tagRepo: TagRepository;

    before(async () => {
      ({ database, cleanup } = await openDb());
      repo = new AppRepository(database);
      tagRepo = new TagRepository(database);
    });
    after(async () => {
      await database?.close();
      await cleanup?.();
    });
    beforeEach(async () => {
      await database.db.execute(sql`truncate table app_tags, apps, tags, app_names`);
    });

    test('create stores every field and get returns it by id', async () => {
      const input = newApp({
        title: 'Peak',
        description: 'Forecast of spread',
        category: 'Healthcare',
        keywords: ['covid', 'forecast'],
        visibility: 'ALL_USERS',
        format: 'qz',
        bundleSize: 5_000_000_000,
        iconKey: 'apps/x/icon',
        iconType: 'image/png',
        screenshots: [{ key: 'apps/x/screenshots/0', type: 'image/jpeg' }],
        longDescription: '# Peak',
        runtimeVersion: 'deb10_py37_wlatest',
        manifest: { App: { Name: 'n', Version: '1.0.0' }, Runtime: { Module: 'app.run' } },
      });
      const created = await repo.create(input);
      assert.match(created.id, /^[0-9a-f-]{36}$/);
      assert.ok(created.createdAt instanceof Date);
      assert.deepEqual(created.tags, []);
      const got = await repo.get(created.id);
      assert.deepEqual(got, created);
      for (const k of ['name', 'version', 'title', 'description', 'category', 'keywords', 'owner', 'ownerName', 'visibility', 'manifest', 'format', 'bundleKey', 'bundleSha256', 'bundleSize', 'iconKey', 'iconType', 'screenshots', 'longDescription', 'runtimeVersion'] as const) {
        assert.deepEqual(got[k], input[k], k);
      }
      assert.deepEqual(await repo.getByNameVersion(input.name, '1.0.0'), created);
    });

    test('create accepts a caller-chosen id and defaults optional fields', async () => {
      const id = randomUUID();
      const created = await repo.create({ ...newApp(), id, description: undefined, keywords: undefined, visibility: undefined, iconKey: undefined });
      assert.equal(created.id, id);
      assert.equal(created.description, '');
      assert.deepEqual(created.keywords, []);
      assert.equal(created.visibility, 'PRIVATE');
      assert.equal(created.iconKey, null);
      assert.deepEqual(created.screenshots, []);
    });

    test('a second import of the same name and version is refused with ConflictError', async () => {
      const input = newApp({ name: 'ai.h2o.dup', version: '0.1.2' });
      await repo.create(input);
      await rejection(repo.create({ ...input }), ConflictError, /^app ai\.h2o\.dup version 0\.1\.2 already exists; bump \[App\] Version in app\.toml$/);
      await repo.create({ ...input, version: '0.1.3' });
      assert.equal(await repo.countByOwner('alice'), 2);
    });

    test('an app name belongs to its first importer: others are refused before the version is looked at, admins (anyName) are not', async () => {
      await repo.create(newApp({ name: 'ai.h2o.owned', version: '1.0.0' }));
      const refusal = nameNotAvailable('ai.h2o.owned').message;
      for (const version of ['1.0.0', '2.0.0']) {
        const err = await rejection(repo.create(newApp({ name: 'ai.h2o.owned', version, owner: 'bob', ownerName: 'bob@example.com' })), ForbiddenError);
        assert.equal(err.message, refusal, 'the same answer for an existing and a new version');
      }
      assert.deepEqual(await repo.nameOwner('ai.h2o.owned'), { name: 'ai.h2o.owned', owner: 'alice', ownerName: 'alice@example.com' });
      await repo.create(newApp({ name: 'ai.h2o.owned', version: '1.1.0' }));
      const byRoot = await repo.create(newApp({ name: 'ai.h2o.owned', version: '1.2.0', owner: 'root' }), { anyName: true });
      assert.equal(byRoot.owner, 'root');
      assert.equal((await repo.nameOwner('ai.h2o.owned'))?.owner, 'alice', 'an admin import does not take the name');
      assert.equal(await repo.countByOwner('bob'), 0);
      assert.equal(await repo.nameOwner('ai.h2o.never'), null);
    });

    test('transferName moves the name: the new owner imports, the old one is refused; an unknown name is NotFoundError', async () => {
      await repo.create(newApp({ name: 'ai.h2o.moving', version: '1.0.0' }));
      assert.deepEqual(await repo.transferName('ai.h2o.moving', { owner: 'bob', ownerName: 'bob@example.com' }), { name: 'ai.h2o.moving', owner: 'bob', ownerName: 'bob@example.com' });
      await repo.create(newApp({ name: 'ai.h2o.moving', version: '2.0.0', owner: 'bob' }));
      await rejection(repo.create(newApp({ name: 'ai.h2o.moving', version: '3.0.0' })), ForbiddenError, /not available to you/);
      assert.equal((await repo.getByNameVersion('ai.h2o.moving', '1.0.0')).owner, 'alice', 'existing versions keep their owner');
      await rejection(repo.transferName('ai.h2o.nobody', { owner: 'bob', ownerName: 'bob' }), NotFoundError, /app name ai\.h2o\.nobody not found/);
      // Deleting every version leaves the name with its owner.
      for (const v of ['1.0.0', '2.0.0']) await repo.delete((await repo.getByNameVersion('ai.h2o.moving', v)).id);
      await rejection(repo.create(newApp({ name: 'ai.h2o.moving', version: '4.0.0' })), ForbiddenError);
    });

    test('first imports of one name by different users at once: exactly one user ends up with versions of it', async () => {
      const owners = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
      const results = await Promise.allSettled(owners.map((owner, i) => repo.create(newApp({ name: 'ai.h2o.race', version: `1.0.${i}`, owner, ownerName: owner }))));
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 1, results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('\n'));
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ForbiddenError, String(r.reason));
      const winner = (ok[0] as PromiseFulfilledResult<AppRecord>).value.owner;
      assert.equal((await repo.nameOwner('ai.h2o.race'))?.owner, winner);
    });

    test('a name whose versions have no owner row (imported by an older server) belongs to its oldest version\'s importer', async () => {
      await repo.create(newApp({ name: 'ai.h2o.legacy', version: '1.0.0' }));
      await repo.create(newApp({ name: 'ai.h2o.legacy', version: '1.1.0' }));
      await database.db.delete(appNames).where(eq(appNames.name, 'ai.h2o.legacy'));
      // A squat an older server let through, newer than alice's first version.
      await repo.create(newApp({ name: 'ai.h2o.legacy', version: '9.0.0', owner: 'bob' }), { anyName: true });
      await database.db.delete(appNames).where(eq(appNames.name, 'ai.h2o.legacy'));
      assert.equal((await repo.nameOwner('ai.h2o.legacy'))?.owner, 'alice');
      await rejection(repo.create(newApp({ name: 'ai.h2o.legacy', version: '9.1.0', owner: 'bob' })), ForbiddenError);
      await repo.create(newApp({ name: 'ai.h2o.legacy', version: '1.2.0' }));
    });

    test('create rejects bad input naming the field', async () => {
      const err = await rejection(repo.create({ ...newApp(), visibility: 'EVERYONE' as Visibility }), InvalidError);
      assert.deepEqual(err.issues.map((i) => i.path), ['visibility']);
      const err2 = await rejection(repo.create({ ...newApp(), name: '', id: 'nope' }), InvalidError);
      assert.deepEqual(err2.issues.map((i) => i.path), ['name', 'id']);
    });

    test('get of a missing id or a non-uuid is NotFoundError, not a crash', async () => {
      await rejection(repo.get(randomUUID()), NotFoundError);
      await rejection(repo.get('not-a-uuid'), NotFoundError, /not-a-uuid/);
      await rejection(repo.get("'; drop table apps; --"), NotFoundError);
      await rejection(repo.getByNameVersion('nope', '1.0.0'), NotFoundError);
    });

    test('the app version limit refuses the import past it, naming the limit', async () => {
      await repo.create(newApp({ owner: 'carol' }), { appVersionLimit: 2 });
      await repo.create(newApp({ owner: 'carol' }), { appVersionLimit: 2 });
      await rejection(repo.create(newApp({ owner: 'carol' }), { appVersionLimit: 2 }), ForbiddenError, /app version limit \(AppVersionLimit\) is 2/);
      // Others are not affected; no limit means none.
      await repo.create(newApp({ owner: 'dave' }), { appVersionLimit: 2 });
      await repo.create(newApp({ owner: 'carol' }));
      assert.equal(await repo.countByOwner('carol'), 3);
    });

    test('concurrent imports cannot exceed the app version limit together', async () => {
      const limit = 3;
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => repo.create(newApp({ owner: 'erin', version: `1.0.${i}` }), { appVersionLimit: limit })),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(ok.length, limit);
      for (const r of refused) assert.ok((r as PromiseRejectedResult).reason instanceof ForbiddenError, String((r as PromiseRejectedResult).reason));
      assert.equal(await repo.countByOwner('erin'), limit);
    });

    describe('visibility filter', () => {
      // owner × visibility, plus tags that open ALL_USERS apps to visitors.
      async function seed(): Promise<void> {
        const partners = await tagRepo.create({ name: 'partners', color: '#112233', visitorRoles: ['partner', 'x'] });
        const beta = await tagRepo.create({ name: 'beta', color: '#445566' });
        const rows: [string, string, Visibility][] = [
          ['a1', 'alice', 'PRIVATE'],
          ['a2', 'alice', 'ALL_USERS'],
          ['a3', 'alice', 'PUBLIC'],
          ['b1', 'bob', 'PRIVATE'],
          ['b2', 'bob', 'ALL_USERS'],
          ['b3', 'bob', 'ALL_USERS'],
          ['b4', 'bob', 'PUBLIC'],
          ['b5', 'bob', 'PRIVATE'],
          ['v1', 'vera', 'PRIVATE'],
        ];
        for (const [title, owner, visibility] of rows) {
          const a = await repo.create(newApp({ title, owner, visibility }));
          if (title === 'b2' || title === 'b5') await tagRepo.assign(partners.id, a.id);
          if (title === 'b3') await tagRepo.assign(beta.name, a.id);
        }
      }

      const expected: [string, Viewer, VisibilityPolicy, string[]][] = [
        ['anonymous, public access on', anon, open, ['a3', 'b4']],
        ['anonymous, public access off', anon, closed, []],
        ['admin', admin, closed, ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4', 'b5', 'v1']],
        ['full-access alice', alice, closed, ['a1', 'a2', 'a3', 'b2', 'b3', 'b4']],
        ['full-access bob', bob, open, ['a2', 'a3', 'b1', 'b2', 'b3', 'b4', 'b5']],
        ['visitor with a tag role', vera, open, ['a3', 'b2', 'b4', 'v1']],
        ['visitor with another role', val, closed, ['a3', 'b4']],
        ['visitor with no roles', vic, open, ['a3', 'b4']],
      ];

      for (const [who, viewer, policy, want] of expected) {
        test(`scope all: ${who} sees exactly ${want.join(', ') || 'nothing'}`, async () => {
          await seed();
          const page = await repo.list({ scope: 'all' }, viewer, policy);
          assert.deepEqual(titles(page.items), want);
          assert.equal(page.nextCursor, undefined);
        });
      }

      test('the SQL filter gives the same answers as the authorization policy (canSeeApp)', async () => {
        await seed();
        const all = (await repo.list({ scope: 'all' }, admin, open)).items;
        for (const [, viewer] of expected) {
          for (const policy of [open, closed]) {
            const seen = titles((await repo.list({ scope: 'all' }, viewer, policy)).items);
            const allowed = titles(all.filter((a) => canSeeApp(viewer, { owner: a.owner, visibility: a.visibility, tagVisitorRoles: a.tags.map((t) => t.visitorRoles) }, policy)));
            assert.deepEqual(seen, allowed, `${viewer?.subject ?? 'anonymous'} publicAccess=${policy.publicAccess}`);
          }
        }
      });

      test('scope mine is the viewer’s own apps only, whatever their visibility', async () => {
        await seed();
        assert.deepEqual(titles((await repo.list({ scope: 'mine' }, alice, open)).items), ['a1', 'a2', 'a3']);
        assert.deepEqual(titles((await repo.list({ scope: 'mine' }, vera, open)).items), ['v1']);
        assert.deepEqual(titles((await repo.list({ scope: 'mine' }, admin, open)).items), []);
        assert.deepEqual(titles((await repo.list({ scope: 'mine' }, anon, open)).items), []);
      });

      test('listed apps carry their tags', async () => {
        await seed();
        const items = (await repo.list({ scope: 'all' }, admin, open)).items;
        const b2 = items.find((a) => a.title === 'b2');
        assert.deepEqual(b2?.tags.map((t) => t.name), ['partners']);
        assert.deepEqual(b2?.tags[0]?.visitorRoles, ['partner', 'x']);
        assert.deepEqual(items.find((a) => a.title === 'a1')?.tags, []);
      });

      test('listVersions applies the same visibility and sorts by semver, newest first', async () => {
        const name = 'ai.h2o.versions';
        for (const [version, visibility] of [['0.9.0', 'ALL_USERS'], ['0.10.0', 'ALL_USERS'], ['1.0.0-rc.1', 'PRIVATE'], ['0.2.0', 'PUBLIC']] as const) {
          await repo.create(newApp({ name, version, visibility }));
        }
        await repo.create(newApp({ name: 'ai.h2o.other' }));
        assert.deepEqual((await repo.listVersions(name, alice, open)).map((a) => a.version), ['1.0.0-rc.1', '0.10.0', '0.9.0', '0.2.0']);
        assert.deepEqual((await repo.listVersions(name, bob, open)).map((a) => a.version), ['0.10.0', '0.9.0', '0.2.0']);
        assert.deepEqual((await repo.listVersions(name, anon, open)).map((a) => a.version), ['0.2.0']);
        assert.deepEqual(await repo.listVersions(name, anon, closed), []);
      });
    });

    describe('search and filters', () => {
      test('search matches title, description or a keyword, case-insensitively', async () => {
        await repo.create(newApp({ title: 'Forecast Studio', visibility: 'PUBLIC' }));
        await repo.create(newApp({ title: 'Peak', description: 'A FORECAST of spread', visibility: 'PUBLIC' }));
        await repo.create(newApp({ title: 'Tour', keywords: ['demo', 'forecasting'], visibility: 'PUBLIC' }));
        await repo.create(newApp({ title: 'Other', description: 'nothing here', keywords: ['misc'], visibility: 'PUBLIC' }));
        await repo.create(newApp({ title: 'Hidden forecast', visibility: 'PRIVATE', owner: 'bob' }));
        assert.deepEqual(titles((await repo.list({ scope: 'all', search: 'forecast' }, alice, open)).items), ['Forecast Studio', 'Peak', 'Tour']);
        assert.deepEqual(titles((await repo.list({ scope: 'all', search: '  ForeCast ' }, anon, open)).items), ['Forecast Studio', 'Peak', 'Tour']);
        assert.deepEqual(titles((await repo.list({ scope: 'all', search: 'zzz' }, alice, open)).items), []);
        assert.equal((await repo.list({ scope: 'all', search: '' }, alice, open)).items.length, 4);
      });

      test('search treats % and _ literally and never matches across fields', async () => {
        await repo.create(newApp({ title: 'Save 50% now', description: 'abc', keywords: ['x_y'] }));
        await repo.create(newApp({ title: 'Plain', description: 'def', keywords: ['xzy'] }));
        assert.deepEqual(titles((await repo.list({ scope: 'mine', search: '50%' }, alice, open)).items), ['Save 50% now']);
        assert.deepEqual(titles((await repo.list({ scope: 'mine', search: '%' }, alice, open)).items), ['Save 50% now']);
        assert.deepEqual(titles((await repo.list({ scope: 'mine', search: 'x_y' }, alice, open)).items), ['Save 50% now']);
        // "now" ends the title and "abc" is the description: no match spans them.
        assert.deepEqual(titles((await repo.list({ scope: 'mine', search: 'nowabc' }, alice, open)).items), []);
        assert.deepEqual(titles((await repo.list({ scope: 'mine', search: 'now\u0001abc' }, alice, open)).items), []);
        assert.deepEqual(titles((await repo.list({ scope: 'mine', search: 'now abc' }, alice, open)).items), []);
      });

      test('category and tag filters, alone and combined with search', async () => {
        const hc = await repo.create(newApp({ title: 'Peak', category: 'Healthcare', visibility: 'ALL_USERS' }));
        await repo.create(newApp({ title: 'Ward', category: 'Healthcare', visibility: 'ALL_USERS' }));
        const tour = await repo.create(newApp({ title: 'Tour', category: 'Other', visibility: 'ALL_USERS' }));
        await tagRepo.create({ name: 'featured', color: '#ff0000' });
        await tagRepo.assign('featured', hc.id);
        await tagRepo.assign('featured', tour.id);
        assert.deepEqual(titles((await repo.list({ scope: 'all', category: 'Healthcare' }, bob, open)).items), ['Peak', 'Ward']);
        assert.deepEqual(titles((await repo.list({ scope: 'all', tag: 'featured' }, bob, open)).items), ['Peak', 'Tour']);
        assert.deepEqual(titles((await repo.list({ scope: 'all', tag: 'featured', category: 'Other' }, bob, open)).items), ['Tour']);
        assert.deepEqual(titles((await repo.list({ scope: 'all', tag: 'featured', search: 'pea' }, bob, open)).items), ['Peak']);
        assert.deepEqual(titles((await repo.list({ scope: 'all', tag: 'no-such-tag' }, bob, open)).items), []);
      });
    });

    describe('keyset pagination', () => {
      test('walks every row exactly once in (created_at desc, id desc) order, even with tied timestamps', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 23; i++) ids.push((await repo.create(newApp({ visibility: 'ALL_USERS', owner: i % 2 ? 'alice' : 'bob' }))).id);
        // Three groups with identical created_at, so id alone breaks the ties.
        const stamps = ['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.001Z', '2023-05-05T12:00:00.123Z'];
        for (const [i, id] of ids.entries()) {
          await database.db.update(apps).set({ createdAt: new Date(stamps[i % 3] as string) }).where(eq(apps.id, id));
        }
        const want = ids
          .map((id, i) => ({ id, t: Date.parse(stamps[i % 3] as string) }))
          .sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
          .map((r) => r.id);
        for (const viewer of [alice, admin]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await repo.list({ scope: 'all', limit: 5, cursor }, viewer, open);
            assert.ok(page.items.length <= 5);
            seen.push(...page.items.map((a) => a.id));
            cursor = page.nextCursor;
            pages++;
            assert.ok(pages < 20, 'pagination does not end');
          } while (cursor);
          assert.equal(pages, 5);
          assert.deepEqual(seen, want);
          assert.equal(new Set(seen).size, 23);
        }
      });

      test('a page that ends exactly at the last row hands out no cursor', async () => {
        for (let i = 0; i < 4; i++) await repo.create(newApp());
        const first = await repo.list({ scope: 'mine', limit: 2 }, alice, open);
        assert.ok(first.nextCursor);
        const second = await repo.list({ scope: 'mine', limit: 2, cursor: first.nextCursor }, alice, open);
        assert.equal(second.items.length, 2);
        assert.equal(second.nextCursor, undefined);
      });

      test('a bad cursor or limit is InvalidError on that field', async () => {
        for (const cursor of ['garbage', Buffer.from('[1,2]').toString('base64url'), Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', 'x'])).toString('base64url')]) {
          const err = await rejection(repo.list({ scope: 'all', cursor }, alice, open), InvalidError);
          assert.deepEqual(err.issues.map((i) => i.path), ['cursor']);
        }
        for (const limit of [0, 501, 2.5]) {
          const err = await rejection(repo.list({ scope: 'all', limit }, alice, open), InvalidError);
          assert.deepEqual(err.issues.map((i) => i.path), ['limit']);
        }
        assert.equal((await repo.list({ scope: 'all', limit: 500 }, alice, open)).items.length, 0);
      });
    });

    test('updateVisibility changes visibility and nothing else', async () => {
      const a = await repo.create(newApp({ visibility: 'PRIVATE' }));
      const b = await repo.updateVisibility(a.id, 'PUBLIC');
      assert.equal(b.visibility, 'PUBLIC');
      assert.ok(b.updatedAt.getTime() >= a.updatedAt.getTime());
      assert.deepEqual({ ...b, visibility: a.visibility, updatedAt: a.updatedAt }, a);
      assert.equal((await repo.get(a.id)).visibility, 'PUBLIC');
      await rejection(repo.updateVisibility(a.id, 'OPEN' as Visibility), InvalidError, /visibility/);
      await rejection(repo.updateVisibility(randomUUID(), 'PUBLIC'), NotFoundError);
    });

    test('delete removes the row and its tag assignments, and returns what it deleted', async () => {
      const a = await repo.create(newApp());
      const keep = await repo.create(newApp());
      const tag = await tagRepo.create({ name: 'gone', color: '#000000' });
      await tagRepo.assign(tag.id, a.id);
      await tagRepo.assign(tag.id, keep.id);
      const deleted = await repo.delete(a.id);
      assert.equal(deleted.bundleKey, a.bundleKey);
      assert.deepEqual(deleted.tags.map((t) => t.name), ['gone']);
      await rejection(repo.get(a.id), NotFoundError);
      await rejection(repo.delete(a.id), NotFoundError);
      const left = await database.db.select().from(appTags);
      assert.deepEqual(left, [{ appId: keep.id, tagId: tag.id }]);
      assert.equal((await tagRepo.get('gone')).id, tag.id);
    });

    describe('tags', () => {
      test('create, get by id and by name, list, update, delete', async () => {
        const t = await tagRepo.create({ name: 'beta', title: 'Beta', color: '#1F77B4', description: 'Try it', adminRoles: ['editors'], visitorRoles: ['partner'], isCategory: true });
        assert.deepEqual(
          { ...t, id: undefined, createdAt: undefined },
          { id: undefined, createdAt: undefined, name: 'beta', title: 'Beta', color: '#1F77B4', description: 'Try it', adminRoles: ['editors'], visitorRoles: ['partner'], isCategory: true },
        );
        assert.deepEqual(await tagRepo.get(t.id), t);
        assert.deepEqual(await tagRepo.get('beta'), t);
        const plain = await tagRepo.create({ name: 'alpha', color: '#000000' });
        assert.equal(plain.title, 'alpha');
        assert.deepEqual(plain.adminRoles, []);
        assert.equal(plain.isCategory, false);
        assert.deepEqual((await tagRepo.list()).map((x) => x.name), ['alpha', 'beta']);
        const u = await tagRepo.update('beta', { title: 'Beta 2', color: '#abcdef', visitorRoles: [], isCategory: false });
        assert.deepEqual({ ...u, title: t.title, color: t.color, visitorRoles: t.visitorRoles, isCategory: t.isCategory }, t);
        assert.equal(u.title, 'Beta 2');
        assert.deepEqual(await tagRepo.update(t.id, {}), u);
        await tagRepo.delete(t.id);
        await rejection(tagRepo.get('beta'), NotFoundError);
        await rejection(tagRepo.delete('beta'), NotFoundError);
        await rejection(tagRepo.update('beta', { title: 'x' }), NotFoundError);
      });

      test('a duplicate name is ConflictError; bad name or color is InvalidError naming the field', async () => {
        await tagRepo.create({ name: 'dup', color: '#000000' });
        await rejection(tagRepo.create({ name: 'dup', color: '#111111' }), ConflictError, /tag dup already exists/);
        for (const name of ['Upper', '-lead', 'has space', '', 'x'.repeat(64), '../x']) {
          const err = await rejection(tagRepo.create({ name, color: '#000000' }), InvalidError);
          assert.deepEqual(err.issues.map((i) => i.path), ['name'], name);
        }
        for (const color of ['red', '#FFF', '#GGGGGG', '000000', '#0000000']) {
          const err = await rejection(tagRepo.create({ name: 'ok', color }), InvalidError);
          assert.deepEqual(err.issues.map((i) => i.path), ['color'], color);
        }
        const err = await rejection(tagRepo.update('dup', { color: 'blue', adminRoles: [''] }), InvalidError);
        assert.deepEqual(err.issues.map((i) => i.path), ['color', 'adminRoles']);
      });

      test('assign and remove, idempotent assign, missing app or tag is NotFoundError; deleting a tag unassigns it', async () => {
        const a = await repo.create(newApp());
        const t = await tagRepo.create({ name: 'hot', color: '#ff0000' });
        await tagRepo.assign('hot', a.id);
        await tagRepo.assign(t.id, a.id);
        assert.deepEqual((await repo.get(a.id)).tags.map((x) => x.name), ['hot']);
        await rejection(tagRepo.assign('hot', randomUUID()), NotFoundError, /app/);
        await rejection(tagRepo.assign('hot', 'nope'), NotFoundError, /app/);
        await rejection(tagRepo.assign('cold', a.id), NotFoundError, /tag cold/);
        await tagRepo.remove('hot', a.id);
        assert.deepEqual((await repo.get(a.id)).tags, []);
        await tagRepo.remove('hot', a.id);
        await rejection(tagRepo.remove('hot', randomUUID()), NotFoundError);
        await tagRepo.assign('hot', a.id);
        await tagRepo.delete('hot');
        assert.deepEqual((await repo.get(a.id)).tags, []);
      });
    });
  });
}

repositorySuite('PGlite (in memory)', async () => ({ database: await openDatabase({}), cleanup: async () => {} }));

repositorySuite('PostgreSQL', async () => {
  const testDb: TestDatabase = await createTestDatabase('repository');
  return { database: await openDatabase({ url: testDb.url }), cleanup: () => testDb.drop() };
});
