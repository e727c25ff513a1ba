/**
 * The CLI: parse, call the library, print, return an exit status. No logic of its own.
 * Exit 0 on success, 1 when the operation is refused or fails, 2 on a usage error.
 */
import { createRequire } from 'node:module';
import { GenerationStore, type InstallResult, type OutputOptions } from '../store/store.js';
import { readInputFile, readPairFiles } from '../io/input.js';
import { readImport } from '../import/source.js';
import { silentLog, type Log } from '../store/context.js';
import { toCertswapError } from '../errors.js';
import type { ValidationOptions } from '../pki/validate.js';
import {
  parseCli,
  UsageError,
  type AgentArgs,
  type CheckArgs,
  type CliArgs,
  type Command,
  type RevokeArgs,
  type StoreArgs,
  type StoreCommandArgs,
} from './args.js';
import { USAGE } from './usage.js';
import { formatPrune, formatRecover, formatServed, formatStatus, formatVerify } from './format.js';
import { type Format, readPasswordFile } from '../store/formats.js';
import type { AccessOptions } from '../store/access.js';
import type { SignalLatch } from '../agent/signal-latch.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Signals caught since the process began (main.ts, for `agent`), handed to the agent. */
  signals?: SignalLatch;
}

/** The commands that change a store: they create it if missing, and log at the chosen level. */
const MUTATING: ReadonlySet<Command> = new Set<Command>([
  'install',
  'import',
  'stage',
  'activate',
  'commit',
  'rollback',
  'prune',
  'recover',
  'revoke',
]);

function version(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** pino is loaded only when something may be logged: a read-only command starts faster without it. */
async function logger(args: StoreCommandArgs | RevokeArgs): Promise<Log> {
  if (args.logLevel === 'silent' || (!MUTATING.has(args.command) && !['debug', 'trace'].includes(args.logLevel)))
    return silentLog;
  const { createLogger, LOG_LEVELS } = await import('../log.js');
  if (!(LOG_LEVELS as readonly string[]).includes(args.logLevel))
    throw new UsageError(`unknown log level ${JSON.stringify(args.logLevel)}`);
  return createLogger({ level: args.logLevel });
}

async function validation(args: StoreArgs & Partial<CheckArgs>): Promise<ValidationOptions> {
  const v: ValidationOptions = {};
  if (args.expectName !== undefined) v.expectName = args.expectName;
  if (args.requireEku?.length) v.requireEku = args.requireEku;
  if (args.clockSkewMs !== undefined) v.clockSkewMs = args.clockSkewMs;
  if (args.trust !== undefined) v.trust = await readInputFile(args.trust, 'trust');
  return v;
}

/** `agent` and `renew`: the renewal agent, loaded only for these commands. */
async function executeAgent(args: AgentArgs, io: Io): Promise<number> {
  const { demoConfig, loadConfigFile } = await import('../agent/config.js');
  const config = args.config !== undefined ? await loadConfigFile(args.config) : demoConfig();
  if (args.command === 'renew' && args.dryRun) {
    const { formatPlan, planRenewals } = await import('../agent/plan.js');
    for (const p of await planRenewals(config, args.name !== undefined ? { name: args.name } : {})) {
      io.out(args.json ? `${JSON.stringify(p)}\n` : formatPlan(p));
    }
    return 0;
  }
  const { createLogger, LOG_LEVELS } = await import('../log.js');
  // The agent logs at the configuration's level unless --log-level or the environment says otherwise.
  const level = args.logLevelExplicit ? args.logLevel : config.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`unknown log level ${JSON.stringify(level)}`);
  const log = createLogger({ level, pretty: process.stderr.isTTY === true });
  if (args.command === 'agent') {
    const { runAgent, runOnce } = await import('../agent/agent.js');
    return args.once ? runOnce(config, log) : runAgent(config, log, io.signals);
  }
  const { CertificateManager } = await import('../agent/manager.js');
  const manager = new CertificateManager(config, { log });
  await manager.start();
  const names = args.name !== undefined ? [args.name] : config.certificates.map((c) => c.name);
  for (const name of names) {
    const r = await manager.ensureCertificate(name, { force: true });
    io.out(args.json ? `${JSON.stringify(r)}\n` : `${name}: generation ${r.generation}\n`);
  }
  return 0;
}

/** `revoke`: the CA from the configuration's acme provisioner for this store (or --directory). */
async function executeRevoke(args: RevokeArgs, io: Io): Promise<number> {
  const { revokeTarget } = await import('../agent/acme/revoke-target.js');
  const { revokeGeneration } = await import('../agent/acme/revoke.js');
  const target = await revokeTarget(args);
  const { dir, generation, reason, force } = args;
  const r = await revokeGeneration({
    dir,
    generation,
    reason,
    force,
    ...target,
    now: new Date(),
    log: await logger(args),
  });
  io.out(
    args.json
      ? `${JSON.stringify(r)}\n`
      : `revoked generation ${r.generation} (serial ${r.serial}, ${r.reason})` +
          `${r.active ? '; it was active: renewal is due now (the agent renews at SIGHUP, or within the hour)' : ''}\n`,
  );
  return 0;
}

