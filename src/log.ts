/**
 * pino, set up the way certswap logs: structured JSON to stderr, one event per operation with
 * its generation and fingerprint. Key material is never passed to a log call; the redaction list
 * is a second line of defence for callers that log objects of their own.
 */
import { createRequire } from 'node:module';
import pino from 'pino';
import type { Log } from './store/context.js';

export interface LoggerOptions {
  level?: string;
  /** Write to this descriptor instead of stderr. */
  fd?: number;
  /** Human-readable lines (for a terminal) instead of JSON. */
  pretty?: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(opts: LoggerOptions = {}): Log & pino.Logger {
  if (opts.pretty) {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (o: object) => pino.DestinationStream;
    return pino(
      { level: opts.level ?? 'info', redact: { paths: ['key', 'keyPem', '*.key', '*.keyPem'], censor: '[redacted]' } },
      pretty({
        colorize: true,
        sync: true,
        destination: opts.fd ?? 2,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,event',
      }),
    );
  }
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, name: 'certswap' },
      redact: { paths: ['key', 'keyPem', '*.key', '*.keyPem'], censor: '[redacted]' },
    },
    pino.destination({ fd: opts.fd ?? 2, sync: true }),
  );
}
