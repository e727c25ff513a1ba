#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js and the library modules it imports) into one CommonJS file,
// dist/cli/certswap.cjs, the `certswap` executable. Why: on Node 20 the ESM loader costs about
// 1 ms per module to resolve and link; the CLI's ~30 modules made `certswap status` 1.6x the
// start-up of `node -e 0`, the single CommonJS file 1.3x (npm run bench, section 4). Packages
// from node_modules stay external (fs-ext is a native addon; pino and @peculiar/x509 are loaded
// lazily, only by the commands that need them).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/certswap.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  // import.meta does not exist in CommonJS; the modules use it only for createRequire, for which
  // the bundle's own URL (it sits where main.js does) resolves the same paths.
  define: { 'import.meta.url': '__certswapModuleUrl' },
  banner: { js: "const __certswapModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
