/** Argument parsing only: turns argv into a command and typed options, or a usage error. */
import { parseArgs } from 'node:util';
import { ErrorCodes } from '../errors.js';
import { parseDuration } from '../agent/duration.js';
import { MAX_KEEP, isKeep } from '../store/ops/prune.js';
import { parseGeneration } from '../store/layout.js';
import { EXTENDED_KEY_USAGES, type ExtendedKeyUsage, isExtendedKeyUsage } from '../pki/eku.js';
import { REVOCATION_REASONS, type RevocationReason, isRevocationReason } from '../agent/acme/reasons.js';
import { IMPORT_FROM, type ImportSource } from '../import/source.js';
import type { AccessOptions } from '../store/access.js';
import { FORMATS, type Format, isFormat } from '../store/formats.js';

export const COMMANDS = [
  'install',
  'stage',
  'activate',
  'commit',
  'rollback',
  'prune',
  'status',
  'verify',
  'recover',
  'agent',
  'renew',
  'import',
  'revoke',
] as const;
export type Command = (typeof COMMANDS)[number];

/** What every command takes. */
interface Common {
  json: boolean;
  logLevel: string;
  /** Whether the level came from --log-level or CERTSWAP_LOG_LEVEL rather than the default. */
  logLevelExplicit: boolean;
  lockTimeoutMs?: number;
}

/** What every command on one store takes: the store, and the clock skew its validations allow. */
export interface StoreArgs extends Common {
  dir: string;
  clockSkewMs?: number;
}

/** The expectations a pair is validated against (stage, install, verify). */
export interface CheckArgs {
  trust?: string;
  expectName?: string;
  requireEku: ExtendedKeyUsage[];
}

/** What install, stage and import write besides the pair: who may read it, and in which formats. */
interface OutputArgs {
  /** --owner, --group, --key-mode, --cert-mode. */
  access: AccessOptions;
  /** --format, repeatable. */
  formats: Format[];
  pkcs12PasswordFile?: string;
}

interface PairArgs extends StoreArgs, CheckArgs, OutputArgs {
  cert: string;
  key: string;
  ca?: string;
}

/** `agent` and `renew`: an agent configuration instead of one store. */
export type AgentArgs =
  | (Common & { command: 'agent'; config?: string; once: boolean })
  | (Common & { command: 'renew'; config?: string; name?: string; dryRun: boolean });

/** The commands on one store, one type per command. */
export type StoreCommandArgs =
  | (PairArgs & { command: 'install'; trial: boolean })
  | (PairArgs & { command: 'stage' })
  | (StoreArgs & CheckArgs & OutputArgs & { command: 'import'; source: ImportSource; ca?: string; trial: boolean })
  | (StoreArgs & { command: 'activate'; generation: number; trial: boolean })
  | (StoreArgs & { command: 'rollback'; to?: number })
  | (StoreArgs & { command: 'prune'; keep?: number })
  | (StoreArgs & CheckArgs & { command: 'verify'; served?: { host: string; port: number }; servername?: string })
  | (StoreArgs & { command: 'commit' })
  | (StoreArgs & { command: 'status'; expiringWithinMs?: number; prometheus?: boolean })
  | (StoreArgs & { command: 'recover' });

/** `revoke`: a store, and where its ACME CA is (a configuration's acme provisioner, or a URL). */
export type RevokeArgs = StoreArgs & {
  command: 'revoke';
  generation?: number;
  reason: RevocationReason;
  force: boolean;
} & ({ config: string; name?: string } | { directory: string; directoryCa?: string });

/** One type per command: each carries exactly what its command takes, checked by parseCli. */
export type CliArgs =
  | (Common & { command: 'help' })
  | (Common & { command: 'version' })
  | AgentArgs
  | StoreCommandArgs
  | RevokeArgs;

/** A usage error: exit status 2. */
export class UsageError extends Error {
  readonly code = ErrorCodes.USAGE;
}

