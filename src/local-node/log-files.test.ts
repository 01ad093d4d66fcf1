import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { readLogFile } from './log-files.ts';
import { mapListen } from './pod-runner.ts';

async function text(s: Readable): Promise<string> {
  let t = '';
  for await (const c of s) t += (c as Buffer).toString();
  return t;
}

test('log files: all, the last N lines, and following until the writer stops', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'log-files-'));
  try {
    const file = join(dir, '0.log');
    writeFileSync(file, 'a\nb\nc\n');
    const signal = new AbortController().signal;
    assert.equal(await text(await readLogFile(file, { follow: false, signal, live: () => false })), 'a\nb\nc\n');
    assert.equal(await text(await readLogFile(file, { follow: false, tailLines: 2, signal, live: () => false })), 'b\nc\n');
    assert.equal(await text(await readLogFile(file, { follow: false, tailLines: 9, signal, live: () => false })), 'a\nb\nc\n');
    // The tail is the last lines when asked, not those plus whatever the writer appended before the stream was read.
    const tail = await readLogFile(file, { follow: false, tailLines: 1, signal, live: () => true });
    appendFileSync(file, 'late\n');
    assert.equal(await text(tail), 'c\n');
    writeFileSync(file, 'a\nb\nc\n');
    let live = true;
    const followed = text(await readLogFile(file, { follow: true, tailLines: 1, signal, live: () => live }));
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(file, 'd\n');
    await new Promise((r) => setTimeout(r, 300));
    live = false;
    assert.equal(await followed, 'c\nd\n');
    await assert.rejects(readLogFile(join(dir, 'missing.log'), { follow: false, signal, live: () => false }), /has not started/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every pod listens on its own IP', () => {
  assert.equal(mapListen(':10101', '127.64.0.7'), '127.64.0.7:10101');
  assert.equal(mapListen('0.0.0.0:8080', '127.64.0.7'), '127.64.0.7:8080');
});
