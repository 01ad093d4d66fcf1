/**
 * Where an instance's container logs come from. The API asks a PodLogSource;
 * the default reads the Kubernetes pod log API (kubelet-backed), and a
 * cluster whose pods do not run under a kubelet (the local kwok cluster with
 * its pod runner) can supply its own.
 */
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { ApiException, CoreV1Api, Log } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { UnavailableError } from '../lib/errors.ts';

export interface PodLogRequest {
  namespace: string;
  pod: string;
  container: string;
  /** Keep streaming new lines until the caller aborts. */
  follow: boolean;
  /** The previous (terminated) run of the container. */
  previous: boolean;
  /** Only the last N lines; undefined: all. */
  tailLines?: number;
  /** Aborting ends the stream (the client went away). */
  signal: AbortSignal;
}

/** A source of container logs. Throws UnavailableError (saying why) when it cannot serve them. */
export interface PodLogSource {
  logs(req: PodLogRequest): Promise<Readable>;
}

/** The Kubernetes pod log API (GET /api/v1/namespaces/{ns}/pods/{pod}/log), served through the node's kubelet. */
export class KubernetesPodLogs implements PodLogSource {
  private readonly log: Log;
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.log = new Log(kc);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async logs(req: PodLogRequest): Promise<Readable> {
    const out = new PassThrough();
    // client-node's Log drops the apiserver's message for most failures; one plain read gets it back.
    let controller: AbortController;
    try {
      controller = await this.log.log(req.namespace, req.pod, req.container, out, {
        follow: req.follow,
        previous: req.previous,
        ...(req.tailLines !== undefined ? { tailLines: req.tailLines } : {}),
      });
    } catch (err) {
      throw await this.explain(req, err);
    }
    const abort = () => {
      controller.abort();
      out.end();
    };
    if (req.signal.aborted) abort();
    else req.signal.addEventListener('abort', abort, { once: true });
    return out;
  }

  private async explain(req: PodLogRequest, err: unknown): Promise<Error> {
    let message = err instanceof Error ? err.message : String(err);
    if (err instanceof ApiException) {
      try {
        await this.core.readNamespacedPodLog({ namespace: req.namespace, name: req.pod, container: req.container, previous: req.previous, tailLines: 1 });
      } catch (again) {
        message = apiMessage(again) ?? message;
      }
    }
    return new UnavailableError(
      `the logs of pod ${req.pod} (container ${req.container}${req.previous ? ', previous run' : ''}) are not available from the Kubernetes API: ${message}` +
        (req.previous ? '' : '; if the container has not started yet, try again when the instance is Starting or Ready'),
      { cause: err },
    );
  }
}

/** The `message` of a Kubernetes Status body in an ApiException, if any. */
function apiMessage(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      return typeof parsed.message === 'string' ? parsed.message : body.slice(0, 500);
    } catch {
      return body.slice(0, 500);
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return undefined;
}
