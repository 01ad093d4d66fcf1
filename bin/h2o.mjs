#!/usr/bin/env node
// The h2o CLI: compiled code (dist/, rebuilt from src/ when stale in a checkout) on Node 24+.
import { ensureDist } from './dist.mjs';
import { onNodeLts } from './node-lts.mjs';

await onNodeLts();
ensureDist();
process.setSourceMapsEnabled(true);
await import('../dist/cli/main.js');
