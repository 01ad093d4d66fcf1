/**
 * The policy as tables: every role × visibility × public-access setting ×
 * action, each cell the exact answer (Y = allowed, - = refused). A changed
 * rule changes a cell here, on purpose.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal, Viewer, Visibility } from '../lib/principal.ts';
import {
  canAdministerTags,
  canDownloadBundle,
  canImportApp,
  canLaunchApp,
  canListRuntimeVersions,
  canManageApp,
  canManageInstance,
  canManageRuntimeVersions,
  canManageTag,
  canOpenInstance,
  canReadInstanceLogs,
  canSeeApp,
  canSeeInstance,
  type AppFacts,
  type InstanceFacts,
} from './policy.ts';

const user = (subject: string, roles: string[], admin = false, fullAccess = false): Principal => ({ subject, name: subject, roles, admin, fullAccess: admin || fullAccess });

/** The roles of the tables. The app and the instance are owned by `owner`; the instance's app by `appOwner`. */
const roles = {
  anonymous: null,
  visitor: user('visitor', ['guests']),
  taggedVisitor: user('tagged', ['beta-testers']),
  fullAccess: user('other', ['full-access'], false, true),
  owner: user('owner', ['full-access'], false, true),
  appOwner: user('appowner', ['full-access'], false, true),
  admin: user('root', ['admin'], true),
} satisfies Record<string, Viewer>;
type Role = keyof typeof roles;

const yn = (answers: boolean[]) => answers.map((b) => (b ? 'Y' : '-')).join('');

/** One row: the answers for PRIVATE, ALL_USERS and PUBLIC, each with public access on, then off. */
type Row = [privOn: string, privOff: string, allOn: string, allOff: string, pubOn: string, pubOff: string];
const columns: Array<[Visibility, boolean]> = [
  ['PRIVATE', true],
  ['PRIVATE', false],
  ['ALL_USERS', true],
  ['ALL_USERS', false],
  ['PUBLIC', true],
  ['PUBLIC', false],
];

function checkTable(table: Record<Role, Row>, answers: (p: Viewer, vis: Visibility, publicAccess: boolean) => string): void {
  for (const [role, row] of Object.entries(table) as Array<[Role, Row]>) {
    test(`${role}: ${row.join(' ')}`, () => {
      const got = columns.map(([vis, pub]) => answers(roles[role], vis, pub));
      assert.deepEqual(got, row);
    });
  }
}

describe('apps: see, launch, update (visibility), delete, download the bundle', () => {
  // The app is tagged with a tag whose visitor roles are beta-testers and partners.
  const app = (visibility: Visibility): AppFacts => ({ owner: 'owner', visibility, tagVisitorRoles: [['beta-testers', 'partners']] });
  //                               PRIVATE           ALL_USERS         PUBLIC
  //                               on       off      on       off      on       off    (public access)
  const table: Record<Role, Row> = {
    anonymous: /*     */ ['-----', '-----', '-----', '-----', 'Y----', '-----'],
    visitor: /*       */ ['-----', '-----', '-----', '-----', 'YY---', 'YY---'],
    taggedVisitor: /* */ ['-----', '-----', 'YY---', 'YY---', 'YY---', 'YY---'],
    fullAccess: /*    */ ['-----', '-----', 'YY---', 'YY---', 'YY---', 'YY---'],
    owner: /*         */ ['YYYYY', 'YYYYY', 'YYYYY', 'YYYYY', 'YYYYY', 'YYYYY'],
    // The owner of an app is `owner` above; here appOwner owns another app, so is a full-access user like any other.
    appOwner: /*      */ ['-----', '-----', 'YY---', 'YY---', 'YY---', 'YY---'],
    admin: /*         */ ['YYYYY', 'YYYYY', 'YYYYY', 'YYYYY', 'YYYYY', 'YYYYY'],
  };
  checkTable(table, (p, vis, publicAccess) => {
    const a = app(vis);
    const opts = { publicAccess };
    return yn([canSeeApp(p, a, opts), canLaunchApp(p, a, opts), canManageApp(p, a), canManageApp(p, a), canDownloadBundle(p, a)]);
  });

  test('a visitor needs a tag naming one of their roles: an untagged ALL_USERS app stays hidden from them', () => {
    const untagged: AppFacts = { owner: 'owner', visibility: 'ALL_USERS', tagVisitorRoles: [] };
    assert.equal(canSeeApp(roles.taggedVisitor, untagged, { publicAccess: true }), false);
    assert.equal(canSeeApp(roles.fullAccess, untagged, { publicAccess: true }), true);
  });

  test('importing: full-access users and admins only', () => {
    assert.deepEqual(Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, canImportApp(v)])), {
      anonymous: false, visitor: false, taggedVisitor: false, fullAccess: true, owner: true, appOwner: true, admin: true,
    });
  });
});

