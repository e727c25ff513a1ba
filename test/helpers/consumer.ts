/**
 * What the consumer suites share: a real server process stopped on every path, a TLS probe that
 * says which certificate a server presents, a client loop that handshakes throughout a test, the
 * rotations driven through the agent's CertificateManager, and a log that records events.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import tls from 'node:tls';
import { parseConfig } from '../../src/agent/config.js';
import { CertificateManager } from '../../src/agent/manager.js';
import type { Log } from '../../src/store/context.js';
import { until, which } from './proc.js';

/** A Debian program's path, or null; in CI a missing one fails the suite (.ci/run installs it). */
export function requireProgram(ctx: Mocha.Context, name: string, candidates: string[]): string {
  const found = which(name) ?? candidates.find((p) => fse.existsSync(p)) ?? null;
  if (found) return found;
  if (process.env.CI) throw new Error(`${name} is not installed (.ci/run installs it from Debian packages)`);
  ctx.skip();
}

export { stopProcess } from './proc.js';

export interface ProbeOptions {
  port: number;
  /** The CA the served chain must lead to: a probe is also a verified handshake. */
  ca: Buffer;
  servername: string;
  /** Sent after the handshake; the probe then waits for the first byte of the answer. */
  request?: string;
}

/** One verified TLS handshake: the SHA-256 fingerprint of the leaf presented. Rejects on any failure. */
export function probe(o: ProbeOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: o.port, ca: o.ca, servername: o.servername });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    let fingerprint = '';
    socket.once('secureConnect', () => {
      fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
      if (o.request === undefined) {
        socket.destroy();
        resolve(fingerprint);
      } else socket.write(o.request);
    });
    socket.once('data', (d) => {
      socket.destroy();
      if (/^HTTP\/1\.[01] 200 /.test(d.toString())) resolve(fingerprint);
      else reject(new Error(`answer ${JSON.stringify(d.toString().split('\r\n')[0])}`));
    });
    socket.once('error', reject);
  });
}

export interface LoopStats {
  handshakes: number;
  failures: number;
  errors: string[];
  served: Set<string>;
}

/** Back-to-back probes until `stop()`; resolves with what they saw. */
export function clientLoop(o: ProbeOptions): { stop: () => Promise<LoopStats> } {
  const stats: LoopStats = { handshakes: 0, failures: 0, errors: [], served: new Set() };
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        stats.served.add(await probe(o));
        stats.handshakes++;
      } catch (err) {
        stats.failures++;
        if (stats.errors.length < 5) stats.errors.push(String(err));
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return stats;
    },
  };
}

/** The fingerprint of generation `n`'s leaf, read from its own directory. */
export async function generationFingerprint(storeDir: string, n: number): Promise<string> {
  return new X509Certificate(await fse.readFile(path.join(storeDir, 'generations', String(n), 'cert.pem')))
    .fingerprint256;
}

/**
 * Forces `rotations` renewals of `name`; after each, a new handshake must be served the new
 * certificate (the hook has reloaded the server). While they run, a client loop handshakes
 * throughout. Asserts 0 failed handshakes and that every certificate served was one the store
 * activated; returns the loop's figures for the suite to print.
 */
export async function followRotations(
  manager: CertificateManager,
  name: string,
  storeDir: string,
  rotations: number,
  o: ProbeOptions,
): Promise<LoopStats> {
  const first = (await manager.store(name).status()).current!;
  const activated = [await generationFingerprint(storeDir, first)];
  await until('the server to present the active generation', async () =>
    probe(o).then(
      (f) => f === activated[0],
      () => false,
    ),
  );
  const loop = clientLoop(o);
  let stats: LoopStats;
  try {
    for (let i = 1; i <= rotations; i++) {
      const r = await manager.ensureCertificate(name, { force: true });
      expect(r.generation).to.equal(first + i);
      const want = await generationFingerprint(storeDir, r.generation);
      activated.push(want);
      await until(`the server to present generation ${r.generation}`, async () => (await probe(o)) === want);
    }
  } finally {
    stats = await loop.stop();
  }
  expect(stats.errors).to.deep.equal([]);
  expect(stats.failures).to.equal(0);
  expect(stats.handshakes).to.be.greaterThan(rotations);
  for (const f of stats.served) expect(activated).to.include(f);
  expect(stats.served.size).to.be.greaterThan(1);
  return stats;
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg?: string;
}

/** A Log that keeps every entry, for tests that assert on events. */
export function recordingLog(): Log & { entries: LogEntry[]; events(name: string): LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg?: string): void =>
      void entries.push({ level, obj: obj as Record<string, unknown>, ...(msg === undefined ? {} : { msg }) });
  return {
    entries,
    events: (name) => entries.filter((e) => e.obj.event === name),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/**
 * A started agent for one certificate `name` of device-1 (serverAuth) from a local CA in
 * `<base>/ca`, stored in `storeDir`, with `extra` keys of the certificate's configuration (hooks,
 * formats, access), logging into a recording log.
 */
export async function startAgent(
  base: string,
  storeDir: string,
  name: string,
  extra: Record<string, unknown>,
): Promise<{ manager: CertificateManager; log: ReturnType<typeof recordingLog> }> {
  const config = parseConfig(
    {
      certificates: [
        {
          name,
          dir: storeDir,
          identity: { commonName: 'device-1', sans: ['device-1'] },
          usages: ['serverAuth'],
          provisioner: { type: 'local-ca', caDir: path.join(base, 'ca'), lifetime: '10d' },
          ...extra,
        },
      ],
    },
    base,
  );
  const log = recordingLog();
  const manager = new CertificateManager(config, { log });
  await manager.start();
  return { manager, log };
}

/** hooks.verify against the loopback port, as device-1. */
export function verifyOn(port: number, attempts = 5): Record<string, unknown> {
  return { host: '127.0.0.1', port, servername: 'device-1', attempts, backoff: '200ms' };
}

/** The suite's figures, printed under its test. */
export function report(label: string, rotations: number, stats: LoopStats, log: ReturnType<typeof recordingLog>): void {
  console.log(
    `      ${label}: ${rotations} rotations; client loop: ${stats.handshakes} handshakes, ` +
      `${stats.failures} failures, ${stats.served.size} distinct certificates seen; ` +
      `hooks.verify: ${log.events('verify-retry').length} re-runs of the hook`,
  );
}
