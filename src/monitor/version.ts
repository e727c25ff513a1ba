/**
 * certswap's version for certswap_build_info. Found by walking up from this module to the
 * package.json named certswap: the module sits at a different depth in src/, dist/ and the
 * bundled CLI (dist/cli/certswap.cjs), and a fixed relative path is right in only some of them.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  const require = createRequire(import.meta.url);
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      // Through the module loader, as cli/run.ts reads it: package metadata, not a store file.
      const pkg = require(path.join(dir, 'package.json')) as { name?: string; version?: string };
      if (pkg.name === 'certswap' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or not ours): look one level up.
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= find();
  return cached;
}
