#!/usr/bin/env node
// npm pack's prepack and postpack: the files a tarball needs at its root that the repository keeps
// elsewhere. The repository's top level is fixed, so the MIT text lives in docs/LICENSE; npm looks
// for LICENSE at the package root, so prepack copies it there and postpack removes the copy
// (LICENSE is in .gitignore in case a pack is interrupted between the two).
//   node scripts/pack-files.mjs prepack|postpack
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (rel) => path.join(root, rel);

/** What the package cannot work without that `npm run build` makes: packing without it ships a dead package. */
const BUILT = ['dist/index.js', 'dist/index.d.ts', 'dist/cli/certswap.cjs'];

const step = process.argv[2];
if (step === 'prepack') {
  const missing = BUILT.filter((f) => !fs.existsSync(at(f)));
  if (missing.length > 0) {
    console.error(`pack-files: ${missing.join(', ')} missing: run npm run build first`);
    process.exit(1);
  }
  fs.copyFileSync(at('docs/LICENSE'), at('LICENSE'));
} else if (step === 'postpack') {
  fs.rmSync(at('LICENSE'), { force: true });
} else {
  console.error('usage: node scripts/pack-files.mjs prepack|postpack');
  process.exit(2);
}
