/**
 * Kubernetes Events on the operator's objects (core v1 Events, which
 * `kubectl describe` and `kubectl get events` show). The reconciler records
 * only transitions, so a stuck instance does not produce an event per
 * reconcile. Recording never fails a reconcile: errors are logged.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export const EVENT_COMPONENT = 'appstore-operator';

export type EventType = 'Normal' | 'Warning';

/** Writes Events about objects. */
export class EventRecorder {
  private readonly core: CoreV1Api;
  constructor(
    kc: KubeConfig,
    private readonly logger: Logger,
    private readonly instance: string = EVENT_COMPONENT,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Records an event about `obj` (namespaced objects in their namespace, others in `default`); resolves when written or failed. */
  async record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const { name, namespace, uid, resourceVersion } = obj.metadata ?? {};
    const ns = namespace ?? 'default';
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace: ns },
          involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name, namespace, uid, resourceVersion },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: EVENT_COMPONENT },
          reportingComponent: EVENT_COMPONENT,
          reportingInstance: this.instance.slice(0, 128),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.logger.warn({ err, kind: obj.kind, namespace, name, reason }, 'could not record an event');
    }
  }
}
