// Bundles the compiled CLI (dist/cli/main.js, from `tsc -b`) with its dependencies into one file,
// dist/cli/tessera.js, which bin/tessera.js runs. Node spends most of a CLI start resolving and
// compiling a few hundred module files; one file starts in about a third of the CPU time
// (`tessera --version` 1.35 → 0.46 CPU-seconds here). The library (dist/index.js) is not bundled.
//
// Kept outside: better-sqlite3 (a native addon, found on disk by its own loader) and pg-native (an
// optional addon pg loads only when asked). CommonJS dependencies get a `require` from createRequire.
import { build } from 'esbuild';

const packageDir = new URL('..', import.meta.url);

await build({
  entryPoints: [new URL('dist/cli/main.js', packageDir).pathname],
  outfile: new URL('dist/cli/tessera.js', packageDir).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'pg-native'],
  banner: { js: "import { createRequire as __tesseraCreateRequire } from 'node:module'; const require = __tesseraCreateRequire(import.meta.url);" },
  // Readable stack traces for a bug report: names and lines as written.
  minify: false,
  legalComments: 'eof',
  logLevel: 'warning',
});
