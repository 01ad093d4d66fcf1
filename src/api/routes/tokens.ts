/**
 * Platform API tokens of the signed-in user (scripts, CI):
 * POST /api/v1/tokens creates one (the secret is in this answer only),
 * GET /api/v1/tokens lists the caller's tokens with created/expires/last
 * used, DELETE /api/v1/tokens/:id revokes one. Any signed-in user may
 * create tokens, visitors too: a token carries only its creator's own
 * identity and roles. A platform token cannot create tokens (a leaked one
 * must not be able to outlive itself).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ForbiddenError, UnauthorizedError } from '../../lib/errors.ts';
import type { Principal } from '../../lib/principal.ts';
import type { TokenInfo } from '../../repository/tokens.ts';
import type { ApiContext } from '../app.ts';
import { TokenSchema, type TokenJson } from '../schemas.ts';
import type { FastifyRequest } from 'fastify';

/** Longest lifetime of a platform token. */
export const MAX_TOKEN_DAYS = 365;


const CreateTokenSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]*$', description: 'Unique among your tokens: letters, digits, space, ., _ or -.' }),
    expiresInDays: Type.Integer({ minimum: 1, maximum: MAX_TOKEN_DAYS, default: 30, description: `Lifetime in days (1–${MAX_TOKEN_DAYS}).` }),
  },
  { additionalProperties: false },
);

function tokenJson(t: TokenInfo, now: Date): TokenJson {
  return {
    id: t.id,
    name: t.name,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    ...(t.lastUsedAt ? { lastUsedAt: t.lastUsedAt.toISOString() } : {}),
    expired: t.expiresAt.getTime() <= now.getTime(),
  };
}

function signedIn(request: FastifyRequest): Principal {
  if (!request.viewer) throw new UnauthorizedError('sign in to manage your API tokens');
  return request.viewer;
}

export function tokenRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const tokens = ctx.deps.tokens;
  return async (app) => {
    app.post(
      '/tokens',
      {
        schema: {
          tags: ['identity'],
          summary: 'Create a platform API token (the secret is shown only in this answer)',
          body: CreateTokenSchema,
          response: { 201: Type.Intersect([TokenSchema, Type.Object({ token: Type.String({ description: 'The secret: send it as "Authorization: Bearer <token>".' }) })]) },
        },
      },
      async (request, reply) => {
        const p = signedIn(request);
        if (request.authVia === 'platform-token') throw new ForbiddenError('a platform token cannot create tokens; sign in (`h2o config setup` or the web UI) to create one');
        const { token, secret } = await tokens.create({ subject: p.subject, name: p.name, roles: p.roles }, request.body.name, request.body.expiresInDays * 86_400);
        return reply.code(201).send({ ...tokenJson(token, new Date()), token: secret });
      },
    );

    app.get('/tokens', { schema: { tags: ['identity'], summary: 'Your platform API tokens', response: { 200: Type.Object({ items: Type.Array(TokenSchema) }) } } }, async (request) => {
      const p = signedIn(request);
      const now = new Date();
      return { items: (await tokens.list(p.subject)).map((t) => tokenJson(t, now)) };
    });

    app.delete(
      '/tokens/:id',
      { schema: { tags: ['identity'], summary: 'Revoke one of your platform API tokens', params: Type.Object({ id: Type.String({ maxLength: 100 }) }) } },
      async (request, reply) => {
        const p = signedIn(request);
        await tokens.revoke(p.subject, request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
