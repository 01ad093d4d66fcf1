#!/usr/bin/env node
// The h2o CLI. Runs the TypeScript sources through tsx (no build step), with
// this project's tsconfig whatever the working directory holds.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli/main.ts');
