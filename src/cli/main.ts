#!/usr/bin/env node
/** The certswap executable. */
import { parseCli } from './args.js';
import { latchSignals, type SignalLatch } from '../agent/signal-latch.js';

const argv = process.argv.slice(2);

/**
 * The agent catches SIGHUP, SIGTERM and SIGINT from here on (signal-latch.ts): systemd may send
 * its ExecReload SIGHUP while the agent is still loading, and the default action would kill it.
 * Every other command keeps the default actions, so that Ctrl-C stops it at once. A command line
 * that does not parse is not the agent; run() reports it.
 */
function agentLatch(): SignalLatch | undefined {
  try {
    return parseCli(argv, process.env).command === 'agent' ? latchSignals() : undefined;
  } catch {
    return undefined;
  }
}

// Before anything else is loaded: only parseCli's few modules and signal-latch.ts run before it.
const signals = agentLatch();

// No top-level await: this file is also the entry of the CommonJS bundle (scripts/build-cli.mjs).
void Promise.all([import('./run.js'), import('../io/fs.js')])
  .then(([{ run }, { useBlockingIo }]) => {
    // One command, or the agent: nothing else runs on this event loop while it waits for an
    // fsync, so thread-pool round trips would only add latency (src/io/fs.ts, blockingOps).
    useBlockingIo();
    return run(argv, {
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
      env: process.env,
      ...(signals ? { signals } : {}),
    });
  })
  .then((code) => {
    process.exitCode = code;
  });
