/**
 * pino, set up the way certswap logs: structured JSON to stderr, one event per operation with
 * its generation and fingerprint. Key material is never passed to a log call; the redaction list
 * is a second line of defence for callers that log objects of their own.
 */
import pino from 'pino';
import type { Log } from './context.js';

export interface LoggerOptions {
  level?: string;
  /** Write to this descriptor instead of stderr. */
  fd?: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(opts: LoggerOptions = {}): Log & pino.Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, name: 'certswap' },
      redact: { paths: ['key', 'keyPem', '*.key', '*.keyPem'], censor: '[redacted]' },
    },
    pino.destination({ fd: opts.fd ?? 2, sync: true }),
  );
}