const OPTIONS = {
  dir: { type: 'string' },
  json: { type: 'boolean' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  trust: { type: 'string' },
  'expect-name': { type: 'string' },
  'require-eku': { type: 'string', multiple: true },
  'clock-skew': { type: 'string' },
  'lock-timeout': { type: 'string' },
  'log-level': { type: 'string' },
  to: { type: 'string' },
  keep: { type: 'string' },
  trial: { type: 'boolean' },
  config: { type: 'string' },
  demo: { type: 'boolean' },
  name: { type: 'string' },
  'dry-run': { type: 'boolean' },
  once: { type: 'boolean' },
  'expiring-within': { type: 'string' },
  prometheus: { type: 'boolean' },
  generation: { type: 'string' },
  reason: { type: 'string' },
  force: { type: 'boolean' },
  directory: { type: 'string' },
  'directory-ca': { type: 'string' },
  from: { type: 'string' },
  owner: { type: 'string' },
  group: { type: 'string' },
  'key-mode': { type: 'string' },
  'cert-mode': { type: 'string' },
  format: { type: 'string', multiple: true },
  'pkcs12-password-file': { type: 'string' },
  served: { type: 'string' },
  servername: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Which options each command accepts besides --dir, --json, --log-level and --lock-timeout. */
/** What install and stage write besides the pair: consumer access and other formats. */
const OUTPUT = ['owner', 'group', 'key-mode', 'cert-mode', 'format', 'pkcs12-password-file'];
const ALLOWED: Record<Command, string[]> = {
  install: ['cert', 'key', 'ca', 'trust', 'expect-name', 'require-eku', 'clock-skew', 'trial', ...OUTPUT],
  stage: ['cert', 'key', 'ca', 'trust', 'expect-name', 'require-eku', 'clock-skew', ...OUTPUT],
  activate: ['clock-skew', 'trial'],
  commit: [],
  rollback: ['to', 'clock-skew'],
  prune: ['keep', 'clock-skew'],
  status: ['clock-skew', 'expiring-within', 'prometheus'],
  verify: ['trust', 'expect-name', 'require-eku', 'clock-skew', 'served', 'servername'],
  recover: ['clock-skew'],
  agent: ['config', 'demo', 'once'],
  renew: ['config', 'demo', 'name', 'dry-run'],
  import: ['from', 'cert', 'key', 'ca', 'trust', 'expect-name', 'require-eku', 'clock-skew', 'trial', ...OUTPUT],
  revoke: ['generation', 'reason', 'force', 'config', 'name', 'directory', 'directory-ca'],
};
const COMMON = ['dir', 'json', 'log-level', 'lock-timeout', 'help', 'version'];

function seconds(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0)
    throw new UsageError(`--${name} must be a number of seconds, not ${JSON.stringify(text)}`);
  return Math.round(v * 1000);
}

/** A file mode in octal, as chmod(1) takes it: 640 or 0640. */
function mode(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(text))
    throw new UsageError(`--${name} must be an octal mode such as 0640, not ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

/** HOST:PORT, [IPv6]:PORT. */
function hostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`--served must be HOST:PORT, not ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2]!, port };
}

/** The output options install, stage and import share. */
function output(v: {
  owner?: string;
  group?: string;
  'key-mode'?: string;
  'cert-mode'?: string;
  format?: string[];
  'pkcs12-password-file'?: string;
}): OutputArgs {
  const access: AccessOptions = defined({
    owner: v.owner,
    group: v.group,
    keyMode: mode('key-mode', v['key-mode']),
    certMode: mode('cert-mode', v['cert-mode']),
  });
  const out = formats(v.format);
  if (out.includes('pkcs12') !== (v['pkcs12-password-file'] !== undefined))
    throw new UsageError('--format pkcs12 and --pkcs12-password-file FILE go together');
  return { access, formats: out, ...defined({ pkcs12PasswordFile: v['pkcs12-password-file'] }) };
}

function formats(list: string[] | undefined): Format[] {
  for (const f of list ?? []) {
    if (!isFormat(f)) throw new UsageError(`--format must be ${FORMATS.join(', ')}, not ${JSON.stringify(f)}`);
  }
  return (list ?? []) as Format[];
}

