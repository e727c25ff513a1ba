/** Argument parsing only: turns argv into a command and typed options, or a usage error. */
import { parseArgs } from 'node:util';
import { ErrorCodes } from '../errors.js';
import { MAX_KEEP, isKeep } from '../store/ops/prune.js';
import { parseGeneration } from '../store/layout.js';
import { EXTENDED_KEY_USAGES, type ExtendedKeyUsage, isExtendedKeyUsage } from '../pki/eku.js';

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
] as const;
/** Commands that work from an agent configuration instead of one --dir. */
const CONFIG_COMMANDS = new Set(['agent', 'renew']);
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command | 'help' | 'version';
  dir?: string;
  json: boolean;
  cert?: string;
  key?: string;
  ca?: string;
  trust?: string;
  expectName?: string;
  requireEku: ExtendedKeyUsage[];
  clockSkewMs?: number;
  lockTimeoutMs?: number;
  logLevel: string;
  /** Whether the level came from --log-level or CERTSWAP_LOG_LEVEL rather than the default. */
  logLevelExplicit: boolean;
  generation?: number;
  to?: number;
  keep?: number;
  trial: boolean;
  config?: string;
  demo: boolean;
  name?: string;
}

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
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Which options each command accepts besides --dir, --json, --log-level and --lock-timeout. */
const ALLOWED: Record<Command, string[]> = {
  install: ['cert', 'key', 'ca', 'trust', 'expect-name', 'require-eku', 'clock-skew', 'trial'],
  stage: ['cert', 'key', 'ca', 'trust', 'expect-name', 'require-eku', 'clock-skew'],
  activate: ['clock-skew', 'trial'],
  commit: [],
  rollback: ['to', 'clock-skew'],
  prune: ['keep', 'clock-skew'],
  status: ['clock-skew'],
  verify: ['trust', 'expect-name', 'require-eku', 'clock-skew'],
  recover: ['clock-skew'],
  agent: ['config', 'demo'],
  renew: ['config', 'demo', 'name'],
};
const COMMON = ['dir', 'json', 'log-level', 'lock-timeout', 'help', 'version'];

function seconds(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0)
    throw new UsageError(`--${name} must be a number of seconds, not ${JSON.stringify(text)}`);
  return Math.round(v * 1000);
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
  const base = {
    json: v.json ?? false,
    trial: v.trial ?? false,
    demo: v.demo ?? false,
    requireEku: [],
    logLevel: v['log-level'] ?? env.CERTSWAP_LOG_LEVEL ?? 'error',
    logLevelExplicit: (v['log-level'] ?? env.CERTSWAP_LOG_LEVEL) !== undefined,
  };
  if (v.version) return { ...base, command: 'version' };
  const [name, ...rest] = positionals;
  if (v.help || name === undefined || name === 'help') return { ...base, command: 'help' };
  if (!(COMMANDS as readonly string[]).includes(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const command = name as Command;

  for (const opt of Object.keys(v)) {
    if (!COMMON.includes(opt) && !ALLOWED[command].includes(opt))
      throw new UsageError(`${command} does not take --${opt}`);
  }
  if (command === 'activate' ? rest.length !== 1 : rest.length !== 0) {
    throw new UsageError(
      command === 'activate'
        ? 'activate takes exactly one generation number'
        : `unexpected argument ${JSON.stringify(rest[0])}`,
    );
  }
  if (CONFIG_COMMANDS.has(command)) {
    if ((v.config === undefined) === !v.demo)
      throw new UsageError(`${command} needs --config FILE (or --demo for the embedded default)`);
    const args: CliArgs = { ...base, command };
    if (v.config !== undefined) args.config = v.config;
    if (v.name !== undefined) args.name = v.name;
    return args;
  }
  const dir = v.dir ?? env.CERTSWAP_DIR;
  if (dir === undefined || dir === '') throw new UsageError('no store directory: give --dir DIR or set CERTSWAP_DIR');
  if ((command === 'install' || command === 'stage') && (v.cert === undefined || v.key === undefined)) {
    throw new UsageError(`${command} needs --cert FILE and --key FILE`);
  }
  for (const eku of v['require-eku'] ?? []) {
    if (!isExtendedKeyUsage(eku)) {
      throw new UsageError(`--require-eku must be ${EXTENDED_KEY_USAGES.join(' or ')}, not ${JSON.stringify(eku)}`);
    }
  }
  const args: CliArgs = { ...base, command, dir, requireEku: (v['require-eku'] ?? []) as ExtendedKeyUsage[] };
  if (v.cert !== undefined) args.cert = v.cert;
  if (v.key !== undefined) args.key = v.key;
  if (v.ca !== undefined) args.ca = v.ca;
  if (v.trust !== undefined) args.trust = v.trust;
  if (v['expect-name'] !== undefined) args.expectName = v['expect-name'];
  const skew = seconds('clock-skew', v['clock-skew']);
  if (skew !== undefined) args.clockSkewMs = skew;
  const lockTimeout = seconds('lock-timeout', v['lock-timeout']);
  if (lockTimeout !== undefined) args.lockTimeoutMs = lockTimeout;
  if (command === 'activate') args.generation = generation('activate', rest[0]!);
  if (v.to !== undefined) args.to = generation('--to', v.to);
  if (v.keep !== undefined) {
    if (!/^(0|[1-9][0-9]*)$/.test(v.keep) || !isKeep(Number(v.keep))) {
      throw new UsageError(`--keep must be a whole number from 0 to ${MAX_KEEP}, not ${JSON.stringify(v.keep)}`);
    }
    args.keep = Number(v.keep);
  }
  return args;
}
