import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UnauthorizedError } from '../lib/errors.ts';
import { claimAt, principalFromClaims, rolesFromClaims } from './oidc.ts';

const roles = { rolesClaim: 'roles', adminRole: 'admin', fullAccessRole: 'full-access' };

describe('OIDC claims', () => {
  test('roles come from a top-level or dotted claim', () => {
    assert.deepEqual(rolesFromClaims({ roles: ['a', 'b'] }, 'roles'), ['a', 'b']);
    assert.deepEqual(rolesFromClaims({ realm_access: { roles: ['admin'] } }, 'realm_access.roles'), ['admin']);
    assert.deepEqual(rolesFromClaims({ 'https://example.com/roles': ['x'] }, 'https://example.com/roles'), ['x']);
    assert.deepEqual(rolesFromClaims({ groups: 'one' }, 'groups'), ['one']);
  });

  test('a missing or malformed roles claim is no roles', () => {
    assert.deepEqual(rolesFromClaims({}, 'roles'), []);
    assert.deepEqual(rolesFromClaims({ realm_access: {} }, 'realm_access.roles'), []);
    assert.deepEqual(rolesFromClaims({ realm_access: ['x'] }, 'realm_access.roles'), []);
    assert.deepEqual(rolesFromClaims({ roles: { admin: true } }, 'roles'), []);
    assert.deepEqual(rolesFromClaims({ roles: ['ok', 7, null] }, 'roles'), ['ok']);
    assert.equal(claimAt({ a: { b: { c: 1 } } }, 'a.b.c'), 1);
  });

  test('claims become a principal with admin/full-access from the configured roles', () => {
    assert.deepEqual(principalFromClaims({ sub: 's1', preferred_username: 'al', roles: ['admin'] }, roles), { subject: 's1', name: 'al', roles: ['admin'], admin: true, fullAccess: true });
    assert.deepEqual(principalFromClaims({ sub: 's2', email: 'v@x' }, roles), { subject: 's2', name: 'v@x', roles: [], admin: false, fullAccess: false });
    assert.equal(principalFromClaims({ sub: 's3' }, roles).name, 's3');
    assert.equal(principalFromClaims({ sub: 's4', realm_access: { roles: ['full-access'] } }, { ...roles, rolesClaim: 'realm_access.roles' }).fullAccess, true);
    assert.throws(() => principalFromClaims({ name: 'nobody' }, roles), UnauthorizedError);
  });
});