function generation(what: string, text: string): number {
  try {
    return parseGeneration(text);
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliArgs {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  const base: Common = {
    json: v.json ?? false,
    logLevel: v['log-level'] ?? env.CERTSWAP_LOG_LEVEL ?? 'error',
    logLevelExplicit: (v['log-level'] ?? env.CERTSWAP_LOG_LEVEL) !== undefined,
  };
  const lockTimeout = seconds('lock-timeout', v['lock-timeout']);
  if (lockTimeout !== undefined) base.lockTimeoutMs = lockTimeout;
  if (v.version) return { ...base, command: 'version' };
  const [name, ...rest] = positionals;
  if (v.help || name === undefined || name === 'help') return { ...base, command: 'help' };
  if (!(COMMANDS as readonly string[]).includes(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const command = name as Command;

  for (const opt of Object.keys(v)) {
    if (!COMMON.includes(opt) && !ALLOWED[command].includes(opt))
      throw new UsageError(`${command} does not take --${opt}`);
  }
  if (command !== 'import' && (command === 'activate' ? rest.length !== 1 : rest.length !== 0)) {
    throw new UsageError(
      command === 'activate'
        ? 'activate takes exactly one generation number'
        : `unexpected argument ${JSON.stringify(rest[0])}`,
    );
  }
  if (command === 'agent' || command === 'renew') {
    if ((v.config === undefined) === !v.demo)
      throw new UsageError(`${command} needs --config FILE (or --demo for the embedded default)`);
    const config = defined({ config: v.config });
    return command === 'agent'
      ? { ...base, command, ...config, once: v.once ?? false }
      : { ...base, command, ...config, ...defined({ name: v.name }), dryRun: v['dry-run'] ?? false };
  }
  const dir = v.dir ?? env.CERTSWAP_DIR;
  if (dir === undefined || dir === '') throw new UsageError('no store directory: give --dir DIR or set CERTSWAP_DIR');
  const store: StoreArgs = { ...base, dir, ...defined({ clockSkewMs: seconds('clock-skew', v['clock-skew']) }) };
  for (const eku of v['require-eku'] ?? []) {
    if (!isExtendedKeyUsage(eku)) {
      throw new UsageError(`--require-eku must be ${EXTENDED_KEY_USAGES.join(' or ')}, not ${JSON.stringify(eku)}`);
    }
  }
  const checks: CheckArgs = {
    requireEku: (v['require-eku'] ?? []) as ExtendedKeyUsage[],
    ...defined({ trust: v.trust, expectName: v['expect-name'] }),
  };
  switch (command) {
    case 'install':
    case 'stage': {
      if (v.cert === undefined || v.key === undefined)
        throw new UsageError(`${command} needs --cert FILE and --key FILE`);
      const pair: PairArgs = {
        ...store,
        ...checks,
        cert: v.cert,
        key: v.key,
        ...output(v),
        ...defined({ ca: v.ca }),
      };
      return command === 'install' ? { ...pair, command, trial: v.trial ?? false } : { ...pair, command };
    }
    case 'import':
      return {
        ...store,
        ...checks,
        command,
        source: importSource(v, rest),
        ...output(v),
        ...defined({ ca: v.ca }),
        trial: v.trial ?? false,
      };
    case 'activate':
      return { ...store, command, generation: generation('activate', rest[0]!), trial: v.trial ?? false };
    case 'rollback':
      return { ...store, command, ...defined({ to: v.to === undefined ? undefined : generation('--to', v.to) }) };
    case 'prune': {
      if (v.keep === undefined) return { ...store, command };
      if (!/^(0|[1-9][0-9]*)$/.test(v.keep) || !isKeep(Number(v.keep))) {
        throw new UsageError(`--keep must be a whole number from 0 to ${MAX_KEEP}, not ${JSON.stringify(v.keep)}`);
      }
      return { ...store, command, keep: Number(v.keep) };
    }
    case 'verify': {
      if (v.servername !== undefined && v.served === undefined) throw new UsageError('--servername needs --served');
      const served = v.served === undefined ? {} : { served: hostPort(v.served) };
      return { ...store, ...checks, command, ...served, ...defined({ servername: v.servername }) };
    }
    case 'status': {
      const within = v['expiring-within'];
      if (v.prometheus && v.json) throw new UsageError('status takes --prometheus or --json, not both');
      return { ...store, command, ...(v.prometheus ? { prometheus: true } : {}), ...statusWithin(within) };
    }
    case 'revoke':
      return revoke(store, v);
    default:
      return { ...store, command };
  }
}

/** `--expiring-within D` of status, when given. */
function statusWithin(within: string | undefined): { expiringWithinMs?: number } {
  if (within === undefined) return {};
  try {
    return { expiringWithinMs: parseDuration(within, '--expiring-within') };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `import`'s source: `--from certbot LIVE_DIR`, `--from lego CERT_DIR NAME`, or `--cert FILE --key FILE`. */
function importSource(v: { from?: string; cert?: string; key?: string }, rest: string[]): ImportSource {
  const forms = 'import needs --from certbot LIVE_DIR, --from lego CERT_DIR NAME, or --cert FILE --key FILE';
  if (v.from === undefined) {
    if (v.cert === undefined || v.key === undefined || rest.length !== 0) throw new UsageError(forms);
    return { from: 'files', cert: v.cert, key: v.key };
  }
  if (v.cert !== undefined || v.key !== undefined)
    throw new UsageError('import takes --from or --cert/--key, not both');
  if (v.from === 'certbot' && rest.length === 1) return { from: 'certbot', live: rest[0]! };
  if (v.from === 'lego' && rest.length === 2) return { from: 'lego', certificates: rest[0]!, name: rest[1]! };
  if (!(IMPORT_FROM as readonly string[]).includes(v.from))
    throw new UsageError(`--from must be ${IMPORT_FROM.join(' or ')}, not ${JSON.stringify(v.from)}`);
  throw new UsageError(forms);
}

/** `revoke`: the generation, the reason, and where the CA is (--config [--name], or --directory). */
function revoke(store: StoreArgs, v: Record<string, string | boolean | string[] | undefined>): RevokeArgs {
  const text = (k: string): string | undefined => v[k] as string | undefined;
  const reason = text('reason') ?? 'unspecified';
  if (!isRevocationReason(reason)) {
    throw new UsageError(`--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}, not ${reason}`);
  }
  const base = {
    ...store,
    command: 'revoke' as const,
    reason,
    force: v.force === true,
    ...defined({
      generation: text('generation') === undefined ? undefined : generation('--generation', text('generation')!),
    }),
  };
  const config = text('config');
  const directory = text('directory');
  if ((config === undefined) === (directory === undefined)) {
    throw new UsageError('revoke needs where the CA is: --config FILE [--name NAME], or --directory URL');
  }
  if (config !== undefined) {
    if (text('directory-ca') !== undefined) throw new UsageError('--directory-ca goes with --directory');
    return { ...base, config, ...defined({ name: text('name') }) };
  }
  if (text('name') !== undefined) throw new UsageError('--name goes with --config');
  return { ...base, directory: directory!, ...defined({ directoryCa: text('directory-ca') }) };
}

/** `o` without its undefined fields (optional properties are absent, never undefined). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