/** install's JSON output, which import extends. */
function installed(r: InstallResult): Record<string, unknown> {
  return { generation: r.generation, previous: r.previous, fingerprint: r.info.fingerprint, notAfter: r.info.notAfter };
}

/** The access and formats install, stage and import write, the PKCS#12 password read from its file. */
async function outputOptions(args: {
  access: AccessOptions;
  formats: Format[];
  pkcs12PasswordFile?: string;
}): Promise<OutputOptions> {
  return {
    access: args.access,
    formats: args.formats,
    ...(args.pkcs12PasswordFile !== undefined
      ? { pkcs12Password: await readPasswordFile(args.pkcs12PasswordFile) }
      : {}),
  };
}

async function execute(args: StoreCommandArgs, io: Io): Promise<number> {
  const print = (human: string, json: unknown): void => io.out(args.json ? `${JSON.stringify(json)}\n` : human);
  const store = await GenerationStore.open(args.dir, {
    create: MUTATING.has(args.command),
    log: await logger(args),
    ...(args.lockTimeoutMs !== undefined ? { lockTimeoutMs: args.lockTimeoutMs } : {}),
    validation: await validation(args),
  });
  switch (args.command) {
    case 'install':
    case 'stage': {
      const input = await readPairFiles({ cert: args.cert, key: args.key, ca: args.ca });
      const output = await outputOptions(args);
      if (args.command === 'stage') {
        const r = await store.stage(input, output);
        print(`${r.generation}\n`, {
          generation: r.generation,
          fingerprint: r.pair.info.fingerprint,
          notAfter: r.pair.info.notAfter,
        });
      } else {
        const r = await store.install(input, { ...output, trial: args.trial });
        print(`${r.generation}\n`, installed(r));
      }
      return 0;
    }
    case 'import': {
      // The source is read (never changed) before the install takes the lock, as install's files are.
      const { input, files } = await readImport(args.source, args.ca);
      const r = await store.install(input, { ...(await outputOptions(args)), trial: args.trial });
      print(`${r.generation}\n`, { ...installed(r), from: args.source.from, files });
      return 0;
    }
    case 'activate': {
      const r = await store.activate(args.generation, { trial: args.trial });
      print(`${r.generation}\n`, {
        generation: r.generation,
        previous: r.previous,
        changed: r.changed,
        trial: args.trial,
        fingerprint: r.info.fingerprint,
      });
      return 0;
    }
    case 'commit': {
      const r = await store.commit();
      print(`${r.generation}\n`, r);
      return 0;
    }
    case 'rollback': {
      const r = await store.rollback(args.to);
      print(`${r.generation ?? 'none'}\n`, {
        generation: r.generation,
        previous: r.previous,
        changed: r.changed,
        fingerprint: r.info?.fingerprint ?? null,
      });
      return 0;
    }
    case 'prune': {
      const r = await store.prune(args.keep);
      print(formatPrune(r), r);
      return 0;
    }
    case 'status': {
      const s = await store.status();
      if (args.prometheus) {
        // prom-client is loaded only for this: a plain status starts faster without it.
        const { storeExposition } = await import('../monitor/store-exposition.js');
        io.out(await storeExposition(s));
      } else print(formatStatus(s), s);
      // The check for cron and classic monitoring: the active pair, re-read and validated now, must
      // outlive the given time. Any refusal (NO_ACTIVE, EXPIRED, LIFETIME_TOO_SHORT...) is the
      // one-line reason on stderr and exit 1.
      if (args.expiringWithinMs !== undefined) await store.verify({ minRemainingMs: args.expiringWithinMs });
      return 0;
    }
    case 'verify': {
      if (args.served) {
        const { checkServed } = await import('../consumers/served.js');
        const s = { ...args.served, ...(args.servername !== undefined ? { servername: args.servername } : {}) };
        const r = await checkServed(store, s, true);
        print(formatServed(s, r), { ...r, server: `${s.host}:${s.port}` });
        return 0;
      }
      const r = await store.verify();
      print(formatVerify(r.generation, r.info), { generation: r.generation, valid: true, ...r.info });
      return 0;
    }
    case 'recover': {
      const r = await store.recover();
      print(formatRecover(r), r);
      return r.problems.length === 0 ? 0 : 1;
    }
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  let args: CliArgs | undefined;
  try {
    const parsed = parseCli(argv, io.env);
    args = parsed;
    if (parsed.command === 'help') {
      io.out(USAGE);
      return 0;
    }
    if (parsed.command === 'version') {
      io.out(`${version()}\n`);
      return 0;
    }
    if (parsed.command === 'agent' || parsed.command === 'renew') return await executeAgent(parsed, io);
    if (parsed.command === 'revoke') return await executeRevoke(parsed, io);
    return await execute(parsed, io);
  } catch (err) {
    const usage = err instanceof UsageError;
    const e = usage ? { code: err.code, message: err.message } : toCertswapError(err);
    const json = args?.json ?? argv.includes('--json');
    io.err(
      json
        ? `${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`
        : `certswap: ${e.code}: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`,
    );
    if (usage && !json) io.err(`Try 'certswap --help'.\n`);
    return usage ? 2 : 1;
  }
}
