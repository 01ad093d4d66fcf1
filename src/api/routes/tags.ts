import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { canAdministerTags, canManageTag } from '../../auth/policy.ts';
import { ForbiddenError } from '../../lib/errors.ts';
import type { TagRecord } from '../../repository/tags.ts';
import type { ApiContext } from '../app.ts';
import { IdParamSchema, NewTagSchema, UpdateTagSchema, type Tag } from '../schemas.ts';

export function toApiTag(t: TagRecord): Tag {
  return {
    id: t.id,
    name: t.name,
    title: t.title,
    color: t.color,
    description: t.description,
    adminRoles: t.adminRoles,
    visitorRoles: t.visitorRoles,
    isCategory: t.isCategory,
    createdAt: t.createdAt.toISOString(),
  };
}

export function tagRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { tags } = ctx.deps;
  return async (app) => {
    app.get('/tags', { schema: { tags: ['tags'], summary: 'Every tag', response: { 200: Type.Array(Type.Ref('Tag')) } } }, async () => (await tags.list()).map(toApiTag));
    app.get('/tags/:id', { schema: { tags: ['tags'], summary: 'One tag, by id or name', params: IdParamSchema, response: { 200: { $ref: 'Tag#' } } } }, async (request) => toApiTag(await tags.get(request.params.id)));
    app.post('/tags', { schema: { tags: ['tags'], summary: 'Create a tag (admins)', body: NewTagSchema, response: { 201: { $ref: 'Tag#' } } } }, async (request, reply) => {
      if (!canAdministerTags(request.viewer)) throw new ForbiddenError('only admins can create tags');
      const b = request.body;
      const t = await tags.create({
        name: b.name,
        title: b.title ?? b.name,
        color: b.color ?? '#808080',
        description: b.description ?? '',
        adminRoles: b.adminRoles ?? [],
        visitorRoles: b.visitorRoles ?? [],
        isCategory: b.isCategory ?? false,
      });
      return reply.status(201).send(toApiTag(t));
    });
    app.patch('/tags/:id', { schema: { tags: ['tags'], summary: "Update a tag (holders of one of its admin roles)", params: IdParamSchema, body: UpdateTagSchema, response: { 200: { $ref: 'Tag#' } } } }, async (request) => {
      const t = await tags.get(request.params.id);
      if (!canManageTag(request.viewer, { adminRoles: t.adminRoles })) throw new ForbiddenError(`updating tag ${t.name} needs one of its admin roles: ${t.adminRoles.join(', ') || 'admin (the tag has no admin roles)'}`);
      return toApiTag(await tags.update(t.id, request.body));
    });
    app.delete('/tags/:id', { schema: { tags: ['tags'], summary: 'Delete a tag (admins)', params: IdParamSchema, response: { 204: Type.Null() } } }, async (request, reply) => {
      if (!canAdministerTags(request.viewer)) throw new ForbiddenError('only admins can delete tags');
      const t = await tags.get(request.params.id);
      await tags.delete(t.id);
      return reply.status(204).send(null);
    });
  };
}
