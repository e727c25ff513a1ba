/**
 * The agent's configuration: YAML (or the same object in code), checked field by field so that a
 * mistake is reported with its path ("certificates[0].provisioner.lifetime: ...") before anything
 * runs. Relative paths are resolved against the configuration file's directory.
 */
import path from 'node:path';
import { CertswapError, ErrorCodes } from '../errors.js';
import type { ExtendedKeyUsage } from '../validate.js';
import { KEY_TYPES, type KeyType } from './keys.js';
import { checkCfsslUrl } from './cfssl-client.js';
import type { SubjectAttributes } from './csr.js';
import type { Identity } from './provisioner.js';
import { DEFAULT_BACKOFF, DEFAULT_WINDOW, type Backoff, type RenewWindow } from './schedule.js';

export type ProvisionerConfig =
  | { type: 'local-ca'; caDir: string; lifetimeMs: number; keyType: KeyType; usages: ExtendedKeyUsage[] }
  | { type: 'command'; command: string[]; timeoutMs: number }
  | CsrProvisionerConfig;

export interface CsrProvisionerConfig {
  type: 'csr';
  keyType: KeyType;
  reuseKey: boolean;
  subject: SubjectAttributes;
  usages: ExtendedKeyUsage[];
  /** Pinned issuing CA certificate(s); read at start. */
  issuerCa?: string;
  cfssl: {
    url: string;
    /** File holding the HMAC key in hex, as in cfssl's auth_keys; read at start. */
    authKeyFile?: string;
    /** PEM bundle the CA server's TLS certificate must chain to; read at start. */
    tlsCa?: string;
    profile?: string;
    label?: string;
    timeoutMs: number;
    attempts: number;
    backoffMs: number;
  };
}

export interface CertificateConfig {
  name: string;
  dir: string;
  identity: Identity;
  provisioner: ProvisionerConfig;
  renew: RenewWindow;
  retry: Backoff;
  keep: number;
  usages: ExtendedKeyUsage[];
  check?: { command?: string[]; tls?: { host: string; port: number; servername?: string; ca?: string }; timeoutMs: number };
  hooks?: { command?: string[]; pidFile?: string; signal: NodeJS.Signals; timeoutMs: number; attempts: number };
}

export interface AgentConfig {
  logLevel: string;
  certificates: CertificateConfig[];
}

type Obj = Record<string, unknown>;

function fail(where: string, problem: string): never {
  throw new CertswapError(ErrorCodes.CONFIG_INVALID, `${where}: ${problem}`);
}

