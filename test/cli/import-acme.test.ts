/**
 * The switch from the real clients: Debian's certbot and lego obtain a certificate from a real
 * pebble (test/helpers/pebble.ts, its http-01 validation pointed at the port each client's own
 * standalone listener takes in turn), and `certswap import` makes each lineage the active
 * generation with the fingerprint openssl computes from the client's own cert file; `status`
 * shows it with pebble's chain, `verify` chains it to pebble's root, and the client's directory
 * is unchanged. The two clients run once for the suite (a few seconds each).
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import { Pebble, pebbleAvailable } from '../helpers/pebble.js';
import { certswap, collect, freePort, which, type Result } from '../helpers/proc.js';
import { runTempDir, storeDir } from '../helpers/tmp.js';
import { treeState } from '../helpers/tree-state.js';

const CERTBOT_NAME = 'certbot.example.test';
const LEGO_NAME = 'lego.example.test';

/** Runs a client to completion; it is killed (by its pid, SIGKILL) if it is still running after 90 s. */
async function client(program: string, args: string[], env: Record<string, string>): Promise<Result> {
  const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    return await collect(child);
  } finally {
    clearTimeout(guard);
  }
}

/** The SHA-256 fingerprint openssl prints for the first certificate in `file`. */
function opensslFingerprint(file: string): string {
  const out = execFileSync('openssl', ['x509', '-in', file, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  return out.trim().replace(/^sha256 Fingerprint=/i, '');
}

/** The DER of each certificate in a PEM file, in order. */
function ders(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) =>
    new X509Certificate(m[0]).raw.toString('base64'),
  );
}

interface StatusJson {
  current: number;
  previous: number | null;
  generations: Array<{ id: number; fingerprint: string; chainLength: number; issuer: string; sans: string[] }>;
}

