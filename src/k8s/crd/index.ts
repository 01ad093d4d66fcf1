/**
 * The Appstore's custom resources (hac.h2o.ai/v1alpha1): TypeBox schemas,
 * the TypeScript types derived from them, constants, constructors and the
 * CRD definitions. Loads no Kubernetes client: `installCrds` lives in
 * ./install.ts.
 */
export * from './group.ts';
export * from './kube-schema.ts';
export * from './condition.ts';
export * from './appinstance.ts';
export * from './runtimeversion.ts';
export * from './definitions.ts';