/** "90s", "5m", "2h", "30d", "250ms", or a number of milliseconds. */
export function parseDuration(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) fail(where, `expected a duration like 90s, 5m, 2h or 30d, not ${JSON.stringify(v)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
}

function obj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(where, 'expected a mapping');
  return v as Obj;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') fail(where, 'expected a non-empty string');
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.length === 0) fail(where, 'expected a non-empty list');
  return v.map((x, i) => str(x, `${where}[${i}]`));
}

function usages(v: unknown, where: string): ExtendedKeyUsage[] {
  const list = v === undefined ? ['clientAuth'] : strList(v, where);
  for (const u of list) if (u !== 'clientAuth' && u !== 'serverAuth') fail(where, `unknown usage ${JSON.stringify(u)} (clientAuth or serverAuth)`);
  return list as ExtendedKeyUsage[];
}

function keyType(v: unknown, where: string): KeyType {
  const t = (v ?? 'P-256') as KeyType;
  if (!KEY_TYPES.includes(t)) fail(where, `unsupported ${JSON.stringify(v)} (${KEY_TYPES.join(', ')})`);
  return t;
}

function positiveInt(v: unknown, fallback: number, where: string): number {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isSafeInteger(n) || n < 1) fail(where, 'expected a whole number >= 1');
  return n;
}

function csrProvisioner(p: Obj, where: string, base: string, usages: ExtendedKeyUsage[]): CsrProvisionerConfig {
  const s = p.subject === undefined ? {} : obj(p.subject, `${where}.subject`);
  const subject: SubjectAttributes = {};
  for (const [k, v] of Object.entries(s)) {
    if (!['O', 'OU', 'C', 'ST', 'L'].includes(k)) fail(`${where}.subject.${k}`, 'expected one of O, OU, C, ST, L (the CN is identity.commonName)');
    subject[k as keyof SubjectAttributes] = str(v, `${where}.subject.${k}`);
  }
  const c = obj(p.cfssl, `${where}.cfssl`);
  const url = str(c.url, `${where}.cfssl.url`);
  try {
    checkCfsslUrl(url, c.tlsCa !== undefined);
  } catch (err) {
    fail(`${where}.cfssl.url`, (err as Error).message);
  }
  const file = (v: unknown, w: string): string | undefined => (v === undefined ? undefined : path.resolve(base, str(v, w)));
  return {
    type: 'csr',
    keyType: keyType(p.keyType, `${where}.keyType`),
    reuseKey: p.reuseKey === undefined ? false : typeof p.reuseKey === 'boolean' ? p.reuseKey : fail(`${where}.reuseKey`, 'expected true or false'),
    subject,
    usages,
    issuerCa: file(p.issuerCa, `${where}.issuerCa`),
    cfssl: {
      url,
      authKeyFile: file(c.authKeyFile, `${where}.cfssl.authKeyFile`),
      tlsCa: file(c.tlsCa, `${where}.cfssl.tlsCa`),
      profile: c.profile === undefined ? undefined : str(c.profile, `${where}.cfssl.profile`),
      label: c.label === undefined ? undefined : str(c.label, `${where}.cfssl.label`),
      timeoutMs: parseDuration(c.timeout ?? '30s', `${where}.cfssl.timeout`),
      attempts: positiveInt(c.attempts, 4, `${where}.cfssl.attempts`),
      backoffMs: parseDuration(c.backoff ?? '1s', `${where}.cfssl.backoff`),
    },
  };
}

function certificate(raw: unknown, where: string, base: string): CertificateConfig {
  const c = obj(raw, where);
  const id = obj(c.identity, `${where}.identity`);
  const p = obj(c.provisioner, `${where}.provisioner`);
  const use = usages(c.usages, `${where}.usages`);
  let provisioner: ProvisionerConfig;
  if (p.type === 'local-ca') {
    provisioner = {
      type: 'local-ca',
      caDir: path.resolve(base, str(p.caDir, `${where}.provisioner.caDir`)),
      lifetimeMs: parseDuration(p.lifetime ?? '30d', `${where}.provisioner.lifetime`),
      keyType: keyType(p.keyType, `${where}.provisioner.keyType`),
      usages: use,
    };
  } else if (p.type === 'command') {
    provisioner = { type: 'command', command: strList(p.command, `${where}.provisioner.command`), timeoutMs: parseDuration(p.timeout ?? '60s', `${where}.provisioner.timeout`) };
  } else if (p.type === 'csr') {
    provisioner = csrProvisioner(p, `${where}.provisioner`, base, use);
  } else {
    fail(`${where}.provisioner.type`, `expected local-ca, csr or command, not ${JSON.stringify(p.type)}`);
  }
  const renew = c.renew === undefined ? DEFAULT_WINDOW : obj(c.renew, `${where}.renew`);
  const from = Number(renew.from ?? DEFAULT_WINDOW.from);
  const to = Number(renew.to ?? DEFAULT_WINDOW.to);
  if (!(from > 0 && from <= to && to < 1)) fail(`${where}.renew`, 'expected 0 < from <= to < 1 (fractions of the lifetime)');
  const retry = c.retry === undefined ? {} : obj(c.retry, `${where}.retry`);
  const out: CertificateConfig = {
    name: str(c.name, `${where}.name`),
    dir: path.resolve(base, str(c.dir, `${where}.dir`)),
    identity: { commonName: str(id.commonName, `${where}.identity.commonName`), sans: id.sans === undefined ? [] : strList(id.sans, `${where}.identity.sans`) },
    provisioner,
    renew: { from, to },
    retry: {
      initialMs: retry.initial === undefined ? DEFAULT_BACKOFF.initialMs : parseDuration(retry.initial, `${where}.retry.initial`),
      maxMs: retry.max === undefined ? DEFAULT_BACKOFF.maxMs : parseDuration(retry.max, `${where}.retry.max`),
    },
    keep: positiveInt(c.keep, 3, `${where}.keep`),
    usages: use,
  };
  if (c.check !== undefined) {
    const k = obj(c.check, `${where}.check`);
    out.check = { timeoutMs: parseDuration(k.timeout ?? '30s', `${where}.check.timeout`) };
    if (k.command !== undefined) out.check.command = strList(k.command, `${where}.check.command`);
    if (k.tls !== undefined) {
      const t = obj(k.tls, `${where}.check.tls`);
      const port = Number(t.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${where}.check.tls.port`, 'expected a port number');
      out.check.tls = { host: str(t.host, `${where}.check.tls.host`), port };
      if (t.servername !== undefined) out.check.tls.servername = str(t.servername, `${where}.check.tls.servername`);
      if (t.ca !== undefined) out.check.tls.ca = path.resolve(base, str(t.ca, `${where}.check.tls.ca`));
    }
    if (!out.check.command && !out.check.tls) fail(`${where}.check`, 'expected command and/or tls');
  }
  if (c.hooks !== undefined) {
    const h = obj(c.hooks, `${where}.hooks`);
    out.hooks = { signal: (h.signal ?? 'SIGHUP') as NodeJS.Signals, timeoutMs: parseDuration(h.timeout ?? '30s', `${where}.hooks.timeout`), attempts: Number(h.attempts ?? 3) };
    if (h.command !== undefined) out.hooks.command = strList(h.command, `${where}.hooks.command`);
    if (h.pidFile !== undefined) out.hooks.pidFile = path.resolve(base, str(h.pidFile, `${where}.hooks.pidFile`));
    if (!out.hooks.command && !out.hooks.pidFile) fail(`${where}.hooks`, 'expected command and/or pidFile');
  }
  return out;
}

