import assert from 'node:assert/strict';
import { test } from 'node:test';
import { llhttp, onHead } from './llhttp.ts';

/** Parses one request head with `n` header fields through onHead and returns the fields and URL seen. */
function parseRequest(n: number, url: string): { fields: string[]; url: string | undefined } {
  const p = llhttp!.newParser('request', 1 << 20);
  let fields: string[] = [];
  let seenUrl: string | undefined;
  onHead(p, llhttp!, (_maj, _min, headers, _m, u) => {
    fields = headers ?? [];
    seenUrl = u;
    return 0;
  });
  const lines = Array.from({ length: n }, (_, i) => `X-F${i}: v${i}\r\n`).join('');
  const bytes = Buffer.from(`GET ${url} HTTP/1.1\r\n${lines}\r\n`, 'latin1');
  // Fed one byte at a time too: every chunk split, so URL and fields arrive in pieces.
  for (let i = 0; i < bytes.length; i++) p.execute(bytes.subarray(i, i + 1));
  p.free();
  return { fields, url: seenUrl };
}

for (const n of [0, 1, 31, 32, 33, 64, 200]) {
  test(`llhttp onHead delivers all ${n} request header fields in order and the whole URL, split byte by byte`, () => {
    assert.ok(llhttp, "this Node has llhttp's expected shape");
    const url = `/p/${'a'.repeat(300)}?q=1`;
    const { fields, url: got } = parseRequest(n, url);
    assert.deepEqual(fields, Array.from({ length: n }, (_, i) => [`X-F${i}`, `v${i}`]).flat());
    assert.equal(got, url);
  });
}
