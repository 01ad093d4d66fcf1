/**
 * The Appstore's custom resources (hac.h2o.ai/v1alpha1): TypeBox schemas,
 * the TypeScript types derived from them, constants, constructors, the CRD
 * definitions and their installation.
 */
export * from './group.ts';
export * from './kube-schema.ts';
export * from './condition.ts';
export * from './appinstance.ts';
export * from './runtimeversion.ts';
export * from './definitions.ts';
export { installCrds } from './install.ts';
export type { InstallCrdsOptions } from './install.ts';
