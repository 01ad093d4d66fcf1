/**
 * App secrets: the contract between the API (which writes them), the operator
 * (which mounts them) and anyone who reads the cluster.
 *
 * An app secret is a Kubernetes Secret in the scheduler namespace carrying the
 * labels below. Its scope is one of (as the H2O App Store defines them):
 *   PRIVATE    — its owner's: used only by instances the owner launches;
 *   ALL_USERS  — the platform's: used by any instance;
 *   APP        — parent `app:<app name>`: used by instances of every version of that app.
 * The object name is derived from scope and name, so two users' PRIVATE `db`
 * secrets are two objects, and no app secret can share a name with a platform
 * Secret (the database's, an instance's `<instance>-appstore`).
 *
 * An app's `[[Env]]`/`[[File]]` `Secret = "x"` resolves only among app secrets:
 * first the app's APP scope, then the instance owner's PRIVATE, then ALL_USERS.
 * Any other Secret in the namespace is out of reach, whatever its name.
 * No I/O here.
 */
import { createHash } from 'node:crypto';
import type { V1ObjectMeta, V1Secret } from '@kubernetes/client-node';

export type SecretVisibility = 'PRIVATE' | 'ALL_USERS' | 'APP';

/** Present on every app secret (its value is the visibility); the selector that finds them all. */
export const LABEL_SECRET_VISIBILITY = 'hac.h2o.ai/secret-visibility';
/** The secret's name as apps reference it (a DNS label, so a valid label value). */
export const LABEL_SECRET_NAME = 'hac.h2o.ai/secret-name';
/** Digest of the scope (owner subject or app name), for selecting one user's or one app's secrets. */
export const LABEL_SECRET_SCOPE = 'hac.h2o.ai/secret-scope';
/** The owner's subject (who created it; for PRIVATE, whose it is). */
export const ANNOTATION_SECRET_OWNER = 'hac.h2o.ai/secret-owner';
/** The owner's display name. */
export const ANNOTATION_SECRET_OWNER_NAME = 'hac.h2o.ai/secret-owner-name';
/** `app:<app name>` for APP secrets. */
export const ANNOTATION_SECRET_PARENT = 'hac.h2o.ai/secret-parent';

/** Name rule (H2O's): a DNS label of at most 63 characters. */
export const SECRET_NAME_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** Where a secret lives: PRIVATE needs the owner, APP the app name. */
export type SecretScope = { visibility: 'PRIVATE'; owner: string } | { visibility: 'ALL_USERS' } | { visibility: 'APP'; app: string };

/** Problem with a secret name, or undefined when it is valid. */
export function secretNameProblem(name: string): string | undefined {
  if (SECRET_NAME_PATTERN.test(name)) return undefined;
  return `${JSON.stringify(name)} is not a valid secret name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "s3-credentials")`;
}

function scopeId(scope: SecretScope): string {
  const parts = scope.visibility === 'PRIVATE' ? ['user', scope.owner] : scope.visibility === 'APP' ? ['app', scope.app] : ['all'];
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/** Name of the Kubernetes Secret that holds app secret `name` in `scope`. */
export function appSecretObjectName(scope: SecretScope, name: string): string {
  const kind = scope.visibility === 'PRIVATE' ? 'private' : scope.visibility === 'APP' ? 'app' : 'all';
  return `appsecret-${kind}-${scopeId(scope)}-${name}`;
}

/** Metadata (name, labels, annotations) of app secret `name` in `scope`. */
export function appSecretMeta(scope: SecretScope, name: string, owner: { subject: string; name: string }): V1ObjectMeta {
  return {
    name: appSecretObjectName(scope, name),
    labels: { [LABEL_SECRET_VISIBILITY]: scope.visibility, [LABEL_SECRET_NAME]: name, [LABEL_SECRET_SCOPE]: scopeId(scope) },
    annotations: {
      [ANNOTATION_SECRET_OWNER]: owner.subject,
      [ANNOTATION_SECRET_OWNER_NAME]: owner.name,
      ...(scope.visibility === 'APP' ? { [ANNOTATION_SECRET_PARENT]: `app:${scope.app}` } : {}),
    },
  };
}

/** What a Kubernetes Secret is as an app secret; undefined when it is not one (or its labels disagree with its name). */
export function readAppSecret(s: V1Secret): ResolvedSecret | undefined {
  const labels = s.metadata?.labels ?? {};
  const ann = s.metadata?.annotations ?? {};
  const visibility = labels[LABEL_SECRET_VISIBILITY];
  const name = labels[LABEL_SECRET_NAME];
  const objectName = s.metadata?.name;
  if (!name || !objectName || secretNameProblem(name)) return undefined;
  let scope: SecretScope;
  if (visibility === 'ALL_USERS') scope = { visibility };
  else if (visibility === 'PRIVATE' && ann[ANNOTATION_SECRET_OWNER]) scope = { visibility, owner: ann[ANNOTATION_SECRET_OWNER] };
  else if (visibility === 'APP' && ann[ANNOTATION_SECRET_PARENT]?.startsWith('app:')) scope = { visibility, app: ann[ANNOTATION_SECRET_PARENT].slice(4) };
  else return undefined;
  // The object name is a function of scope and name: a Secret labelled by hand into another scope does not count.
  if (appSecretObjectName(scope, name) !== objectName) return undefined;
  return { objectName, scope, keys: Object.keys(s.data ?? {}) };
}

/** The scopes an instance's secret references are looked up in, in order. */
export function resolutionOrder(appName: string, ownerSubject: string): SecretScope[] {
  return [{ visibility: 'APP', app: appName }, { visibility: 'PRIVATE', owner: ownerSubject }, { visibility: 'ALL_USERS' }];
}

/** Looks a Secret up by object name (the operator's cache, the API's client). */
export type SecretLookup = (objectName: string) => V1Secret | undefined;

/** A resolved reference: the object to mount and the keys it holds. */
export interface ResolvedSecret {
  objectName: string;
  scope: SecretScope;
  keys: string[];
}

/** Resolves app.toml `Secret = name` for an instance of `appName` owned by `ownerSubject`; undefined when no scope has it. */
export function resolveAppSecret(lookup: SecretLookup, appName: string, ownerSubject: string, name: string): ResolvedSecret | undefined {
  if (secretNameProblem(name)) return undefined;
  for (const scope of resolutionOrder(appName, ownerSubject)) {
    const s = lookup(appSecretObjectName(scope, name));
    const read = s && readAppSecret(s);
    if (read) return read;
  }
  return undefined;
}

/** Scope in words, for messages. */
export function describeScope(scope: SecretScope): string {
  if (scope.visibility === 'PRIVATE') return 'PRIVATE (the instance owner\'s)';
  if (scope.visibility === 'APP') return `APP (app:${scope.app})`;
  return 'ALL_USERS';
}
