import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { Quantity, StringEnum, toOpenApiSchema } from './kube-schema.ts';
import { isQuantity } from '../../lib/quantity.ts';
import { QUANTITY_PATTERN } from './kube-schema.ts';

test('a union of string literals becomes a string enum, keeping description and default', () => {
  const s = toOpenApiSchema(StringEnum(['A', 'B'], { description: 'd', default: 'A' }));
  assert.deepEqual(s, { type: 'string', description: 'd', default: 'A', enum: ['A', 'B'] });
});

test('a quantity becomes x-kubernetes-int-or-string with the pattern beside anyOf', () => {
  const s = toOpenApiSchema(Quantity({ description: 'q' }));
  assert.equal(s['x-kubernetes-int-or-string'], true);
  assert.deepEqual(s.anyOf, [{ type: 'integer' }, { type: 'string' }]);
  assert.equal(s.pattern, QUANTITY_PATTERN);
  assert.equal(s.minimum, 0);
  assert.equal(s.type, undefined);
});

test('TypeBox metadata and key order: object schema comes out plain and ordered', () => {
  const s = toOpenApiSchema(Type.Object({ a: Type.Optional(Type.String({ maxLength: 3, description: 'a' })) }, { description: 'o' }));
  assert.deepEqual(Object.keys(s), ['type', 'description', 'properties']);
  assert.deepEqual(s.properties?.a, { type: 'string', description: 'a', maxLength: 3 });
  assert.equal(Object.getOwnPropertySymbols(s).length, 0);
});

test('rejects what the apiserver would reject or silently drop, naming the field', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['string without maxLength', () => toOpenApiSchema(Type.Object({ s: Type.String({ description: 'x' }) }, { description: 'o' })), /\.s: string needs maxLength/],
    ['array without maxItems', () => toOpenApiSchema(Type.Object({ l: Type.Array(Type.Integer(), { description: 'x' }) })), /\.l: array needs maxItems/],
    ['field without description', () => toOpenApiSchema(Type.Object({ n: Type.Integer() })), /\.n: add a description/],
    ['$id', () => toOpenApiSchema(Type.Object({}, { $id: 'X' })), /keyword "\$id" is not supported/],
    ['additionalProperties: false', () => toOpenApiSchema(Type.Object({}, { additionalProperties: false })), /additionalProperties must be a schema/],
    ['patternProperties (Type.Record)', () => toOpenApiSchema(Type.Record(Type.String(), Type.Integer())), /keyword "patternProperties"/],
    ['a general union', () => toOpenApiSchema(Type.Union([Type.Integer(), Type.Boolean()])), /unions are not structural/],
    ['map without maxProperties', () => toOpenApiSchema(Type.Unsafe({ type: 'object', additionalProperties: { type: 'integer' } })), /map needs maxProperties/],
  ];
  for (const [name, f, re] of cases) assert.throws(f, re, name);
});

test('the quantity pattern agrees with the quantity parser in src/lib', () => {
  const re = new RegExp(QUANTITY_PATTERN);
  for (const q of ['512Mi', '2Gi', '500m', '0.5', '1e3', '1E-3', '2', '.5', '100k', '1.5Gi']) {
    assert.ok(re.test(q), q);
    assert.ok(isQuantity(q), q);
  }
  for (const q of ['', 'Mi', '1 Gi', '1GB', '1Gib', '-1', 'abc']) assert.ok(!re.test(q), q);
});
