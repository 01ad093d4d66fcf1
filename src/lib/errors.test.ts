import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidError, NotFoundError } from './errors.ts';

test('InvalidError lists every field issue in its message', () => {
  const err = new InvalidError('app.toml is invalid', [
    { path: 'App.Name', message: 'is required; set Name = "ai.example.app"' },
    { path: 'Env[2].SecretKey', message: 'cannot be used with Value' },
  ]);
  assert.equal(err.status, 400);
  assert.match(err.message, /App\.Name: is required/);
  assert.match(err.message, /Env\[2\]\.SecretKey: cannot be used with Value/);
  assert.equal(new NotFoundError('x').status, 404);
});
