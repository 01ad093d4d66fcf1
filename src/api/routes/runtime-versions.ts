/**
 * GET /runtime-versions: the RuntimeVersion objects (runtime images an
 * instance can run in), read from the Kubernetes API at request time (few,
 * cluster-scoped, rarely read), with the number of instances using each
 * counted over the instance cache.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { canListRuntimeVersions } from '../../auth/policy.ts';
import { GROUP, RUNTIME_VERSION_PLURAL, VERSION } from '../../k8s/crd/index.ts';
import type { RuntimeVersion } from '../../k8s/crd/index.ts';
import { UnauthorizedError } from '../../lib/errors.ts';
import type { ApiContext } from '../app.ts';
import type { RuntimeVersionInfo } from '../schemas.ts';
import { requireBackend } from './instances.ts';

export function runtimeVersionRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/runtime-versions',
      { schema: { tags: ['instances'], summary: 'Runtime versions to run instances in (default first, then by name)', response: { 200: { $ref: 'RuntimeVersionList#' } } } },
      async (request) => {
        const b = requireBackend(ctx);
        if (!canListRuntimeVersions(request.viewer)) throw new UnauthorizedError('sign in to list runtime versions');
        const custom = b.kc.makeApiClient(CustomObjectsApi);
        const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL })) as { items: RuntimeVersion[] };
        const using = new Map<string, number>();
        for (const inst of b.cache.list()) {
          const rv = inst.spec.runtimeVersion ?? inst.status?.resolved?.runtimeVersion;
          if (rv) using.set(rv, (using.get(rv) ?? 0) + 1);
        }
        const items: RuntimeVersionInfo[] = list.items.map((rv) => {
          const name = rv.metadata.name ?? '';
          return { name, image: rv.spec.image, default: rv.spec.default === true, deprecated: rv.spec.deprecated === true, instances: using.get(name) ?? 0 };
        });
        items.sort((x, y) => Number(y.default) - Number(x.default) || x.name.localeCompare(y.name));
        return { items };
      },
    );
  };
}