/** Checks a parsed configuration; `base` is the directory relative paths are resolved against. */
export function parseConfig(raw: unknown, base: string): AgentConfig {
  const c = obj(raw, 'config');
  if (!Array.isArray(c.certificates) || c.certificates.length === 0) fail('certificates', 'expected a non-empty list');
  const certificates = c.certificates.map((x, i) => certificate(x, `certificates[${i}]`, base));
  const names = new Set<string>();
  for (const x of certificates) {
    if (names.has(x.name)) fail('certificates', `duplicate name ${JSON.stringify(x.name)}`);
    names.add(x.name);
  }
  return { logLevel: typeof c.logLevel === 'string' ? c.logLevel : 'info', certificates };
}

export async function loadConfigFile(file: string): Promise<AgentConfig> {
  const { readInputFile } = await import('../input.js');
  const { parse } = await import('yaml');
  const text = (await readInputFile(file, 'config')).toString('utf8');
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new CertswapError(ErrorCodes.CONFIG_INVALID, `${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, { path: file });
  }
  return parseConfig(raw, path.dirname(path.resolve(file)));
}

/**
 * The embedded default `npm start` runs: a local CA and one certificate under ./var, with a
 * one-minute lifetime renewed at 50-70 %, so that a new user sees a rotation about every 35 s.
 */
export function demoConfig(base = process.cwd()): AgentConfig {
  return parseConfig(
    {
      logLevel: 'info',
      certificates: [
        {
          name: 'device',
          dir: 'var/store',
          identity: { commonName: 'certswap-demo-device', sans: ['certswap-demo-device', 'localhost', '127.0.0.1'] },
          usages: ['clientAuth', 'serverAuth'],
          provisioner: { type: 'local-ca', caDir: 'var/ca', lifetime: '60s', keyType: 'P-256' },
          renew: { from: 0.5, to: 0.7 },
          retry: { initial: '1s', max: '30s' },
          keep: 3,
        },
      ],
    },
    base,
  );
}