describe('cli: import from lineages real certbot and lego obtained from pebble', function () {
  this.timeout(180_000);
  let pebble: Pebble | undefined;
  let work: string;
  let live: string;
  let certificates: string;
  let root: Buffer;

  before(async function () {
    const missing = ['certbot', 'lego'].filter((p) => which(p) === null);
    if (missing.length && process.env.CI === 'true') throw new Error(`CI=true but ${missing.join(', ')} not installed`);
    if (!pebbleAvailable() || missing.length) this.skip();
    const port = await freePort();
    pebble = await Pebble.start({ httpPort: port });
    root = await pebble.root();
    work = await runTempDir('certswap-import-acme-');
    const certbot = await client(
      'certbot',
      [
        'certonly',
        ...['--server', pebble.directory, '--standalone', '--http-01-port', String(port)],
        ...['--http-01-address', '127.0.0.1', '--register-unsafely-without-email', '--agree-tos'],
        ...['--non-interactive', '-d', CERTBOT_NAME],
        ...['--config-dir', path.join(work, 'letsencrypt'), '--work-dir', path.join(work, 'certbot-work')],
        ...['--logs-dir', path.join(work, 'certbot-logs')],
      ],
      { REQUESTS_CA_BUNDLE: pebble.tlsCaFile },
    );
    expect(certbot.code, certbot.stdout + certbot.stderr).to.equal(0);
    live = path.join(work, 'letsencrypt', 'live', CERTBOT_NAME);
    const lego = await client(
      'lego',
      [
        ...['--server', pebble.directory, '--http', '--http.port', `127.0.0.1:${port}`],
        ...['--path', path.join(work, 'lego'), '--email', 'ops@example.test', '--accept-tos', '-d', LEGO_NAME, 'run'],
      ],
      { LEGO_CA_CERTIFICATES: pebble.tlsCaFile },
    );
    expect(lego.code, lego.stdout + lego.stderr).to.equal(0);
    certificates = path.join(work, 'lego', 'certificates');
  });

  after(async () => {
    await pebble?.stop();
  });

  it("a certbot lineage imports as the active generation with the same fingerprint; certbot's files are unchanged", async () => {
    const before = await treeState(path.join(work, 'letsencrypt'));
    const dir = await storeDir();
    const r = await certswap(['import', '--dir', dir, '--from', 'certbot', live, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const fingerprint = opensslFingerprint(path.join(live, 'cert.pem'));
    expect(JSON.parse(r.stdout)).to.deep.include({ generation: 1, previous: null, fingerprint, from: 'certbot' });

    const status = JSON.parse((await certswap(['status', '--dir', dir, '--json'])).stdout) as StatusJson;
    expect(status.current).to.equal(1);
    expect(status.generations[0]).to.deep.include({
      id: 1,
      fingerprint,
      chainLength: 2,
      sans: [`DNS:${CERTBOT_NAME}`],
    });
    const human = (await certswap(['status', '--dir', dir])).stdout;
    expect(human).to.match(new RegExp(`^1\\s+current\\s.*${fingerprint}$`, 'm'));
    // Leaf then chain, as certbot's fullchain.pem has them; openssl sees the same leaf in the store.
    const stored = await fse.readFile(path.join(dir, 'current', 'cert.pem'), 'utf8');
    expect(ders(stored)).to.deep.equal(ders(await fse.readFile(path.join(live, 'fullchain.pem'), 'utf8')));
    expect(opensslFingerprint(path.join(dir, 'current', 'cert.pem'))).to.equal(fingerprint);
    await assertChainsToPebble(dir, CERTBOT_NAME);
    expect((await treeState(path.join(work, 'letsencrypt'))).entries).to.deep.equal(before.entries);
  });

  it('a lego certificate imports the same way, as a new generation of a store that had one', async () => {
    const before = await treeState(path.join(work, 'lego'));
    const dir = await storeDir();
    expect((await certswap(['import', '--dir', dir, '--from', 'certbot', live])).code).to.equal(0);
    const r = await certswap(['import', '--dir', dir, '--from', 'lego', certificates, LEGO_NAME, '--trial', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const fingerprint = opensslFingerprint(path.join(certificates, `${LEGO_NAME}.crt`));
    expect(JSON.parse(r.stdout)).to.deep.include({ generation: 2, previous: 1, fingerprint, from: 'lego' });
    expect((await certswap(['commit', '--dir', dir])).code).to.equal(0);

    const status = JSON.parse((await certswap(['status', '--dir', dir, '--json'])).stdout) as StatusJson;
    expect([status.current, status.previous]).to.deep.equal([2, 1]);
    expect(status.generations.find((g) => g.id === 2)).to.deep.include({ fingerprint, chainLength: 2 });
    const stored = await fse.readFile(path.join(dir, 'current', 'cert.pem'), 'utf8');
    expect(ders(stored)).to.deep.equal(ders(await fse.readFile(path.join(certificates, `${LEGO_NAME}.crt`), 'utf8')));
    await assertChainsToPebble(dir, LEGO_NAME);
    expect((await treeState(path.join(work, 'lego'))).entries).to.deep.equal(before.entries);
  });

  it('the switch: the agent keeps the imported certificate until its window and renews it; a later certbot renewal imports too', async () => {
    const dir = await storeDir();
    expect((await certswap(['import', '--dir', dir, '--from', 'certbot', live])).code).to.equal(0);
    // The agent's configuration pointed at the store, with the certificate's names: nothing is due.
    const config = path.join(await runTempDir(), 'agent.yaml');
    await fse.writeFile(
      config,
      `certificates:\n  - name: web\n    dir: ${dir}\n` +
        `    identity: { commonName: ${CERTBOT_NAME}, sans: [${CERTBOT_NAME}] }\n` +
        `    provisioner: { type: local-ca, caDir: ${path.join(work, 'unused-ca')} }\n`,
    );
    const plan = await certswap(['renew', '--config', config, '--dry-run', '--json']);
    expect(plan.code, plan.stderr).to.equal(0);
    expect(JSON.parse(plan.stdout)).to.deep.include({ name: 'web', generation: 1, why: 'window', due: false });
    // And renews it from then on: a forced renewal is the next generation, the imported one its rollback target.
    const renewedByAgent = await certswap(['renew', '--config', config, '--json']);
    expect(renewedByAgent.code, renewedByAgent.stderr).to.equal(0);
    expect(JSON.parse(renewedByAgent.stdout)).to.deep.include({ name: 'web', generation: 2 });
    const afterRenew = JSON.parse((await certswap(['status', '--dir', dir, '--json'])).stdout) as StatusJson;
    expect([afterRenew.current, afterRenew.previous]).to.deep.equal([2, 1]);

    // certbot renews (archive/NAME/*2.pem, the four links repointed): that lineage imports too.
    const renewed = await client(
      'certbot',
      [
        ...['renew', '--force-renewal', '--no-random-sleep-on-renew', '--cert-name', CERTBOT_NAME, '--non-interactive'],
        ...['--config-dir', path.join(work, 'letsencrypt'), '--work-dir', path.join(work, 'certbot-work')],
        ...['--logs-dir', path.join(work, 'certbot-logs')],
      ],
      { REQUESTS_CA_BUNDLE: pebble!.tlsCaFile },
    );
    expect(renewed.code, renewed.stdout + renewed.stderr).to.equal(0);
    const r = await certswap(['import', '--dir', dir, '--from', 'certbot', live, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { generation: number; fingerprint: string; files: string[] };
    expect(out).to.deep.include({ generation: 3, fingerprint: opensslFingerprint(path.join(live, 'cert.pem')) });
    expect(out.files.map((f) => path.basename(f))).to.deep.equal([
      'cert2.pem',
      'chain2.pem',
      'fullchain2.pem',
      'privkey2.pem',
    ]);
  });

  /** verify: the active pair is for `name` and its chain leads to the root pebble issues from. */
  async function assertChainsToPebble(dir: string, name: string): Promise<void> {
    const trust = path.join(await runTempDir(), 'pebble-root.pem');
    await fse.writeFile(trust, root);
    const v = await certswap(['verify', '--dir', dir, '--expect-name', name, '--trust', trust]);
    expect(v.code, v.stderr).to.equal(0);
    // The leaf's key is the client's: openssl checks the stored key against the stored leaf.
    const pub = (args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });
    expect(pub(['pkey', '-in', path.join(dir, 'current', 'key.pem'), '-pubout'])).to.equal(
      pub(['x509', '-in', path.join(dir, 'current', 'cert.pem'), '-noout', '-pubkey']),
    );
  }
});
