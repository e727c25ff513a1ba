#!/usr/bin/env node
/** The certswap executable. */
import { run } from './run.js';
import { useBlockingIo } from '../fs.js';

// One command, or the agent: nothing else runs on this event loop while it waits for an fsync,
// so thread-pool round trips would only add latency (src/fs.ts, blockingOps).
useBlockingIo();

// No top-level await: this file is also the entry of the CommonJS bundle (scripts/build-cli.mjs).
void run(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
