/**
 * Tags: labels on apps (like GitHub issue labels) with an RGB color and role
 * lists. Who may change them is decided by the caller (src/auth policy);
 * this class only validates and stores.
 */
import { and, asc, eq } from 'drizzle-orm';
import { ConflictError, InvalidError, NotFoundError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import type { Database, Db } from './db.ts';
import { FOREIGN_KEY_VIOLATION, isPgError, isUuid, UNIQUE_VIOLATION } from './pg-errors.ts';
import { appTags, apps, tags } from './schema.ts';

export interface TagRecord {
  id: string;
  name: string;
  title: string;
  /** `#RRGGBB`. */
  color: string;
  description: string;
  /** Roles allowed to assign, remove and update this tag; empty means any user. */
  adminRoles: string[];
  /** Visitors holding one of these roles may see ALL_USERS apps carrying this tag. */
  visitorRoles: string[];
  /** Shown as a category in the catalog. */
  isCategory: boolean;
  createdAt: Date;
}

export interface NewTag {
  name: string;
  /** Defaults to the name. */
  title?: string;
  color: string;
  description?: string;
  adminRoles?: string[];
  visitorRoles?: string[];
  isCategory?: boolean;
}

/** Fields a tag update may change; absent fields stay as they are. The name never changes. */
export type TagPatch = Partial<Pick<TagRecord, 'title' | 'color' | 'description' | 'adminRoles' | 'visitorRoles' | 'isCategory'>>;

/** Tag names: lower-case letters, digits, `.`, `_`, `-`; start with a letter or digit; at most 63 characters. */
export const TAG_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const COLOR_PATTERN = /^#[0-9A-Fa-f]{6}$/;
const MAX_TITLE = 200;
const MAX_DESCRIPTION = 4000;
const MAX_ROLES = 100;
const MAX_ROLE = 200;

export const tagColumns = {
  id: tags.id,
  name: tags.name,
  title: tags.title,
  color: tags.color,
  description: tags.description,
  adminRoles: tags.adminRoles,
  visitorRoles: tags.visitorRoles,
  isCategory: tags.isCategory,
  createdAt: tags.createdAt,
};

export class TagRepository {
  private readonly db: Db;

  constructor(database: Database) {
    this.db = database.db;
  }

  /** Every tag, by name. */
  async list(): Promise<TagRecord[]> {
    return this.db.select(tagColumns).from(tags).orderBy(asc(tags.name));
  }

  /** A tag by id or by name; NotFoundError when there is none. */
  async get(ref: string): Promise<TagRecord> {
    const [row] = await this.db.select(tagColumns).from(tags).where(tagRef(ref)).limit(1);
    if (!row) throw tagNotFound(ref);
    return row;
  }

  /** Creates a tag; ConflictError when the name is taken. */
  async create(input: NewTag): Promise<TagRecord> {
    const issues: FieldIssue[] = [];
    if (typeof input.name !== 'string' || !TAG_NAME_PATTERN.test(input.name)) {
      issues.push({
        path: 'name',
        message: `tag name ${JSON.stringify(input.name)} is not valid: use 1-63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`,
      });
    }
    validatePatch(input, issues); // an absent title becomes the (checked) name
    if (issues.length) throw new InvalidError('invalid tag', issues);
    try {
      const [row] = await this.db
        .insert(tags)
        .values({
          name: input.name,
          title: input.title ?? input.name,
          color: input.color,
          description: input.description ?? '',
          adminRoles: input.adminRoles ?? [],
          visitorRoles: input.visitorRoles ?? [],
          isCategory: input.isCategory ?? false,
        })
        .returning(tagColumns);
      if (!row) throw new Error('insert returned no row');
      return row;
    } catch (err) {
      if (isPgError(err, UNIQUE_VIOLATION, 'tags_name_unique')) {
        throw new ConflictError(`tag ${input.name} already exists; pick another name or update the existing tag`, { cause: err });
      }
      throw err;
    }
  }

  /** Changes the given fields of a tag (by id or name). */
  async update(ref: string, patch: TagPatch): Promise<TagRecord> {
    const issues: FieldIssue[] = [];
    validatePatch(patch, issues);
    if (issues.length) throw new InvalidError('invalid tag update', issues);
    const set: TagPatch = {};
    for (const k of ['title', 'color', 'description', 'adminRoles', 'visitorRoles', 'isCategory'] as const) {
      if (patch[k] !== undefined) (set as Record<string, unknown>)[k] = patch[k];
    }
    if (!Object.keys(set).length) return this.get(ref);
    const [row] = await this.db.update(tags).set(set).where(tagRef(ref)).returning(tagColumns);
    if (!row) throw tagNotFound(ref);
    return row;
  }

  /** Deletes a tag (by id or name); its assignments go with it. */
  async delete(ref: string): Promise<void> {
    const [row] = await this.db.delete(tags).where(tagRef(ref)).returning({ id: tags.id });
    if (!row) throw tagNotFound(ref);
  }

  /** Puts a tag (by id or name) on an app; assigning twice is harmless. */
  async assign(tagRefOrId: string, appId: string): Promise<void> {
    const tag = await this.get(tagRefOrId);
    if (!isUuid(appId)) throw appNotFound(appId);
    try {
      await this.db.insert(appTags).values({ appId, tagId: tag.id }).onConflictDoNothing();
    } catch (err) {
      // The tag exists (read above) unless deleted since; the app may not.
      if (isPgError(err, FOREIGN_KEY_VIOLATION, 'app_tags_app_id_apps_id_fk')) throw appNotFound(appId);
      if (isPgError(err, FOREIGN_KEY_VIOLATION, 'app_tags_tag_id_tags_id_fk')) throw tagNotFound(tagRefOrId);
      throw err;
    }
  }

  /** Takes a tag (by id or name) off an app; NotFoundError when the tag or app does not exist. */
  async remove(tagRefOrId: string, appId: string): Promise<void> {
    const tag = await this.get(tagRefOrId);
    if (!isUuid(appId)) throw appNotFound(appId);
    const [app] = await this.db.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).limit(1);
    if (!app) throw appNotFound(appId);
    await this.db.delete(appTags).where(and(eq(appTags.appId, appId), eq(appTags.tagId, tag.id)));
  }
}

