/**
 * The HTTP server of the app store with the router in front: fastify's
 * `serverFactory` hands us its request handler; requests the router claims
 * (instance hosts, /instance/…) and every websocket upgrade go to the
 * router, the rest to fastify.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Router } from './router.ts';

/** A fastify `serverFactory` that routes instance traffic to `router`. */
export function routerServerFactory(router: Router, opts: { maxHeaderSize: number }): (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server {
  return (handler) => {
    const server = createServer({ maxHeaderSize: opts.maxHeaderSize }, (req, res) => {
      if (router.matches(req)) router.handle(req, res);
      else handler(req, res);
    });
    // The API serves no websockets: every upgrade is the router's (which refuses those that are not for an instance).
    server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => router.upgrade(req, socket, head));
    // Instance traffic the router can proxy as is skips node:http (./front-door.ts).
    router.attach(server);
    return server;
  };
}
