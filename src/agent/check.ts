/**
 * The post-activation check: proof that the new pair works before the trial is committed. A
 * command that must exit 0, and/or a TLS handshake to host:port that presents the new pair as
 * the client certificate. Raises CERTSWAP_CHECK_FAILED.
 */
import tls from 'node:tls';
import { CertswapError, ErrorCodes } from '../errors.js';
import type { ActivePair } from '../store/read-active.js';
import { setLongTimeout } from './clock.js';
import { describeFailure, runCommand } from './exec.js';

export interface CheckOptions {
  command?: string[];
  tls?: { host: string; port: number; servername?: string; ca?: Buffer };
  timeoutMs: number;
}

function handshake(pair: ActivePair, t: NonNullable<CheckOptions['tls']>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: t.host,
      port: t.port,
      servername: t.servername ?? (/^[\d.:]+$/.test(t.host) ? undefined : t.host),
      cert: pair.cert,
      key: pair.key,
      ca: t.ca ?? pair.ca,
      // With a CA to check against, the server must prove itself too; without one the check only
      // proves that the server accepts our new certificate.
      rejectUnauthorized: (t.ca ?? pair.ca) !== undefined,
    });
    const done = (err?: Error): void => {
      cancelTimer();
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    // setLongTimeout: a plain setTimeout above 24.8 days would fire at once.
    const cancelTimer = setLongTimeout(
      () => done(new Error(`no handshake within ${(timeoutMs / 1000).toFixed(1)} s`)),
      timeoutMs,
    );
    // A TLS 1.3 server rejects a client certificate only after the handshake has completed (with
    // an alert, then a close). So the handshake alone proves nothing: accepted means the server
    // sent data, or kept the connection open for a moment; closed at once means refused.
    socket.once('secureConnect', () => {
      socket.once('data', () => done());
      socket.once('end', () =>
        done(new Error('the server closed the connection right after the handshake (client certificate refused?)')),
      );
      setTimeout(() => done(), Math.min(500, timeoutMs / 4)).unref();
    });
    socket.once('error', (err) => done(err));
  });
}

export async function runCheck(check: CheckOptions, pair: ActivePair): Promise<void> {
  if (check.command) {
    const r = await runCommand(check.command, {
      timeoutMs: check.timeoutMs,
      env: {
        CERTSWAP_GENERATION: String(pair.generation),
        CERTSWAP_CERT: pair.certPath,
        CERTSWAP_KEY: pair.keyPath,
      },
    });
    const failure = describeFailure(r, check.timeoutMs);
    if (failure)
      throw new CertswapError(ErrorCodes.CHECK_FAILED, `check command ${check.command[0]}: ${failure}`, {
        generation: pair.generation,
      });
  }
  if (check.tls) {
    try {
      await handshake(pair, check.tls, check.timeoutMs);
    } catch (err) {
      throw new CertswapError(
        ErrorCodes.CHECK_FAILED,
        `TLS check ${check.tls.host}:${check.tls.port}: ${(err as Error).message}`,
        {
          generation: pair.generation,
          cause: err,
        },
      );
    }
  }
}
