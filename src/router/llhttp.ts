/**
 * Node's own HTTP/1.1 parser (llhttp, the C parser behind node:http) for the
 * router's front door (./front-door.ts). Using the very parser node:http uses
 * means the front door accepts and rejects exactly what node:http does: the
 * framing checks that stop request smuggling (Content-Length with
 * Transfer-Encoding, bad chunk sizes, obs-fold, bare LF) are llhttp's, not ours.
 *
 * Node reaches it through `node:_http_common`, which it keeps but does not
 * document, so its shape is checked once here: if a Node release changes it,
 * `llhttp` is undefined and the server serves everything through node:http.
 */
import { createRequire } from 'node:module';

/** Arguments of the headers-complete callback, as node:http receives them. */
export type HeadersComplete = (
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: number | undefined,
  url: string | undefined,
  statusCode: number | undefined,
  statusMessage: string | undefined,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number;

/** One parser (request or response side of one connection). */
export interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes consumed (fewer than given after an upgrade request's head), or the parse error (`code` HPE_…). */
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  /** End of input: completes a close-delimited response. */
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  [callback: number]: unknown;
}

export interface Llhttp {
  newParser(type: 'request' | 'response', maxHeaderSize: number): Parser;
  /** Method names by the index the headers callback gives. */
  methods: readonly string[];
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnMessageBegin: number;
}

interface HTTPParserClass {
  new (): Parser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
}

function load(): Llhttp | undefined {
  try {
    const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: HTTPParserClass; methods?: string[] };
    const P = common.HTTPParser;
    const methods = common.methods;
    if (!P || !methods) return undefined;
    const api: Llhttp = {
      newParser(type, maxHeaderSize) {
        const p = new P();
        // The resource is the async_hooks resource node:http passes; strict parsing (no lenient flags).
        p.initialize(type === 'request' ? P.REQUEST : P.RESPONSE, {}, maxHeaderSize, P.kLenientNone);
        return p;
      },
      methods,
      kOnHeaders: P.kOnHeaders,
      kOnHeadersComplete: P.kOnHeadersComplete,
      kOnBody: P.kOnBody,
      kOnMessageComplete: P.kOnMessageComplete,
      kOnMessageBegin: P.kOnMessageBegin,
    };
    return selfCheck(api) ? api : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one request with a body and one response and checks every callback got what this module expects. */
function selfCheck(api: Llhttp): boolean {
  const seen: string[] = [];
  /** Parses `text` with a new parser whose head callback records `describe(...)`; true when all of it was consumed. */
  const parse = (type: 'request' | 'response', text: string, describe: (...a: Parameters<HeadersComplete>) => string): boolean => {
    const p = api.newParser(type, 16384);
    p[api.kOnHeadersComplete] = ((...a: Parameters<HeadersComplete>) => {
      seen.push(describe(...a));
      return 0;
    }) satisfies HeadersComplete;
    p[api.kOnBody] = (b: unknown) => seen.push(`body ${Buffer.isBuffer(b) ? b.toString('latin1') : typeof b}`);
    p[api.kOnMessageComplete] = () => seen.push('done');
    const bytes = Buffer.from(text);
    const n = p.execute(bytes);
    p.free();
    return n === bytes.length;
  };
  const req = parse('request', 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi', (_maj, minor, headers, method, url, _sc, _sm, upgrade, keepAlive) => `${minor} ${headers?.join('|')} ${method === undefined ? '' : api.methods[method]} ${url} ${upgrade} ${keepAlive}`);
  const res = parse('response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', (_maj, _min, headers, _m, _u, status, message, _up, keepAlive) => `${status} ${message} ${headers?.join('|')} ${keepAlive}`);
  return req && res && seen.join('\n') === ['1 Host|a|Content-Length|2 POST /x false true', 'body hi', 'done', '200 OK Transfer-Encoding|chunked true', 'body ok', 'done'].join('\n');
}

/**
 * Sets `p`'s headers-complete callback to `cb` with every header field. llhttp hands fields over in
 * batches of 32 through kOnHeaders (and the URL in pieces with them); headers-complete then gets only
 * the tail, or undefined when the tail was flushed. Without this, a head of 32+ fields lost its first
 * ones (a Content-Length among them made the body a second request on a pooled upstream socket).
 */
export function onHead(p: Parser, api: Llhttp, cb: HeadersComplete): void {
  let batches: string[] = [];
  let urlPart = '';
  p[api.kOnHeaders] = (headers: string[] | undefined, url: string | undefined) => {
    if (headers) for (const h of headers) batches.push(h);
    if (url) urlPart += url;
  };
  p[api.kOnHeadersComplete] = ((maj, minor, headers, method, url, status, message, upgrade, keepAlive) => {
    const all = batches.length ? (headers ? batches.concat(headers) : batches) : headers;
    const fullUrl = urlPart ? urlPart + (url ?? '') : url;
    batches = [];
    urlPart = '';
    return cb(maj, minor, all, method, fullUrl, status, message, upgrade, keepAlive);
  }) satisfies HeadersComplete;
}

/** The parser, or undefined when this Node does not have the shape checked above. */
export const llhttp: Llhttp | undefined = load();
