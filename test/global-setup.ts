// Before any test: bring every package's dist/ up to date, since tests spawn the built CLI and import
// packages by name (which resolve to dist/). Incremental: with nothing changed it only checks stamps.
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export default function buildPackages(): void {
  const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'packages/verifier', 'packages/server', 'packages/client', 'packages/react'], {
    cwd: root,
    stdio: 'inherit',
  });
  // The CLI's bundle, from what tsc just wrote (under a second): the tests spawn the bin, which runs it.
  execFileSync(process.execPath, [resolve(root, 'packages/server/scripts/bundle-cli.js')], { cwd: root, stdio: 'inherit' });
}
