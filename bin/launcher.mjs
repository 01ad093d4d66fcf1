#!/usr/bin/env node
// The launcher inside app pods (see docs/launcher.md): compiled code (dist/; the launcher image
// ships only dist/launcher, dist/bundle and dist/lib) on Node 24+.
import { ensureDist } from './dist.mjs';
import { onNodeLts } from './node-lts.mjs';

await onNodeLts();
ensureDist();
process.setSourceMapsEnabled(true);
await import('../dist/launcher/main.js');
