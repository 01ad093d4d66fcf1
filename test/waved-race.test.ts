/** The waved race detector the end-to-end test relies on before it reloads a page (test/support/waved-race.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { wavedLostFirstPage } from './support/waved-race.ts';

// Instance logs from an end-to-end run where the second browser stayed on "Loading ...".
const logs = readFileSync(new URL('./fixtures/waved-lost-first-page.txt', import.meta.url), 'utf8');

test('the lost first page is recognised for the client it happened to, and only for it', () => {
  assert.equal(wavedLostFirstPage(logs, '2c3404a9-81eb-4281-a04a-3c211f1ebed5'), true, 'published at 11:55:31 before its ui_add');
  assert.equal(wavedLostFirstPage(logs, '9733844d-0732-4f0e-bb5d-8c9e2ffb41f9'), false, 'subscribed first, then published: no race');
  assert.equal(wavedLostFirstPage(logs, 'not-a-client'), false);
  assert.equal(wavedLostFirstPage('', '2c3404a9-81eb-4281-a04a-3c211f1ebed5'), false);
});
