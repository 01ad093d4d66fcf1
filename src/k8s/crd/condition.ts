/**
 * Status conditions in the exact shape of Kubernetes' metav1.Condition, and
 * the pure helpers controllers use to update them (as apimachinery's
 * meta.SetStatusCondition: lastTransitionTime moves only when status changes).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { StringEnum, Time } from './kube-schema.ts';

/** Most conditions an object carries (bounds the list for CEL cost and etcd size). */
export const MAX_CONDITIONS = 16;

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/** metav1.Condition, field for field, with the same validation. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      description: 'Type of condition in CamelCase or in foo.example.com/CamelCase, e.g. Ready.',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: StringEnum(CONDITION_STATUSES, { description: 'Status of the condition: True, False or Unknown.' }),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'metadata.generation the condition was set from; older than the current generation means the condition is out of date.',
        format: 'int64',
        minimum: 0,
      }),
    ),
    lastTransitionTime: Time({ description: 'Last time the condition changed from one status to another.' }),
    reason: Type.String({
      description: "Programmatic identifier in CamelCase for the condition's last transition (e.g. AppNotFound).",
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Human-readable details about the transition; may be empty.', maxLength: 32768 }),
  },
  { description: 'Condition contains details for one aspect of the current state of this resource (metav1.Condition).' },
);
export type Condition = Static<typeof ConditionSchema>;

/** The `conditions` list of a status: a list map keyed by type, so server-side apply merges per condition. */
export function ConditionsSchema(description: string) {
  return Type.Array(ConditionSchema, {
    description,
    maxItems: MAX_CONDITIONS,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

/** The condition of `type`, if present. */
export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` exists with status True. */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** What a controller sets; lastTransitionTime is managed by setCondition. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

/**
 * Returns a new list with `update` in place of the condition of the same type.
 * lastTransitionTime keeps its old value unless the status changes (then it
 * becomes `update.lastTransitionTime` or `now`). Order is preserved; a new
 * type is appended. The input list is not modified.
 */
export function setCondition(conditions: readonly Condition[] | undefined, update: ConditionUpdate, now: Date = new Date()): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === update.type);
  const old = i >= 0 ? list[i] : undefined;
  const transition = old && old.status === update.status ? old.lastTransitionTime : (update.lastTransitionTime ?? rfc3339(now));
  const next: Condition = { ...update, lastTransitionTime: transition };
  if (old) list[i] = next;
  else list.push(next);
  return list;
}

/** Returns a new list without the condition of `type`. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** metav1.Time's wire form: RFC 3339 in UTC with second precision. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
