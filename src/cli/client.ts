/**
 * HTTP client of the app store's REST API on Node's fetch. JSON errors from
 * the server become the typed errors of src/lib/errors.ts (so the exit code
 * follows from the status); an unreachable server says so and what to check.
 */
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, TooLargeError, UnauthorizedError, formatIssues, type AppError, type FieldIssue } from '../lib/errors.ts';
import type { ApiError } from '../api/schemas.ts';
import type { Credentials } from './credentials.ts';

/** The server could not be reached at all (refused, DNS, reset): exit code 1. */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

/** The server answered with a 5xx or something that is not the API: exit code 1. */
export class ServerError extends Error {
  override name = 'ServerError';
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (e.g. a file stream); needs `contentType`. */
  body?: ReadableStream<Uint8Array> | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  /** Aborts the request and its response body (e.g. a followed log on Ctrl-C). */
  signal?: AbortSignal;
}

/** Builds the typed error for a non-2xx answer, from its JSON body when it has one. */
export async function errorFromResponse(res: Response): Promise<Error> {
  const text = await res.text().catch(() => '');
  let body: Partial<ApiError> = {};
  try {
    body = JSON.parse(text) as Partial<ApiError>;
  } catch {
    // Not the API's JSON (a proxy's HTML page, say): fall back to the status line.
  }
  const message = typeof body.message === 'string' ? body.message : `${res.status} ${res.statusText || 'error'}${text && text.length < 200 ? `: ${text.trim()}` : ''}`;
  const issues: FieldIssue[] = Array.isArray(body.issues) ? body.issues : [];
  // InvalidError renders its issues itself; the others get them appended, one per line.
  const withIssues = issues.length ? `${message}:\n${formatIssues(issues)}` : message;
  const typed: Record<number, () => AppError> = {
    400: () => new InvalidError(message, issues),
    401: () => new UnauthorizedError(`${withIssues}; the sign-in of this profile has expired or its token is not valid: sign in again with \`h2o config setup\`, or set a new token with \`h2o config setup --token TOKEN\` (\`h2o config show\` shows the profile in use)`),
    403: () => new ForbiddenError(withIssues),
    404: () => new NotFoundError(withIssues),
    409: () => new ConflictError(withIssues),
    413: () => new TooLargeError(withIssues),
    422: () => new InvalidError(message, issues),
  };
  const make = typed[res.status];
  if (make) return make();
  // 503 with the API's JSON says why the thing is unavailable (an instance without a pod, say): that message is the error.
  if (res.status === 503 && typeof body.message === 'string') return new ServerError(withIssues);
  if (res.status >= 400 && res.status < 500) return new InvalidError(withIssues);
  return new ServerError(`the server failed (${res.status}): ${withIssues}`);
}

/** A client bound to one endpoint and its credentials. */
export class ApiClient {
  constructor(
    readonly endpoint: string,
    private readonly credentials: Credentials,
  ) {}

  /** Sends a request and returns the 2xx response; anything else throws the matching typed error. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(`${this.endpoint}/api/v1${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    const auth = await this.credentials.authorization();
    if (auth) headers.authorization = auth;
    let body: RequestInit['body'];
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      body = opts.body;
    }
    let res: Response;
    try {
      // duplex: 'half' is required by fetch for a streamed request body.
      res = await fetch(url, { method, headers, body, signal: opts.signal, ...(opts.body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw this.unreachable(err);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  /** Sends a request and parses the JSON answer (undefined for 204). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  private unreachable(err: unknown): Error {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    return new NetworkError(`cannot reach ${this.endpoint}: ${why} — is the server running? check \`h2o config show\``, { cause: err });
  }
}
