/**
 * Server-side apply under the operator's one field manager, owner references
 * for children, and the API error checks a reconcile needs.
 *
 * Server-side apply (not create/update) because the operator states the whole
 * desired object every time: the apiserver creates or updates it, removes the
 * fields we stopped setting, and leaves fields other managers own (an HPA's
 * replicas, a user's extra label) alone.
 */
import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CustomObjectsApi, KubernetesObject, KubernetesObjectApi, V1OwnerReference } from '@kubernetes/client-node';

/** The field manager every write of the operator uses, so its field ownership is one set. */
export const FIELD_MANAGER = 'appstore-operator';

export interface ApplyOptions {
  /** Validate and default on the server without persisting. */
  dryRun?: boolean;
  /** Field manager to apply as (default FIELD_MANAGER). */
  fieldManager?: string;
}

/**
 * Applies `obj` (the complete desired state of the fields we manage) with
 * force, so fields another manager took are taken back, and returns the
 * object as stored.
 */
export async function apply<T extends KubernetesObject>(client: KubernetesObjectApi, obj: T, opts: ApplyOptions = {}): Promise<T> {
  checkApplyable(obj);
  return client.patch(
    obj,
    undefined,
    opts.dryRun ? 'All' : undefined,
    opts.fieldManager ?? FIELD_MANAGER,
    true,
    PatchStrategy.ServerSideApply,
  );
}

/** Where a custom resource lives in the API (apis/GROUP/VERSION/.../PLURAL). */
export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

/**
 * Applies the `status` of a namespaced custom object through its /status
 * subresource (apply to the main resource ignores status). `obj` needs
 * apiVersion, kind, metadata.name and metadata.namespace.
 */
export async function applyStatus<T extends KubernetesObject & { status?: unknown }>(
  api: CustomObjectsApi,
  resource: CustomResource,
  obj: T,
  opts: ApplyOptions = {},
): Promise<T> {
  checkApplyable(obj);
  const { name, namespace } = obj.metadata ?? {};
  if (!namespace) throw new TypeError(`applyStatus: ${obj.kind} ${name} needs metadata.namespace`);
  const stored: unknown = await api.patchNamespacedCustomObjectStatus(
    {
      ...resource,
      namespace,
      name: name!,
      body: { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace }, status: obj.status },
      fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      force: true,
      dryRun: opts.dryRun ? 'All' : undefined,
    },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  return stored as T;
}

/** An owner reference that makes `owner` the controller of a child: the child is garbage-collected with it. */
export function ownerReference(owner: KubernetesObject): V1OwnerReference {
  const { apiVersion, kind } = owner;
  const { name, uid } = owner.metadata ?? {};
  if (!apiVersion || !kind || !name || !uid) {
    throw new TypeError(`ownerReference: the owner needs apiVersion, kind, metadata.name and metadata.uid (use the object as read from the API), got ${apiVersion}/${kind} ${name} uid=${uid}`);
  }
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The HTTP status of a failed client-node call, or undefined for other errors (network, programming). */
export function apiStatusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** True for 409 Conflict: an apply conflict without force, an update with a stale resourceVersion, or a create of an existing name. */
export function isConflict(err: unknown): boolean {
  return apiStatusCode(err) === 409;
}

/** True for 404 Not Found. */
export function isNotFound(err: unknown): boolean {
  return apiStatusCode(err) === 404;
}

function checkApplyable(obj: KubernetesObject): void {
  const missing: string[] = (['apiVersion', 'kind'] as const).filter((f) => !obj[f]);
  if (!obj.metadata?.name) missing.push('metadata.name');
  if (missing.length) throw new TypeError(`apply: the object needs ${missing.join(', ')}`);
  // The apiserver refuses an apply body carrying managedFields; an object read from the API must be rebuilt, not re-sent.
  if (obj.metadata?.managedFields) throw new TypeError(`apply: ${obj.kind} ${obj.metadata.name} carries metadata.managedFields; apply the desired object, not one read from the API`);
}
