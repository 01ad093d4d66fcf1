#!/usr/bin/env node
// The appstore command: the compiled server (dist/, rebuilt from src/ when stale in a checkout) on Node 24+.
import { ensureDist } from './dist.mjs';
import { onNodeLts } from './node-lts.mjs';

await onNodeLts();
ensureDist();
process.setSourceMapsEnabled(true);
await import('../dist/server/main.js');
