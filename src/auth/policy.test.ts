import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal, Viewer, Visibility } from '../lib/principal.ts';
import { canAdministerTags, canDownloadBundle, canImportApp, canLaunchApp, canManageApp, canManageTag, canSeeApp, type AppFacts } from './policy.ts';

const user = (subject: string, roles: string[], admin = false, fullAccess = false): Principal => ({ subject, name: subject, roles, admin, fullAccess: admin || fullAccess });

const viewers: Record<string, Viewer> = {
  anonymous: null,
  owner: user('owner', ['full-access'], false, true),
  fullAccess: user('other', ['full-access'], false, true),
  visitor: user('visitor', ['guests']),
  taggedVisitor: user('tv', ['beta-testers']),
  admin: user('root', ['admin'], true),
};

const app = (visibility: Visibility): AppFacts => ({ owner: 'owner', visibility, tagVisitorRoles: [['beta-testers', 'partners']] });

// see / launch / manage (visibility, delete) / download; Y = allowed, - = refused. Public access on.
const table: Record<string, Record<Visibility, string>> = {
  anonymous: { PRIVATE: '----', ALL_USERS: '----', PUBLIC: 'Y---' },
  owner: { PRIVATE: 'YYYY', ALL_USERS: 'YYYY', PUBLIC: 'YYYY' },
  fullAccess: { PRIVATE: '----', ALL_USERS: 'YY--', PUBLIC: 'YY--' },
  visitor: { PRIVATE: '----', ALL_USERS: '----', PUBLIC: 'YY--' },
  taggedVisitor: { PRIVATE: '----', ALL_USERS: 'YY--', PUBLIC: 'YY--' },
  admin: { PRIVATE: 'YYYY', ALL_USERS: 'YYYY', PUBLIC: 'YYYY' },
};

describe('app policy: every role × visibility × action', () => {
  for (const [who, row] of Object.entries(table)) {
    for (const [vis, expected] of Object.entries(row) as Array<[Visibility, string]>) {
      test(`${who} on a ${vis} app: ${expected}`, () => {
        const p = viewers[who]!;
        const a = app(vis);
        const opts = { publicAccess: true };
        const got = [canSeeApp(p, a, opts), canLaunchApp(p, a, opts), canManageApp(p, a), canDownloadBundle(p, a)].map((b) => (b ? 'Y' : '-')).join('');
        assert.equal(got, expected);
      });
    }
  }

  test('without public access anonymous users see nothing, signed-in users are unaffected', () => {
    assert.equal(canSeeApp(null, app('PUBLIC'), { publicAccess: false }), false);
    assert.equal(canSeeApp(viewers.visitor!, app('PUBLIC'), { publicAccess: false }), true);
  });

  test('a visitor needs a tag naming one of their roles; an untagged ALL_USERS app stays hidden', () => {
    const untagged: AppFacts = { owner: 'owner', visibility: 'ALL_USERS', tagVisitorRoles: [] };
    assert.equal(canSeeApp(viewers.taggedVisitor!, untagged, { publicAccess: true }), false);
    assert.equal(canSeeApp(viewers.fullAccess!, untagged, { publicAccess: true }), true);
  });

  test('only full-access users and admins import apps', () => {
    assert.deepEqual(Object.entries(viewers).map(([k, v]) => [k, canImportApp(v)]), [
      ['anonymous', false], ['owner', true], ['fullAccess', true], ['visitor', false], ['taggedVisitor', false], ['admin', true],
    ]);
  });
});

describe('tag policy', () => {
  test('admins create and delete tags; nobody else', () => {
    assert.deepEqual(Object.values(viewers).map(canAdministerTags), [false, false, false, false, false, true]);
  });

  test('an empty admin-role list lets any full-access user manage the tag, not visitors or anonymous users', () => {
    assert.deepEqual(Object.values(viewers).map((v) => canManageTag(v, { adminRoles: [] })), [false, true, true, false, false, true]);
  });

  test('a listed admin role is required otherwise', () => {
    const tag = { adminRoles: ['beta-testers'] };
    assert.deepEqual(Object.values(viewers).map((v) => canManageTag(v, tag)), [false, false, false, false, true, true]);
  });
});
