#!/usr/bin/env node
// The launcher inside app pods (see docs/launcher.md). Runs the TypeScript
// sources through tsx (no build step), with this project's tsconfig.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/launcher/main.ts');
