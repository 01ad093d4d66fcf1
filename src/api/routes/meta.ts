import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isVisitor } from '../../lib/principal.ts';
import type { ApiContext } from '../app.ts';
import type { Me } from '../schemas.ts';

/** Health probes, Prometheus metrics (when ApiDeps.metrics is set) and who-am-I. */
export function metaRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
    app.get('/readyz', { schema: { hide: true } }, async () => ({ ok: true }));
    const metrics = ctx.deps.metrics;
    if (metrics) {
      // Prometheus text format; unauthenticated like the probes (scraped from inside the cluster).
      app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
        const body = await metrics.metrics();
        return reply.type(metrics.contentType).send(body);
      });
    }
    app.get('/api/v1/me', { schema: { tags: ['identity'], summary: 'The signed-in user', response: { 200: { $ref: 'Me#' } } } }, async (request): Promise<Me> => {
      const p = request.viewer;
      if (!p) return { signedIn: false, roles: [], admin: false, fullAccess: false, visitor: false };
      return { signedIn: true, subject: p.subject, name: p.name, roles: p.roles, admin: p.admin, fullAccess: p.fullAccess, visitor: isVisitor(p) };
    });
  };
}
