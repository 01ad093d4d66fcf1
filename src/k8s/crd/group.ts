/** API group and version shared by the Appstore's custom resources. */

export const GROUP = 'hac.h2o.ai';
export const VERSION = 'v1alpha1';
/** `apiVersion` of every object of this group, e.g. in an AppInstance manifest. */
export const API_VERSION = `${GROUP}/${VERSION}` as const;
/** Category so that `kubectl get appstore` lists both kinds at once. */
export const CATEGORY = 'appstore';
