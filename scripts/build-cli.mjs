#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js and the library modules it imports) into one CommonJS file,
// dist/cli/certswap.cjs, the `certswap` executable. Why: on Node 20 the ESM loader resolves and
// links each module separately, and the CLI imports some 50; one CommonJS file starts measurably
// faster (docs/performance.md, start-up). Packages
// from node_modules stay external, resolved at run time from the installed package's node_modules:
// fs-native-extensions loads a prebuilt native addon relative to its own files; pino and
// @peculiar/x509 are loaded lazily, only by the commands that need them.
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
