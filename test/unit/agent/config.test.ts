import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { demoConfig, LIMITS, loadConfigFile, parseConfig, parseDuration } from '../../../src/agent/config.js';
import { LOG_LEVELS } from '../../../src/log.js';
import { DEFAULT_KEEP } from '../../../src/store/ops/prune.js';
import { tempDir } from '../../helpers/tmp.js';
import { expectCode } from '../../helpers/expect-code.js';

describe('agent configuration', () => {
  it("accepts the agent docs' example configurations as they are printed", async () => {
    const readme = await fse.readFile(path.join(import.meta.dirname, '..', '..', '..', 'docs', 'agent.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => /^certificates:/m.test(b));
    expect(blocks.length).to.be.greaterThanOrEqual(2);
    const dir = await tempDir();
    for (const [i, text] of blocks.entries()) {
      const file = path.join(dir, `example-${i}.yaml`);
      await fse.writeFile(file, text);
      const c = await loadConfigFile(file);
      expect(c.certificates.length, text).to.be.greaterThan(0);
    }
    const csr = (
      await loadConfigFile(path.join(dir, `example-${blocks.findIndex((b) => /^ +type: csr/m.test(b))}.yaml`))
    ).certificates[0]!.provisioner;
    expect(csr).to.deep.include({
      type: 'csr',
      keyType: 'P-256',
      reuseKey: false,
      issuerCa: '/etc/certswap/fleet-ca.pem',
    });
  });

  it('reads YAML, resolves paths against the file, and fills in defaults', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'a.yaml');
    await fse.writeFile(
      file,
      'certificates:\n  - name: d\n    dir: s\n    identity: { commonName: d1 }\n    provisioner: { type: command, command: [x, "{cert}"] }\n',
    );
    const c = await loadConfigFile(file);
    const d = c.certificates[0]!;
    expect(d.dir).to.equal(path.join(dir, 's'));
    expect(d).to.deep.include({ keep: 3, usages: ['clientAuth'], renew: { from: 0.7, to: 0.9 } });
    expect(d.provisioner).to.deep.equal({ type: 'command', command: ['x', '{cert}'], timeoutMs: 60_000 });
  });

  it('names the field that is wrong', async () => {
    const base = {
      name: 'd',
      dir: 's',
      identity: { commonName: 'd1' },
      provisioner: { type: 'local-ca', caDir: 'ca' },
    };
    const bad: Array<[unknown, RegExp]> = [
      [{}, /^certificates: expected a non-empty list/],
      [
        { certificates: [{ ...base, provisioner: { type: 'scep' } }] },
        /certificates\[0\]\.provisioner\.type: expected local-ca, csr, acme or command/,
      ],
      [
        { certificates: [{ ...base, provisioner: { type: 'local-ca', caDir: 'ca', lifetime: 'soon' } }] },
        /provisioner\.lifetime: expected a duration/,
      ],
      [
        { certificates: [{ ...base, renew: { from: 0.9, to: 0.5 } }] },
        /certificates\[0\]\.renew: expected 0 < from <= to < 1/,
      ],
      [{ certificates: [{ ...base, usages: ['codeSigning'] }] }, /usages: unknown usage/],
      [{ certificates: [{ ...base, check: {} }] }, /check: expected command and\/or tls/],
      [
        { certificates: [{ ...base, check: { tls: { host: 'h', port: 99999 } } }] },
        /check\.tls\.port: expected a port number/,
      ],
      [{ certificates: [{ ...base, hooks: {} }] }, /hooks: expected command and\/or pidFile/],
      [{ certificates: [base, base] }, /duplicate name/],
    ];
    for (const [raw, msg] of bad) {
      expect(() => parseConfig(raw, '/'), JSON.stringify(raw))
        .to.throw(msg)
        .with.property('code', 'CERTSWAP_CONFIG_INVALID');
    }
  });

  describe('is checked completely before anything runs', () => {
    const base = {
      name: 'd',
      dir: 's',
      identity: { commonName: 'd1' },
      provisioner: { type: 'local-ca', caDir: 'ca' },
    };
    const cfssl = { type: 'csr', cfssl: { url: 'http://127.0.0.1:8888' } };
    const ca = (extra: Record<string, unknown>) => ({
      provisioner: { ...cfssl, cfssl: { url: 'http://127.0.0.1:1', ...extra } },
    });
    const one = (extra: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
      ...top,
      certificates: [{ ...base, ...extra }],
    });
    const refused = (raw: unknown, msg: RegExp): void => {
      expect(() => parseConfig(raw, '/'), JSON.stringify(raw))
        .to.throw(msg)
        .with.property('code', 'CERTSWAP_CONFIG_INVALID');
    };
    const accepted = (raw: unknown) => parseConfig(raw, '/').certificates[0]!;

    it('refuses an unknown key at every level, naming it by its path', () => {
      const cases: Array<[unknown, string]> = [
        [one({}, { loglevel: 'info' }), 'loglevel'],
        [one({ renewal: {} }), 'certificates[0].renewal'],
        [one({ identity: { commonName: 'd1', san: ['x'] } }), 'certificates[0].identity.san'],
        [one({ provisioner: { type: 'local-ca', caDir: 'ca', lifetme: '1d' } }), 'certificates[0].provisioner.lifetme'],
        [
          one({ provisioner: { type: 'local-ca', caDir: 'ca', command: ['x'] } }),
          'certificates[0].provisioner.command',
        ],
        [one({ provisioner: { type: 'command', command: ['x'], timout: '1s' } }), 'certificates[0].provisioner.timout'],
        [one({ provisioner: { ...cfssl, reusekey: true } }), 'certificates[0].provisioner.reusekey'],
        [
          one({ provisioner: { ...cfssl, cfssl: { url: 'http://127.0.0.1:8888', retries: 2 } } }),
          'certificates[0].provisioner.cfssl.retries',
        ],
        [one({ renew: { from: 0.5, to: 0.6, jitter: 1 } }), 'certificates[0].renew.jitter'],
        [one({ retry: { initial: '1s', maximum: '1m' } }), 'certificates[0].retry.maximum'],
        [one({ check: { command: ['x'], timeot: '1s' } }), 'certificates[0].check.timeot'],
        [one({ check: { tls: { host: 'h', port: 443, sni: 'h' } } }), 'certificates[0].check.tls.sni'],
        [one({ hooks: { command: ['x'], atempts: 3 } }), 'certificates[0].hooks.atempts'],
      ];
      for (const [raw, where] of cases) refused(raw, new RegExp(`^${where.replace(/[[\].]/g, '\\$&')}: unknown key`));
    });

    it('holds every timeout to 100ms..24h, and the retry backoff to 100ms..24h with max >= initial', () => {
      const timeouts: Array<[(t: string) => Record<string, unknown>, RegExp]> = [
        [
          (t) => ({ provisioner: { type: 'command', command: ['x'], timeout: t } }),
          /provisioner\.timeout: expected a duration from 100ms/,
        ],
        [(t) => ({ check: { command: ['x'], timeout: t } }), /check\.timeout: expected a duration from 100ms to 24h/],
        [(t) => ({ hooks: { command: ['x'], timeout: t } }), /hooks\.timeout: expected a duration from 100ms to 24h/],
        [(t) => ca({ timeout: t }), /cfssl\.timeout: expected a duration from 100ms to 24h/],
      ];
      expect(LIMITS.timeout).to.deep.equal(['100ms', '24h']);
      for (const [make, msg] of timeouts) {
        for (const bad of ['99ms', '0s', '25h', '30d']) refused(one(make(bad)), msg);
        for (const good of ['100ms', '24h', '30s']) accepted(one(make(good)));
      }
      refused(one({ retry: { initial: '10ms' } }), /retry\.initial: expected a duration from 100ms to 24h/);
      refused(one({ retry: { initial: 0 } }), /retry\.initial: expected a duration from 100ms/);
      refused(
        one({ retry: { initial: '1m', max: '30s' } }),
        /retry\.max: expected at least retry\.initial \(60000 ms\)/,
      );
      refused(one({ retry: { max: '500ms' } }), /retry\.max: expected at least retry\.initial \(1000 ms\)/);
      refused(one({ retry: { max: '2d' } }), /retry\.max: expected a duration from 100ms to 24h/);
      expect(accepted(one({ retry: { initial: '100ms', max: '100ms' } })).retry).to.deep.equal({
        initialMs: 100,
        maxMs: 100,
      });
    });

    it('holds the CA request backoff and the local CA lifetime to their ranges', () => {
      for (const bad of ['50ms', '1h'])
        refused(one(ca({ backoff: bad })), /cfssl\.backoff: expected a duration from 100ms to 10m/);
      const csr = accepted(one(ca({ backoff: '100ms' }))).provisioner;
      expect(csr.type === 'csr' && csr.cfssl.backoffMs).to.equal(100);
      const lifetime = (l: unknown) => one({ provisioner: { type: 'local-ca', caDir: 'ca', lifetime: l } });
      // A bare number is milliseconds: `lifetime: 60` is 60 ms, not a minute.
      for (const bad of [60, '1s', '1999ms', '826d', '10000d']) {
        refused(lifetime(bad), /provisioner\.lifetime: expected a duration from 2s to 825d/);
      }
      for (const [good, ms] of [
        ['2s', 2000],
        ['60s', 60_000],
        ['825d', 825 * 86_400_000],
      ] as const) {
        expect(accepted(lifetime(good)).provisioner).to.include({ lifetimeMs: ms });
      }
      expect(demoConfig('/x').certificates[0]!.provisioner).to.include({ lifetimeMs: 60_000 });
    });

    it('takes counts as whole numbers in range: hooks.attempts, cfssl.attempts, keep', () => {
      for (const bad of ['lots', '3', 0, -1, 2.5, 11, null]) {
        refused(
          one({ hooks: { command: ['x'], attempts: bad } }),
          /hooks\.attempts: expected a whole number from 1 to 10/,
        );
        refused(one(ca({ attempts: bad })), /cfssl\.attempts: expected a whole number from 1 to 10/);
      }
      expect(accepted(one({ hooks: { command: ['x'] } })).hooks).to.include({ attempts: 3 });
      expect(accepted(one({ hooks: { command: ['x'], attempts: 10 } })).hooks).to.include({ attempts: 10 });
      // The one rule for keep, prune's: 0 to MAX_KEEP (0 keeps what 1 keeps: the active generation).
      for (const bad of [-3, 1.5, '3', 10_001])
        refused(one({ keep: bad }), /keep: expected a whole number from 0 to 10000/);
      expect(accepted(one({ keep: 0 })).keep).to.equal(0);
      expect(accepted(one({})).keep).to.equal(DEFAULT_KEEP);
      expect(accepted(one({ keep: 1 })).keep).to.equal(1);
    });

    it('takes a known signal name for hooks.signal', () => {
      refused(one({ hooks: { pidFile: 'p', signal: 'SIGNOPE' } }), /hooks\.signal: unknown signal "SIGNOPE"/);
      refused(one({ hooks: { pidFile: 'p', signal: 1 } }), /hooks\.signal: unknown signal 1/);
      refused(one({ hooks: { pidFile: 'p', signal: 'hup' } }), /hooks\.signal: unknown signal/);
      expect(accepted(one({ hooks: { pidFile: 'p' } })).hooks).to.include({ signal: 'SIGHUP' });
      expect(accepted(one({ hooks: { pidFile: 'p', signal: 'SIGUSR1' } })).hooks).to.include({ signal: 'SIGUSR1' });
    });

    it('takes renew.from and renew.to as numbers, and check.tls.port as a port number', () => {
      refused(one({ renew: { from: '0.5', to: 0.6 } }), /renew\.from: expected a number, not "0\.5"/);
      refused(one({ renew: { from: 0.5, to: '0.6' } }), /renew\.to: expected a number/);
      refused(one({ renew: { to: 0.5 } }), /renew: expected 0 < from <= to < 1/);
      expect(accepted(one({ renew: { from: 0.5 } })).renew).to.deep.equal({ from: 0.5, to: 0.9 });
      const tls = (port: unknown) => one({ check: { tls: { host: 'h', port } } });
      for (const bad of ['443', 0, 65536, 44.3, null])
        refused(tls(bad), /check\.tls\.port: expected a port number from 1 to 65535/);
      for (const good of [1, 443, 65535]) expect(accepted(tls(good)).check!.tls).to.include({ port: good });
    });

    it("takes logLevel as one of the logger's levels", () => {
      for (const level of LOG_LEVELS) expect(parseConfig(one({}, { logLevel: level }), '/').logLevel).to.equal(level);
      expect(parseConfig(one({}), '/').logLevel).to.equal('info');
      refused(
        one({}, { logLevel: 'verbose' }),
        /^logLevel: expected one of fatal, error, warn, info, debug, trace, silent, not "verbose"/,
      );
      refused(one({}, { logLevel: 30 }), /^logLevel: expected one of/);
    });
  });

  it('refuses a file that is not YAML, or missing', async () => {
    const dir = await tempDir();
    await fse.writeFile(path.join(dir, 'bad.yaml'), 'certificates: [unclosed');
    await expectCode(loadConfigFile(path.join(dir, 'bad.yaml')), 'CERTSWAP_CONFIG_INVALID', /not valid YAML/);
    await expectCode(loadConfigFile(path.join(dir, 'missing.yaml')), 'ENOENT', /config .*missing\.yaml: no such file/);
  });

  it('parses durations', () => {
    expect(parseDuration('90s', 'x')).to.equal(90_000);
    expect(parseDuration('1.5h', 'x')).to.equal(5_400_000);
    expect(parseDuration(250, 'x')).to.equal(250);
    expect(() => parseDuration('-1s', 'x')).to.throw(/duration/);
  });

  it('the embedded demo default is valid and lives under ./var', () => {
    const c = demoConfig('/srv/demo').certificates[0]!;
    expect(c.dir).to.equal('/srv/demo/var/store');
    expect(c.provisioner).to.include({ type: 'local-ca', caDir: '/srv/demo/var/ca', lifetimeMs: 60_000 });
  });
  it('access, formats, pkcs12 and hooks.verify: parsed with defaults, each mistake named', async () => {
    const base = {
      name: 'd',
      dir: 's',
      identity: { commonName: 'd1' },
      provisioner: { type: 'local-ca', caDir: 'ca' },
    };
    const c = parseConfig(
      {
        certificates: [
          {
            ...base,
            access: { group: 'ssl-cert', keyMode: '0640', certMode: '640' },
            formats: ['fullchain', 'bundle', 'pkcs12'],
            pkcs12: { passwordFile: 'p12.pass' },
            hooks: { command: ['reload'], verify: { host: '127.0.0.1', port: 8443 } },
          },
        ],
      },
      '/etc/certswap',
    ).certificates[0]!;
    expect(c.access).to.deep.equal({ group: 'ssl-cert', keyMode: 0o640, certMode: 0o640 });
    expect(c.formats).to.deep.equal(['fullchain', 'bundle', 'pkcs12']);
    expect(c.pkcs12).to.deep.equal({ passwordFile: '/etc/certswap/p12.pass' });
    expect(c.hooks!.verify).to.deep.equal({
      host: '127.0.0.1',
      port: 8443,
      attempts: 5,
      backoffMs: 1000,
      timeoutMs: 30_000,
    });
    expect(parseConfig({ certificates: [base] }, '/').certificates[0]!.formats).to.deep.equal([]);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ access: { keyMode: 0o640 } }, /access\.keyMode: expected a quoted octal mode/],
      [{ access: { grup: 'x' } }, /access\.grup: unknown key/],
      [{ formats: ['der'] }, /formats\[0\]: expected one of fullchain, bundle, pkcs12/],
      [{ formats: ['bundle', 'bundle'] }, /formats\[1\]/],
      [{ formats: ['pkcs12'] }, /pkcs12: formats: \[pkcs12\] and pkcs12.passwordFile go together/],
      [{ pkcs12: { passwordFile: 'x' } }, /go together/],
      [{ hooks: { command: ['r'], verify: { host: 'h', port: 0 } } }, /hooks\.verify\.port: expected a port/],
      [{ hooks: { command: ['r'], verify: { host: 'h', port: 1, backoff: '1h' } } }, /hooks\.verify\.backoff/],
    ];
    for (const [extra, message] of bad) {
      const e = await expectCode(
        (async () => parseConfig({ certificates: [{ ...base, ...extra }] }, '/'))(),
        'CERTSWAP_CONFIG_INVALID',
      );
      expect(e.message).to.match(message);
    }
  });
});

