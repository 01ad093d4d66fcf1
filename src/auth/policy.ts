/**
 * The one authorization policy for apps, tags, instances and runtime
 * versions: the API, the router and the web UI all ask it. The repository's
 * SQL listing filter mirrors `canSeeApp` (a test holds the two to the same
 * answers).
 */
import { isVisitor, type Principal, type Viewer, type Visibility } from '../lib/principal.ts';

export interface PolicyOptions {
  /** Anonymous users may see PUBLIC apps (Auth.PublicAccess). */
  publicAccess: boolean;
}

/** What the policy needs to know about an app. */
export interface AppFacts {
  owner: string;
  visibility: Visibility;
  /** Visitor roles of every tag on the app. */
  tagVisitorRoles: string[][];
}

export interface TagFacts {
  adminRoles: string[];
}

function owns(p: Viewer, app: AppFacts): boolean {
  return p !== null && p.subject === app.owner;
}

function intersects(a: string[], b: string[]): boolean {
  return a.some((x) => b.includes(x));
}

/**
 * Who sees an app: the owner and admins always; full-access users ALL_USERS
 * and PUBLIC apps; visitors PUBLIC apps and ALL_USERS apps carrying a tag
 * that names one of their roles; anonymous users PUBLIC apps when public
 * access is on.
 */
export function canSeeApp(p: Viewer, app: AppFacts, opts: PolicyOptions): boolean {
  if (p === null) return opts.publicAccess && app.visibility === 'PUBLIC';
  if (p.admin || owns(p, app)) return true;
  if (app.visibility === 'PUBLIC') return true;
  if (app.visibility === 'PRIVATE') return false;
  if (!isVisitor(p)) return true;
  return app.tagVisitorRoles.some((roles) => intersects(roles, p.roles));
}

/** Launching needs a signed-in user who can see the app. */
export function canLaunchApp(p: Viewer, app: AppFacts, opts: PolicyOptions): boolean {
  return p !== null && canSeeApp(p, app, opts);
}

/** Importing apps is for full-access users (and admins); visitors only use apps. */
export function canImportApp(p: Viewer): p is Principal {
  return p !== null && (p.admin || p.fullAccess);
}

/** Changing visibility or deleting: the owner or an admin. */
export function canManageApp(p: Viewer, app: AppFacts): boolean {
  return p !== null && (p.admin || owns(p, app));
}

/** Downloading the bundle: the owner or an admin (launchers use a scoped token instead). */
export function canDownloadBundle(p: Viewer, app: AppFacts): boolean {
  return canManageApp(p, app);
}

/** Creating and deleting tags is for admins. */
export function canAdministerTags(p: Viewer): boolean {
  return p !== null && p.admin;
}

/**
 * Assigning, removing and updating a tag: admins, and users holding one of the
 * tag's admin roles. An empty admin-role list means admins only (issue #24,
 * 8c: otherwise any full-access user could rewrite who administers the tag).
 */
export function canManageTag(p: Viewer, tag: TagFacts): boolean {
  if (p === null) return false;
  if (p.admin) return true;
  if (tag.adminRoles.length === 0) return false;
  return intersects(tag.adminRoles, p.roles);
}

/** What the policy needs to know about an instance. */
export interface InstanceFacts {
  /** Subject of the user who launched it. */
  owner: string;
  visibility: Visibility;
  /** Subject of the owner of the instance's app, when known. */
  appOwner?: string;
}

/**
 * Opening an instance's UI (the router asks this for every request and
 * websocket upgrade): PRIVATE — the owner only (admins manage such instances
 * but do not open them); ALL_USERS — the owner and signed-in users with full
 * access; PUBLIC — anyone, anonymous users too when public access is on.
 */
export function canOpenInstance(p: Viewer, inst: InstanceFacts, opts: PolicyOptions): boolean {
  if (inst.visibility === 'PUBLIC') return p !== null || opts.publicAccess;
  if (p === null) return false;
  if (p.subject === inst.owner) return true;
  return inst.visibility === 'ALL_USERS' && !isVisitor(p);
}

/** Status and logs: the owner, the owner of the instance's app, and admins. */
export function canReadInstanceLogs(p: Viewer, inst: InstanceFacts): boolean {
  return p !== null && (p.admin || p.subject === inst.owner || (inst.appOwner !== undefined && p.subject === inst.appOwner));
}

/** Seeing an instance (get, and in lists): whoever may open it or read its logs. */
export function canSeeInstance(p: Viewer, inst: InstanceFacts, opts: PolicyOptions): boolean {
  return canReadInstanceLogs(p, inst) || canOpenInstance(p, inst, opts);
}

/** Changing visibility, suspending, resuming and terminating: the owner and admins. */
export function canManageInstance(p: Viewer, inst: InstanceFacts): boolean {
  return p !== null && (p.admin || p.subject === inst.owner);
}

/** Listing runtime versions (to choose one at launch): any signed-in user. */
export function canListRuntimeVersions(p: Viewer): p is Principal {
  return p !== null;
}

/** Creating, changing and deleting runtime versions: admins. */
export function canManageRuntimeVersions(p: Viewer): boolean {
  return p !== null && p.admin;
}
