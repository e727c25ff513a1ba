/**
 * The agent's configuration: YAML (or the same object in code), checked field by field so that a
 * mistake is reported with its path ("certificates[0].provisioner.lifetime: ...") before anything
 * runs. Relative paths are resolved against the configuration file's directory.
 */
import os from 'node:os';
import path from 'node:path';
import { CertswapError, ErrorCodes } from '../errors.js';
import { parseDuration } from './duration.js';
import { LOG_LEVELS } from '../log.js';
import { DEFAULT_KEEP, MAX_KEEP } from '../store/ops/prune.js';
import { EXTENDED_KEY_USAGES, type ExtendedKeyUsage, isExtendedKeyUsage } from '../pki/eku.js';
import { KEY_TYPES, type KeyType } from '../pki/key-types.js';
import { checkCfsslUrl } from './provisioners/cfssl-client.js';
import type { SubjectAttributes } from '../pki/csr.js';
import type { Identity } from './provisioners/provisioner.js';
import { acmeIdentity, acmeProvisioner, type AcmeProvisionerConfig } from './acme/config.js';
import { DEFAULT_BACKOFF, DEFAULT_WINDOW, type Backoff, type RenewWindow } from './schedule.js';
import { checkWebhookUrl } from '../notify/webhook.js';
import { NOTIFY_EVENTS, isNotifyEvent, type NotifyEvent } from '../notify/notifier.js';
import type { AccessOptions } from '../store/access.js';
import { FORMATS, type Format, isFormat } from '../store/formats.js';
import type { VerifyServedOptions } from './verify-served.js';

export type ProvisionerConfig =
  | { type: 'local-ca'; caDir: string; lifetimeMs: number; keyType: KeyType; usages: ExtendedKeyUsage[] }
  | { type: 'command'; command: string[]; timeoutMs: number }
  | CsrProvisionerConfig
  | AcmeProvisionerConfig;

export type { AcmeProvisionerConfig } from './acme/config.js';

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
  check?: {
    command?: string[];
    tls?: { host: string; port: number; servername?: string; ca?: string };
    timeoutMs: number;
  };
  hooks?: {
    command?: string[];
    pidFile?: string;
    signal: NodeJS.Signals;
    timeoutMs: number;
    attempts: number;
    verify?: VerifyServedOptions;
  };
  /** Owner, group and modes for a consumer that runs as another user (docs/consumers.md). */
  access?: AccessOptions;
  /** Other formats each generation carries. */
  formats: Format[];
  /** The PKCS#12 password's file, read at each renewal (with `formats: [pkcs12]`). */
  pkcs12?: { passwordFile: string };
}

export interface AgentConfig {
  logLevel: string;
  certificates: CertificateConfig[];
  metrics?: MetricsConfig;
  notify?: NotifyConfig;
}

/** `metrics:` (docs/monitoring.md): an HTTP endpoint and/or a node_exporter textfile. */
export interface MetricsConfig {
  listen?: { host: string; port: number };
  textfile?: string;
  /** /healthz fails once renewals of a certificate have failed without a break for longer. */
  unhealthyAfterMs: number;
}

/** `notify:` (docs/monitoring.md): a webhook told of rotations, rollbacks, failures and expiry. */
export interface NotifyConfig {
  webhook: string;
  events: NotifyEvent[];
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
  /** PEM bundle the webhook server's certificate must chain to; read at start. */
  ca?: string;
  expiringWithinMs: number;
}

type Obj = Record<string, unknown>;

export function fail(where: string, problem: string): never {
  throw new CertswapError(ErrorCodes.CONFIG_INVALID, `${where}: ${problem}`);
}

export { parseDuration };

/**
 * The ranges a configuration is held to, written as a user would write them. Each keeps a typo or a
 * missing unit (a bare number is milliseconds) from becoming an agent that spins or never acts.
 */