describe('agent configuration: metrics and notify', () => {
  const certificates = [
    { name: 'a', dir: 'store', identity: { commonName: 'a' }, provisioner: { type: 'local-ca', caDir: 'ca' } },
  ];
  const parse = (top: Record<string, unknown>) => parseConfig({ certificates, ...top }, '/etc/certswap');
  const refused = (top: Record<string, unknown>, msg: RegExp): void => {
    expect(() => parse(top), JSON.stringify(top))
      .to.throw(msg)
      .with.property('code', 'CERTSWAP_CONFIG_INVALID');
  };

  it("accepts the monitoring docs' metrics and notify examples as they are printed", async () => {
    const root = path.join(import.meta.dirname, '..', '..', '..', 'docs');
    const text =
      (await fse.readFile(path.join(root, 'monitoring.md'), 'utf8')) +
      (await fse.readFile(path.join(root, 'agent.md'), 'utf8'));
    const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => parseYaml(m[1]!) as Record<string, unknown>)
      .filter((b) => b.metrics !== undefined || b.notify !== undefined);
    expect(blocks.length).to.be.at.least(3);
    for (const b of blocks) {
      const { certificates: _ours, ...top } = b;
      const c = parse(top);
      if (b.metrics) expect(c.metrics, JSON.stringify(b)).to.not.equal(undefined);
      if (b.notify) expect(c.notify, JSON.stringify(b)).to.not.equal(undefined);
    }
  });

  it('reads metrics: listen (IPv4, [IPv6], a name), textfile, unhealthyAfter', () => {
    expect(parse({}).metrics).to.equal(undefined);
    expect(parse({ metrics: { listen: '127.0.0.1:9877' } }).metrics).to.deep.equal({
      listen: { host: '127.0.0.1', port: 9877 },
      unhealthyAfterMs: 24 * 3_600_000,
    });
    expect(parse({ metrics: { listen: '[::1]:9877' } }).metrics?.listen).to.deep.equal({ host: '::1', port: 9877 });
    expect(parse({ metrics: { listen: 'localhost:80' } }).metrics?.listen).to.deep.equal({
      host: 'localhost',
      port: 80,
    });
    expect(parse({ metrics: { textfile: 'tf/certswap.prom', unhealthyAfter: '2h' } }).metrics).to.deep.equal({
      textfile: '/etc/certswap/tf/certswap.prom',
      unhealthyAfterMs: 7_200_000,
    });
    refused({ metrics: {} }, /^metrics: expected listen and\/or textfile/);
    refused({ metrics: { listen: '9877' } }, /^metrics.listen: expected host:port/);
    refused({ metrics: { listen: '127.0.0.1:70000' } }, /^metrics.listen: expected host:port/);
    refused({ metrics: { textfile: 'certswap.txt' } }, /^metrics.textfile: expected a name ending in .prom/);
    refused({ metrics: { listen: '127.0.0.1:1', unhealthyAfter: '10ms' } }, /^metrics.unhealthyAfter: expected/);
    refused({ metrics: { listn: '127.0.0.1:1' } }, /^metrics.listn: unknown key/);
  });

  it('reads notify: the webhook and its transport rule, events, timeout, attempts, backoff, ca', () => {
    expect(parse({ notify: { webhook: 'https://hooks.example/certswap' } }).notify).to.deep.equal({
      webhook: 'https://hooks.example/certswap',
      events: ['rotated', 'rolled-back', 'renewal-failed', 'expiring-soon'],
      timeoutMs: 10_000,
      attempts: 5,
      backoffMs: 1000,
      expiringWithinMs: 7 * 86_400_000,
    });
    const n = parse({
      notify: {
        webhook: 'http://127.0.0.1:8080/x',
        events: ['renewal-failed'],
        timeout: '2s',
        attempts: 3,
        backoff: '200ms',
        ca: 'hooks-ca.pem',
        expiringWithin: '3d',
      },
    }).notify;
    expect(n).to.deep.include({ events: ['renewal-failed'], timeoutMs: 2000, attempts: 3, backoffMs: 200 });
    expect(n?.ca).to.equal('/etc/certswap/hooks-ca.pem');
    refused(
      { notify: { webhook: 'http://hooks.example/x' } },
      /^notify.webhook: .*plain http is accepted only on loopback/,
    );
    refused({ notify: { webhook: 'ftp://127.0.0.1/x' } }, /^notify.webhook: expected http or https/);
    refused({ notify: { webhook: 'not a url' } }, /^notify.webhook: not a URL/);
    refused({ notify: { webhook: 'https://h/x', events: ['rotate'] } }, /^notify.events: unknown event "rotate"/);
    refused({ notify: { webhook: 'https://h/x', attempts: 0 } }, /^notify.attempts: expected a whole number/);
    refused({ notify: { webhook: 'https://h/x', backoff: '1ms' } }, /^notify.backoff: expected a duration/);
  });
});
