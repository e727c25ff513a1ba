/** A fresh test pair written to files, for tests that hand it to a CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { makePair } from './certs.js';

export interface PairFiles {
  /** `--cert FILE --key FILE`, as install and stage take them. */
  args: string[];
  /** The certificate's PEM text. */
  cert: string;
}

/** Writes a fresh pair into `dir` as `<name>.cert.pem` and `<name>.key.pem` (0600). */
export async function writePairFiles(dir: string, name: string): Promise<PairFiles> {
  const p = await makePair();
  const cert = path.join(dir, `${name}.cert.pem`);
  const key = path.join(dir, `${name}.key.pem`);
  await fs.promises.writeFile(cert, p.cert);
  await fs.promises.writeFile(key, p.key, { mode: 0o600 });
  return { args: ['--cert', cert, '--key', key], cert: p.cert.toString() };
}
