/**
 * Hand-made lineages as certbot and lego lay them out (certbot 2.x: live/NAME links into
 * archive/NAME, directories 0700, keys 0600; lego 4.x: certificates/NAME.{crt,key,issuer.crt}),
 * from test certificates: a root, an intermediate, a leaf the intermediate issued.
 */
import fse from 'fs-extra';
import path from 'node:path';
import { issue, type Issued } from './certs.js';

export interface Chain {
  root: Issued;
  intermediate: Issued;
  leaf: Issued;
}

let shared: Promise<{ root: Issued; intermediate: Issued }> | undefined;

/** A leaf for `name` under a shared intermediate (made once per process). */
export async function makeChain(name = 'device.example'): Promise<Chain> {
  shared ??= (async () => {
    const root = await issue({ ca: true, name: 'lineage test root' });
    return { root, intermediate: await issue({ ca: true, name: 'lineage test intermediate', issuer: root }) };
  })();
  const { root, intermediate } = await shared;
  return { root, intermediate, leaf: await issue({ name, issuer: intermediate }) };
}

export interface CertbotLineage {
  config: string;
  live: string;
  archive: string;
}

/**
 * certbot's layout for `chain` as renewal `version` of lineage `name` in `config`: the four
 * archive files, and the four live links to them (relative, as certbot writes them).
 */
export async function writeCertbotLineage(
  config: string,
  name: string,
  chain: Chain,
  version = 1,
): Promise<CertbotLineage> {
  const live = path.join(config, 'live', name);
  const archive = path.join(config, 'archive', name);
  await fse.mkdirp(live, { mode: 0o700 });
  await fse.mkdirp(archive, { mode: 0o700 });
  const files = {
    cert: chain.leaf.certPem,
    chain: chain.intermediate.certPem,
    fullchain: chain.leaf.certPem + chain.intermediate.certPem,
    privkey: chain.leaf.keyPem,
  };
  for (const [f, text] of Object.entries(files)) {
    await fse.writeFile(path.join(archive, `${f}${version}.pem`), text, { mode: f === 'privkey' ? 0o600 : 0o644 });
    await fse.remove(path.join(live, `${f}.pem`));
    await fse.symlink(`../../archive/${name}/${f}${version}.pem`, path.join(live, `${f}.pem`));
  }
  return { config, live, archive };
}

/** lego's files for `chain` as `base` (NAME.crt with the chain unless `bundle` is false). */
export async function writeLegoCertificate(dir: string, base: string, chain: Chain, bundle = true): Promise<string> {
  const certificates = path.join(dir, 'certificates');
  await fse.mkdirp(certificates, { mode: 0o700 });
  const crt = chain.leaf.certPem + (bundle ? `\n${chain.intermediate.certPem}` : '');
  await fse.writeFile(path.join(certificates, `${base}.crt`), crt, { mode: 0o600 });
  await fse.writeFile(path.join(certificates, `${base}.key`), chain.leaf.keyPem, { mode: 0o600 });
  await fse.writeFile(path.join(certificates, `${base}.issuer.crt`), chain.intermediate.certPem, { mode: 0o600 });
  await fse.writeFile(path.join(certificates, `${base}.json`), '{}\n', { mode: 0o600 });
  return certificates;
}
