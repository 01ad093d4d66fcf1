import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isVisitor } from '../../lib/principal.ts';
import type { ApiContext } from '../app.ts';
import type { Me } from '../schemas.ts';

/** Health probes and who-am-I. */
export function metaRoutes(_ctx: ApiContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
    app.get('/readyz', { schema: { hide: true } }, async () => ({ ok: true }));
    app.get('/api/v1/me', { schema: { tags: ['identity'], summary: 'The signed-in user', response: { 200: { $ref: 'Me#' } } } }, async (request): Promise<Me> => {
      const p = request.viewer;
      if (!p) return { signedIn: false, roles: [], admin: false, fullAccess: false, visitor: false };
      return { signedIn: true, subject: p.subject, name: p.name, roles: p.roles, admin: p.admin, fullAccess: p.fullAccess, visitor: isVisitor(p) };
    });
  };
}