describe('instances: see, open the UI, read status and logs, manage (visibility, suspend, resume, terminate)', () => {
  const inst = (visibility: Visibility): InstanceFacts => ({ owner: 'owner', visibility, appOwner: 'appowner' });
  //                               PRIVATE         ALL_USERS       PUBLIC
  //                               on      off     on      off     on      off    (public access)
  const table: Record<Role, Row> = {
    anonymous: /*     */ ['----', '----', '----', '----', 'YY--', '----'],
    // Instance facts carry no tags: ALL_USERS instances are for full-access users, never visitors.
    visitor: /*       */ ['----', '----', '----', '----', 'YY--', 'YY--'],
    taggedVisitor: /* */ ['----', '----', '----', '----', 'YY--', 'YY--'],
    fullAccess: /*    */ ['----', '----', 'YY--', 'YY--', 'YY--', 'YY--'],
    owner: /*         */ ['YYYY', 'YYYY', 'YYYY', 'YYYY', 'YYYY', 'YYYY'],
    // The app's owner sees status and logs of every instance of the app, opens only what the visibility allows, manages none.
    appOwner: /*      */ ['Y-Y-', 'Y-Y-', 'YYY-', 'YYY-', 'YYY-', 'YYY-'],
    // Admins manage every instance but do not open PRIVATE instance UIs.
    admin: /*         */ ['Y-YY', 'Y-YY', 'YYYY', 'YYYY', 'YYYY', 'YYYY'],
  };
  checkTable(table, (p, vis, publicAccess) => {
    const i = inst(vis);
    const opts = { publicAccess };
    return yn([canSeeInstance(p, i, opts), canOpenInstance(p, i, opts), canReadInstanceLogs(p, i), canManageInstance(p, i)]);
  });

  test('an instance whose app owner is unknown gives app owners nothing extra', () => {
    const i: InstanceFacts = { owner: 'owner', visibility: 'PRIVATE' };
    assert.equal(yn([canSeeInstance(roles.appOwner, i, { publicAccess: true }), canReadInstanceLogs(roles.appOwner, i)]), '--');
  });
});

describe('tags and runtime versions (no visibility)', () => {
  // create/delete tags | manage a tag with no admin roles | manage a tag whose admin role is beta-testers | list runtime versions | manage runtime versions
  const table: Record<Role, string> = {
    anonymous: /*     */ '-----',
    visitor: /*       */ '---Y-',
    taggedVisitor: /* */ '--YY-',
    fullAccess: /*    */ '---Y-',
    owner: /*         */ '---Y-',
    appOwner: /*      */ '---Y-',
    admin: /*         */ 'YYYYY',
  };
  for (const [role, expected] of Object.entries(table) as Array<[Role, string]>) {
    test(`${role}: ${expected}`, () => {
      const p = roles[role];
      const got = yn([canAdministerTags(p), canManageTag(p, { adminRoles: [] }), canManageTag(p, { adminRoles: ['beta-testers'] }), canListRuntimeVersions(p), canManageRuntimeVersions(p)]);
      assert.equal(got, expected);
    });
  }
});
