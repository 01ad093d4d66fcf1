import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQuantity, parseQuantity } from './quantity.ts';

test('valid Kubernetes quantities parse to their value', () => {
  assert.equal(parseQuantity('512Mi'), 512 * 2 ** 20);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('0.5'), 0.5);
  assert.equal(parseQuantity('2k'), 2000);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('.5'), 0.5);
});

test('invalid quantities are refused', () => {
  for (const bad of ['', 'Gi', '1GB', '1 Gi', '1gi', '1.2.3', 'abc', '1Mii', '--1']) {
    assert.equal(isQuantity(bad), false, bad);
    assert.throws(() => parseQuantity(bad), /not a Kubernetes quantity/);
  }
});
