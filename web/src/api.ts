/**
 * The API client of the UI: same-origin fetches (the session cookie, or in
 * tests a header the browser adds, carries who the user is — page script
 * never sees a token) and the JSON shapes of docs/api.md.
 */
import type { App, AppList, ImportResult, InstanceStatusDetail, Me, Tag } from '../../src/api/schemas.ts';

export type { App, ImportResult, InstanceStatusDetail, Me, Tag };
export type Visibility = App['visibility'];
export const VISIBILITIES: Visibility[] = ['PRIVATE', 'ALL_USERS', 'PUBLIC'];
export const VISIBILITY_LABELS: Record<Visibility, string> = {
  PRIVATE: 'Private (only me)',
  ALL_USERS: 'All signed-in users',
  PUBLIC: 'Public (anyone, also anonymous)',
};

/** An instance as GET /api/v1/instances returns it (contract in notes/contracts.md). */
export interface Instance {
  id: string;
  appId: string;
  appName: string;
  appVersion: string;
  appTitle: string;
  owner: string;
  ownerName: string;
  visibility: Visibility;
  runtimeVersion?: string;
  suspended: boolean;
  status: string;
  reason?: string;
  message?: string;
  url?: string;
  createdAt: string;
  readyAt?: string;
}

export interface RuntimeVersion {
  name: string;
  image: string;
  default: boolean;
  deprecated: boolean;
  instances: number;
}

export interface Issue {
  path: string;
  message: string;
}

/** An API error: the server's message (written for the user) and per-field issues. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: { message?: string; issues?: Issue[] } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's error page): the status line says enough.
  }
  return new ApiError(res.status, body.message ?? `${res.status} ${res.statusText}`, body.issues ?? []);
}

/** A JSON request to the API; throws ApiError on a non-2xx answer. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: init.body !== undefined ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
    body: init.body !== undefined ? JSON.stringify(init.body) : null,
  });
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const getMe = () => api<Me>('/api/v1/me');
export const listTags = () => api<Tag[]>('/api/v1/tags');

export function listApps(q: { scope?: 'mine' | 'all'; search?: string; category?: string; tag?: string } = {}): Promise<App[]> {
  const p = new URLSearchParams({ limit: '500' });
  for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
  return api<AppList>(`/api/v1/apps?${p}`).then((l) => l.items);
}

export async function listInstances(q: { all?: boolean; app?: string } = {}): Promise<Instance[]> {
  const p = new URLSearchParams();
  if (q.all) p.set('all', 'true');
  if (q.app) p.set('app', q.app);
  p.set('limit', '500');
  // Every page: the tables show them all (an admin's list can pass one page).
  const items: Instance[] = [];
  for (;;) {
    const page = await api<{ items: Instance[]; nextCursor?: string }>(`/api/v1/instances?${p}`);
    items.push(...page.items);
    if (!page.nextCursor) return items;
    p.set('cursor', page.nextCursor);
  }
}

/** One instance with its conditions, pod, containers and recent events (GET /api/v1/instances/:id/status). */
export const getInstanceStatus = (id: string) => api<InstanceStatusDetail>(`/api/v1/instances/${encodeURIComponent(id)}/status`);

/**
 * Uploads a bundle as the raw request body. XMLHttpRequest, not fetch,
 * because only it reports upload progress.
 */
export function uploadBundle(file: Blob, visibility: Visibility, onProgress: (sent: number, total: number) => void): Promise<ImportResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/apps?visibility=${visibility}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('content-type', 'application/zip');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed: the server could not be reached'));
    xhr.onload = () => {
      let body: { message?: string; issues?: Issue[] } & Partial<ImportResult> = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // handled below by the status
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as ImportResult);
      else reject(new ApiError(xhr.status, body.message ?? `upload failed: ${xhr.status} ${xhr.statusText}`, body.issues ?? []));
    };
    xhr.send(file);
  });
}

/**
 * Streams an instance's log (follow=true) into `onText` until `signal`
 * aborts or the server ends the stream.
 */
export async function tailLogs(id: string, onText: (chunk: string) => void, signal: AbortSignal, opts: { previous?: boolean } = {}): Promise<void> {
  const p = new URLSearchParams({ follow: 'true', tail: '500' });
  if (opts.previous) p.set('previous', 'true');
  const res = await fetch(`/api/v1/instances/${encodeURIComponent(id)}/logs?${p}`, { credentials: 'same-origin', signal });
  if (!res.ok) throw await errorOf(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onText(value);
  }
}

/** "3 minutes ago" from an RFC 3339 time. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