export const LIMITS = {
  /** Provisioner, check, hook and CA request timeouts. */
  timeout: ['100ms', '24h'],
  /** The agent's retry backoff after a failed renewal; retry.max must also be >= retry.initial. */
  retry: ['100ms', '24h'],
  /** The first delay between attempts of one CA request (doubled each time). */
  cfsslBackoff: ['100ms', '10m'],
  /**
   * A local-ca leaf's lifetime. X.509 times have whole seconds, and the leaf is backdated by a
   * tenth of its lifetime: below 2 s it could be expired before it is staged. Above 825 days (the
   * longest the CA/Browser Forum ever allowed) the point of rotating is lost.
   */
  lifetime: ['2s', '825d'],
  /** How long the acme provisioner waits after its dns-01 hook set the record (DNS propagation). */
  dnsWait: ['0s', '1h'],
  /** Attempts of a hook or of one CA request. */
  attempts: [1, 10],
  /** metrics.unhealthyAfter: how long renewals may fail before /healthz does. */
  unhealthyAfter: ['1s', '365d'],
  /** notify.backoff: the first delay between attempts of one webhook delivery (doubled each time). */
  webhookBackoff: ['100ms', '10m'],
  /** notify.expiringWithin. */
  expiringWithin: ['1s', '825d'],
  /** The first wait before hooks.verify runs the hook again (doubled each time, up to verify-served.ts MAX_WAIT_MS). */
  verifyBackoff: ['100ms', '10m'],
  /** Generations kept after a rotation: prune's own range (0 keeps what 1 keeps: the active one and its target). */
  keep: [0, MAX_KEEP],
} as const;

export function obj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(where, 'expected a mapping');
  return v as Obj;
}

/** A mapping with no keys but `keys`: a misspelt key would otherwise be ignored in silence. */
export function mapping(v: unknown, where: string, keys: readonly string[]): Obj {
  const o = obj(v, where);
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      fail(where === 'config' ? k : `${where}.${k}`, `unknown key (expected one of ${keys.join(', ')})`);
    }
  }
  return o;
}

/** A duration within `range`, or `fallback` when absent. */
export function duration(
  v: unknown,
  fallback: string | number,
  where: string,
  range: readonly [string, string],
): number {
  const ms = parseDuration(v === undefined ? fallback : v, where);
  const [min, max] = range.map((r) => parseDuration(r, 'limit')) as [number, number];
  if (ms < min || ms > max) {
    fail(where, `expected a duration from ${range[0]} to ${range[1]}, not ${JSON.stringify(v)}`);
  }
  return ms;
}

