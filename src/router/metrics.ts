/**
 * The router's Prometheus metrics on the server's shared registry: requests
 * and websocket upgrades per instance and status code, response latency per
 * instance, open websockets per instance. Label children are cached so a
 * request costs one map lookup, not a label hash.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class RouterMetrics {
  private readonly requests: Counter<'instance' | 'code'>;
  private readonly upgrades: Counter<'instance' | 'code'>;
  private readonly duration: Histogram<'instance'>;
  private readonly open: Gauge<'instance'>;
  private readonly counters = new Map<string, { inc(): void }>();
  private readonly timers = new Map<string, { observe(v: number): void }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'appstore_router_requests_total', help: 'HTTP requests to instances by instance and status code (router pages included).', labelNames: ['instance', 'code'], registers });
    this.upgrades = new Counter({ name: 'appstore_router_websocket_upgrades_total', help: 'Websocket upgrade requests to instances by instance and outcome status code (101 = proxied).', labelNames: ['instance', 'code'], registers });
    this.duration = new Histogram({
      name: 'appstore_router_request_duration_seconds',
      help: 'Time from the request to the end of its answer, per instance (router pages included).',
      labelNames: ['instance'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10],
      registers,
    });
    this.open = new Gauge({ name: 'appstore_router_websockets_open', help: 'Proxied websockets open now, per instance.', labelNames: ['instance'], registers });
  }

  /** Counts one answered request. */
  request(instance: string, code: number, seconds: number): void {
    const key = `${instance} ${code}`;
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = this.requests.labels(instance, String(code))));
    c.inc();
    let t = this.timers.get(instance);
    if (!t) this.timers.set(instance, (t = this.duration.labels(instance)));
    t.observe(seconds);
  }

  upgrade(instance: string, code: number): void {
    this.upgrades.inc({ instance, code: String(code) });
  }

  websocketOpened(instance: string): void {
    this.open.inc({ instance });
  }

  websocketClosed(instance: string): void {
    this.open.dec({ instance });
  }
}