function tagRef(ref: string) {
  return isUuid(ref) ? eq(tags.id, ref) : eq(tags.name, ref);
}

function tagNotFound(ref: string): NotFoundError {
  return new NotFoundError(`tag ${ref} not found; list tags with \`h2o tag list\``);
}

function appNotFound(id: string): NotFoundError {
  return new NotFoundError(`app ${id} not found; list apps with \`h2o app list\``);
}

function validatePatch(p: TagPatch, issues: FieldIssue[]): void {
  if (p.title !== undefined && (typeof p.title !== 'string' || !p.title.trim() || p.title.length > MAX_TITLE)) {
    issues.push({ path: 'title', message: `title must be 1-${MAX_TITLE} characters` });
  }
  if (p.color !== undefined && (typeof p.color !== 'string' || !COLOR_PATTERN.test(p.color))) {
    issues.push({ path: 'color', message: `color ${JSON.stringify(p.color)} is not valid: use an RGB hex color such as #1F77B4` });
  }
  if (p.description !== undefined && (typeof p.description !== 'string' || p.description.length > MAX_DESCRIPTION)) {
    issues.push({ path: 'description', message: `description must be text of at most ${MAX_DESCRIPTION} characters` });
  }
  for (const k of ['adminRoles', 'visitorRoles'] as const) {
    const roles = p[k];
    if (roles === undefined) continue;
    if (!Array.isArray(roles) || roles.length > MAX_ROLES || roles.some((r) => typeof r !== 'string' || !r || r.length > MAX_ROLE)) {
      issues.push({ path: k, message: `${k} must be a list of at most ${MAX_ROLES} non-empty role names (each at most ${MAX_ROLE} characters)` });
    }
  }
  if (p.isCategory !== undefined && typeof p.isCategory !== 'boolean') {
    issues.push({ path: 'isCategory', message: 'isCategory must be true or false' });
  }
}