/** A whole number within `range`, or `fallback` when absent. Strings ("3") are refused as YAML typos. */
function count(v: unknown, fallback: number, where: string, range: readonly [number, number]): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < range[0] || v > range[1]) {
    fail(where, `expected a whole number from ${range[0]} to ${range[1]}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function fraction(v: unknown, fallback: number, where: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `expected a number, not ${JSON.stringify(v)}`);
  return v;
}

function signalName(v: unknown, where: string): NodeJS.Signals {
  if (v === undefined) return 'SIGHUP';
  if (typeof v !== 'string' || !Object.hasOwn(os.constants.signals, v)) {
    fail(where, `unknown signal ${JSON.stringify(v)} (a name like SIGHUP)`);
  }
  return v as NodeJS.Signals;
}

function logLevel(v: unknown): string {
  if (v === undefined) return 'info';
  if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v)) {
    fail('logLevel', `expected one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(v)}`);
  }
  return v;
}

export function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') fail(where, 'expected a non-empty string');
  return v;
}

export function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.length === 0) fail(where, 'expected a non-empty list');
  return v.map((x, i) => str(x, `${where}[${i}]`));
}

function usages(v: unknown, where: string): ExtendedKeyUsage[] {
  const list = v === undefined ? ['clientAuth'] : strList(v, where);
  for (const u of list)
    if (!isExtendedKeyUsage(u)) fail(where, `unknown usage ${JSON.stringify(u)} (${EXTENDED_KEY_USAGES.join(' or ')})`);
  return list as ExtendedKeyUsage[];
}

export function keyType(v: unknown, where: string): KeyType {
  const t = (v ?? 'P-256') as KeyType;
  if (!KEY_TYPES.includes(t)) fail(where, `unsupported ${JSON.stringify(v)} (${KEY_TYPES.join(', ')})`);
  return t;
}

const KEYS = {
  config: ['logLevel', 'certificates', 'metrics', 'notify'],
  certificate: [
    'name',
    'dir',
    'identity',
    'usages',
    'provisioner',
    'renew',
    'retry',
    'keep',
    'check',
    'hooks',
    'access',
    'formats',
    'pkcs12',
  ],
  identity: ['commonName', 'sans'],
  'local-ca': ['type', 'caDir', 'lifetime', 'keyType'],
  command: ['type', 'command', 'timeout'],
  csr: ['type', 'keyType', 'reuseKey', 'subject', 'issuerCa', 'cfssl'],
  cfssl: ['url', 'authKeyFile', 'tlsCa', 'profile', 'label', 'timeout', 'attempts', 'backoff'],
  acme: [
    'type',
    'directory',
    'directoryCa',
    'email',
    'termsAgreed',
    'eab',
    'challenge',
    'http',
    'tlsAlpn',
    'dns',
    'keyType',
    'reuseKey',
    'profile',
  ],
  renew: ['from', 'to'],
  retry: ['initial', 'max'],
  check: ['command', 'tls', 'timeout'],
  tls: ['host', 'port', 'servername', 'ca'],
  hooks: ['command', 'pidFile', 'signal', 'timeout', 'attempts', 'verify'],
  verify: ['host', 'port', 'servername', 'attempts', 'backoff'],
  access: ['owner', 'group', 'keyMode', 'certMode'],
  pkcs12: ['passwordFile'],
  metrics: ['listen', 'textfile', 'unhealthyAfter'],
  notify: ['webhook', 'events', 'timeout', 'attempts', 'backoff', 'ca', 'expiringWithin'],
} as const;

function port(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    fail(where, `expected a port number from 1 to 65535, not ${JSON.stringify(v)}`);
  }
  return v;
}

/** A file mode written as a quoted octal string ('0640'): YAML reads a bare 0640 as decimal 640. */
function fileMode(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v)) fail(where, `expected a quoted octal mode such as '0640'`);
  return Number.parseInt(v, 8);
}

function access(raw: unknown, where: string): AccessOptions {
  const a = mapping(raw, where, KEYS.access);
  const out: AccessOptions = {};
  const name = (v: unknown, w: string): string => (typeof v === 'number' ? String(v) : str(v, w));
  if (a.owner !== undefined) out.owner = name(a.owner, `${where}.owner`);
  if (a.group !== undefined) out.group = name(a.group, `${where}.group`);
  const keyMode = fileMode(a.keyMode, `${where}.keyMode`);
  const certMode = fileMode(a.certMode, `${where}.certMode`);
  if (keyMode !== undefined) out.keyMode = keyMode;
  if (certMode !== undefined) out.certMode = certMode;
  return out;
}

function formatList(v: unknown, where: string): Format[] {
  if (v === undefined) return [];
  const list = strList(v, where);
  for (const [i, f] of list.entries())
    if (!isFormat(f) || list.indexOf(f) !== i)
      fail(`${where}[${i}]`, `expected one of ${FORMATS.join(', ')}, once each`);
  return list as Format[];
}

function verify(raw: unknown, where: string, timeoutMs: number): VerifyServedOptions {
  const v = mapping(raw, where, KEYS.verify);
  const out: VerifyServedOptions = {
    host: str(v.host, `${where}.host`),
    port: port(v.port, `${where}.port`),
    attempts: count(v.attempts, 5, `${where}.attempts`, LIMITS.attempts),
    backoffMs: duration(v.backoff, '1s', `${where}.backoff`, LIMITS.verifyBackoff),
    timeoutMs,
  };
  if (v.servername !== undefined) out.servername = str(v.servername, `${where}.servername`);
  return out;
}

function csrProvisioner(p: Obj, where: string, base: string, usages: ExtendedKeyUsage[]): CsrProvisionerConfig {
  const s = p.subject === undefined ? {} : obj(p.subject, `${where}.subject`);
  const subject: SubjectAttributes = {};
  for (const [k, v] of Object.entries(s)) {
    if (!['O', 'OU', 'C', 'ST', 'L'].includes(k))
      fail(`${where}.subject.${k}`, 'expected one of O, OU, C, ST, L (the CN is identity.commonName)');
    subject[k as keyof SubjectAttributes] = str(v, `${where}.subject.${k}`);
  }
  const c = mapping(p.cfssl, `${where}.cfssl`, KEYS.cfssl);
  const url = str(c.url, `${where}.cfssl.url`);
  try {
    checkCfsslUrl(url, c.tlsCa !== undefined);
  } catch (err) {
    fail(`${where}.cfssl.url`, (err as Error).message);
  }
  const file = (v: unknown, w: string): string | undefined =>
    v === undefined ? undefined : path.resolve(base, str(v, w));
  return {
    type: 'csr',
    keyType: keyType(p.keyType, `${where}.keyType`),
    reuseKey:
      p.reuseKey === undefined
        ? false
        : typeof p.reuseKey === 'boolean'
          ? p.reuseKey
          : fail(`${where}.reuseKey`, 'expected true or false'),
    subject,
    usages,
    issuerCa: file(p.issuerCa, `${where}.issuerCa`),
    cfssl: {
      url,
      authKeyFile: file(c.authKeyFile, `${where}.cfssl.authKeyFile`),
      tlsCa: file(c.tlsCa, `${where}.cfssl.tlsCa`),
      profile: c.profile === undefined ? undefined : str(c.profile, `${where}.cfssl.profile`),
      label: c.label === undefined ? undefined : str(c.label, `${where}.cfssl.label`),
      timeoutMs: duration(c.timeout, '30s', `${where}.cfssl.timeout`, LIMITS.timeout),
      attempts: count(c.attempts, 4, `${where}.cfssl.attempts`, LIMITS.attempts),
      backoffMs: duration(c.backoff, '1s', `${where}.cfssl.backoff`, LIMITS.cfsslBackoff),
    },
  };
}

function provisioner(raw: unknown, where: string, base: string, use: ExtendedKeyUsage[]): ProvisionerConfig {
  const type = obj(raw, where).type;
  if (type !== 'local-ca' && type !== 'command' && type !== 'csr' && type !== 'acme') {
    fail(`${where}.type`, `expected local-ca, csr, acme or command, not ${JSON.stringify(type)}`);
  }
  const p = mapping(raw, where, KEYS[type]);
  if (type === 'acme') return acmeProvisioner(p, where, base, use);
  if (type === 'csr') return csrProvisioner(p, where, base, use);
  if (type === 'command') {
    const timeoutMs = duration(p.timeout, '60s', `${where}.timeout`, LIMITS.timeout);
    return { type, command: strList(p.command, `${where}.command`), timeoutMs };
  }
  return {
    type,
    caDir: path.resolve(base, str(p.caDir, `${where}.caDir`)),
    lifetimeMs: duration(p.lifetime, '30d', `${where}.lifetime`, LIMITS.lifetime),
    keyType: keyType(p.keyType, `${where}.keyType`),
    usages: use,
  };
}

function check(raw: unknown, where: string, base: string): NonNullable<CertificateConfig['check']> {
  const k = mapping(raw, where, KEYS.check);
  const out: NonNullable<CertificateConfig['check']> = {
    timeoutMs: duration(k.timeout, '30s', `${where}.timeout`, LIMITS.timeout),
  };
  if (k.command !== undefined) out.command = strList(k.command, `${where}.command`);
  if (k.tls !== undefined) {
    const t = mapping(k.tls, `${where}.tls`, KEYS.tls);
    out.tls = { host: str(t.host, `${where}.tls.host`), port: port(t.port, `${where}.tls.port`) };
    if (t.servername !== undefined) out.tls.servername = str(t.servername, `${where}.tls.servername`);
    if (t.ca !== undefined) out.tls.ca = path.resolve(base, str(t.ca, `${where}.tls.ca`));
  }
  if (!out.command && !out.tls) fail(where, 'expected command and/or tls');
  return out;
}

function hooks(raw: unknown, where: string, base: string): NonNullable<CertificateConfig['hooks']> {
  const h = mapping(raw, where, KEYS.hooks);
  const out: NonNullable<CertificateConfig['hooks']> = {
    signal: signalName(h.signal, `${where}.signal`),
    timeoutMs: duration(h.timeout, '30s', `${where}.timeout`, LIMITS.timeout),
    attempts: count(h.attempts, 3, `${where}.attempts`, LIMITS.attempts),
  };
  if (h.command !== undefined) out.command = strList(h.command, `${where}.command`);
  if (h.pidFile !== undefined) out.pidFile = path.resolve(base, str(h.pidFile, `${where}.pidFile`));
  if (!out.command && !out.pidFile) fail(where, 'expected command and/or pidFile');
  if (h.verify !== undefined) out.verify = verify(h.verify, `${where}.verify`, out.timeoutMs);
  return out;
}

function certificate(raw: unknown, where: string, base: string): CertificateConfig {
  const c = mapping(raw, where, KEYS.certificate);
  const id = mapping(c.identity, `${where}.identity`, KEYS.identity);
  const use = usages(c.usages, `${where}.usages`);
  const renew = c.renew === undefined ? {} : mapping(c.renew, `${where}.renew`, KEYS.renew);
  const from = fraction(renew.from, DEFAULT_WINDOW.from, `${where}.renew.from`);
  const to = fraction(renew.to, DEFAULT_WINDOW.to, `${where}.renew.to`);
  if (!(from > 0 && from <= to && to < 1)) {
    fail(`${where}.renew`, 'expected 0 < from <= to < 1 (fractions of the lifetime)');
  }
  const retry = c.retry === undefined ? {} : mapping(c.retry, `${where}.retry`, KEYS.retry);
  const initialMs = duration(retry.initial, DEFAULT_BACKOFF.initialMs, `${where}.retry.initial`, LIMITS.retry);
  const maxMs = duration(retry.max, DEFAULT_BACKOFF.maxMs, `${where}.retry.max`, LIMITS.retry);
  if (maxMs < initialMs) {
    fail(`${where}.retry.max`, `expected at least retry.initial (${initialMs} ms), not ${maxMs} ms`);
  }
  const out: CertificateConfig = {
    name: str(c.name, `${where}.name`),
    dir: path.resolve(base, str(c.dir, `${where}.dir`)),
    identity: {
      commonName: str(id.commonName, `${where}.identity.commonName`),
      sans: id.sans === undefined ? [] : strList(id.sans, `${where}.identity.sans`),
    },
    provisioner: provisioner(c.provisioner, `${where}.provisioner`, base, use),
    renew: { from, to },
    retry: { initialMs, maxMs },
    keep: count(c.keep, DEFAULT_KEEP, `${where}.keep`, LIMITS.keep),
    usages: use,
    formats: formatList(c.formats, `${where}.formats`),
  };
  if (out.provisioner.type === 'acme') out.identity = acmeIdentity(out.identity, `${where}.identity`);
  if (c.access !== undefined) out.access = access(c.access, `${where}.access`);
  if (c.pkcs12 !== undefined) {
    const p = mapping(c.pkcs12, `${where}.pkcs12`, KEYS.pkcs12);
    out.pkcs12 = { passwordFile: path.resolve(base, str(p.passwordFile, `${where}.pkcs12.passwordFile`)) };
  }
  if (out.formats.includes('pkcs12') !== (out.pkcs12 !== undefined))
    fail(`${where}.pkcs12`, 'formats: [pkcs12] and pkcs12.passwordFile go together');
  if (c.check !== undefined) out.check = check(c.check, `${where}.check`, base);
  if (c.hooks !== undefined) out.hooks = hooks(c.hooks, `${where}.hooks`, base);
  return out;
}

/**
 * Checks a parsed configuration completely, before anything runs; `base` is the directory
 * relative paths are resolved against. Raises CERTSWAP_CONFIG_INVALID naming the first wrong
 * field by its path (`certificates[0].hooks.atempts: unknown key ...`).
 */
export function parseConfig(raw: unknown, base: string): AgentConfig {
  const c = mapping(raw, 'config', KEYS.config);
  const logLevelName = logLevel(c.logLevel);
  if (!Array.isArray(c.certificates) || c.certificates.length === 0) fail('certificates', 'expected a non-empty list');
  const certificates = c.certificates.map((x, i) => certificate(x, `certificates[${i}]`, base));
  const names = new Set<string>();
  for (const x of certificates) {
    if (names.has(x.name)) fail('certificates', `duplicate name ${JSON.stringify(x.name)}`);
    names.add(x.name);
  }
  const out: AgentConfig = { logLevel: logLevelName, certificates };
  if (c.metrics !== undefined) out.metrics = metricsConfig(c.metrics, base);
  if (c.notify !== undefined) out.notify = notifyConfig(c.notify, base);
  return out;
}

/** `host:port` or `[v6]:port`; the host is required, so that binding all addresses is a choice. */
function listenAddress(v: unknown, where: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(str(v, where));
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) fail(where, `expected host:port (127.0.0.1:9877), not ${JSON.stringify(v)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function metricsConfig(raw: unknown, base: string): MetricsConfig {
  const m = mapping(raw, 'metrics', KEYS.metrics);
  const out: MetricsConfig = {
    unhealthyAfterMs: duration(m.unhealthyAfter, '24h', 'metrics.unhealthyAfter', LIMITS.unhealthyAfter),
  };
  if (m.listen !== undefined) out.listen = listenAddress(m.listen, 'metrics.listen');
  if (m.textfile !== undefined) {
    out.textfile = path.resolve(base, str(m.textfile, 'metrics.textfile'));
    if (!out.textfile.endsWith('.prom'))
      fail('metrics.textfile', 'expected a name ending in .prom (node_exporter reads only those)');
  }
  if (!out.listen && !out.textfile) fail('metrics', 'expected listen and/or textfile');
  return out;
}

function notifyConfig(raw: unknown, base: string): NotifyConfig {
  const n = mapping(raw, 'notify', KEYS.notify);
  const webhook = str(n.webhook, 'notify.webhook');
  try {
    checkWebhookUrl(webhook);
  } catch (err) {
    fail('notify.webhook', (err as Error).message);
  }
  const events = n.events === undefined ? [...NOTIFY_EVENTS] : strList(n.events, 'notify.events');
  for (const e of events) {
    if (!isNotifyEvent(e)) fail('notify.events', `unknown event ${JSON.stringify(e)} (${NOTIFY_EVENTS.join(', ')})`);
  }
  const out: NotifyConfig = {
    webhook,
    events: events as NotifyEvent[],
    timeoutMs: duration(n.timeout, '10s', 'notify.timeout', LIMITS.timeout),
    attempts: count(n.attempts, 5, 'notify.attempts', LIMITS.attempts),
    backoffMs: duration(n.backoff, '1s', 'notify.backoff', LIMITS.webhookBackoff),
    expiringWithinMs: duration(n.expiringWithin, '7d', 'notify.expiringWithin', LIMITS.expiringWithin),
  };
  if (n.ca !== undefined) out.ca = path.resolve(base, str(n.ca, 'notify.ca'));
  return out;
}

export async function loadConfigFile(file: string): Promise<AgentConfig> {
  const { readInputFile } = await import('../io/input.js');
  const { parse } = await import('yaml');
  const text = (await readInputFile(file, 'config')).toString('utf8');
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new CertswapError(
      ErrorCodes.CONFIG_INVALID,
      `${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      { path: file },
    );
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
          keep: DEFAULT_KEEP,
        },
      ],
    },
    base,
  );
}
