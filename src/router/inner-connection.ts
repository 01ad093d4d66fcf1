/**
 * An in-process connection: two Duplex ends, what one writes the other
 * reads. The front door (./front-door.ts) hands requests it does not proxy
 * itself to the node:http server over one of these, so that server (API, web
 * UI, the router's pages) sees an ordinary connection that reports the
 * client's addresses. (Node 22 has stream.duplexPair; Node 20 does not.)
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** One end. The server's end answers the address and socket-option calls node:http makes. */
export class InnerEnd extends Duplex {
  peer!: InnerEnd;
  private pendingWrite: (() => void) | undefined;

  constructor(private readonly client: Socket | undefined) {
    super({ allowHalfOpen: true });
  }

  get remoteAddress(): string | undefined {
    return this.client?.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.client?.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.client?.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.client?.localAddress;
  }
  get localPort(): number | undefined {
    return this.client?.localPort;
  }
  // node:http sets these on every connection; there is no kernel socket to tune.
  setTimeout(_ms: number, _cb?: () => void): this {
    return this;
  }
  setNoDelay(_on?: boolean): this {
    return this;
  }
  setKeepAlive(_on?: boolean, _delay?: number): this {
    return this;
  }

  override _read(): void {
    // The reader wants more: let the writer's held chunk through.
    const go = this.peer.pendingWrite;
    this.peer.pendingWrite = undefined;
    go?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.push(chunk)) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const go = this.pendingWrite;
    this.pendingWrite = undefined;
    go?.();
    if (!this.peer.destroyed) this.peer.destroy();
    cb(err);
  }
}

/** A connected pair: [the front door's end, the server's end]. */
export function innerConnection(client: Socket): [InnerEnd, InnerEnd] {
  const front = new InnerEnd(undefined);
  const server = new InnerEnd(client);
  front.peer = server;
  server.peer = front;
  return [front, server];
}
