/** The pair every measurement installs, written to files (the CLI and the C floor read files). */
import fs from 'node:fs';
import path from 'node:path';
import { GenerationStore, validatePair, type PairInput } from '../dist/index.js';
import { makePair } from '../test/helpers/certs.js';

export interface BenchPair {
  input: PairInput;
  files: { cert: string; key: string; ca: string; meta: string };
}

export async function benchPair(dir: string, name: string): Promise<BenchPair> {
  const p = await makePair({ name: `bench-${name}` });
  const base = path.join(dir, `pair-${name}`);
  fs.mkdirSync(base, { recursive: true });
  const files = {
    cert: path.join(base, 'cert.pem'),
    key: path.join(base, 'key.pem'),
    ca: path.join(base, 'ca.pem'),
    meta: path.join(base, 'meta.json'),
  };
  fs.writeFileSync(files.cert, p.cert);
  fs.writeFileSync(files.key, p.key, { mode: 0o600 });
  fs.writeFileSync(files.ca, p.ca);
  // The floor writes a .meta.json of the same size as the library's.
  fs.writeFileSync(files.meta, JSON.stringify(validatePair({ cert: p.cert, key: p.key, ca: p.ca }).info));
  return { input: { cert: p.cert, key: p.key, ca: p.ca }, files };
}

/** A store at `dir` with generations 1 and 2 installed; 2 is active, 1 its rollback target. */
export async function storeWithTwo(dir: string, a: BenchPair, b: BenchPair): Promise<GenerationStore> {
  const store = await GenerationStore.open(dir);
  await store.install(a.input);
  await store.install(b.input);
  return store;
}
