/**
 * RuntimeVersion names as the seed wrote them (`deb11_py310_wlatest`, in
 * app.toml's Runtime.RuntimeVersion and the server's [[RuntimeVersion]]
 * Name) mapped to valid Kubernetes object names: '_' becomes '-' and
 * letters become lowercase. Every reader of such a name (config loading, the
 * operator, the API) maps it the same way.
 */

const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The RuntimeVersion object name for a seed-style name: `Deb11_Py310` → `deb11-py310`. */
export function runtimeVersionObjectName(name: string): string {
  return name.replace(/_/g, '-').toLowerCase();
}

/** True when the mapped name is a valid RuntimeVersion object name (a DNS subdomain). */
export function isRuntimeVersionName(name: string): boolean {
  return OBJECT_NAME.test(runtimeVersionObjectName(name));
}
