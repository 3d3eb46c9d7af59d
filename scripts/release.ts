// `npm run release -- <version>`: versions and internal ranges, changelog, lockfile, tarballs, tarball test.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareRelease, type Workspace } from './release-files.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const version = process.argv[2];
const run = (command: string, args: string[], cwd = root) => execFileSync(command, args, { cwd, stdio: 'inherit' });

if (!version || process.argv.length > 3) {
  process.stderr.write('usage: npm run release -- <version>   (MAJOR.MINOR.PATCH[-pre], above the current one)\n');
  process.exit(2);
}
let workspaces: Workspace[];
try {
  workspaces = prepareRelease({ root, version, date: new Date().toISOString().slice(0, 10) });
} catch (error) {
  process.stderr.write(`release: ${(error as Error).message}\n`);
  process.exit(2);
}
console.log(`versions, internal ranges and CHANGELOG.md set to ${version}`);
// The lockfile records each workspace's version and ranges.
run('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund']);
const out = join(root, 'release', version);
mkdirSync(out, { recursive: true });
for (const { dir, manifest } of workspaces) {
  if (!manifest.private) run('npm', ['pack', '--pack-destination', out], dir); // prepack builds
}
// The same tarballs as a stranger installs them: outside the repository, with the README's first run.
run('npx', ['vitest', 'run', '--config', 'vitest.dist.config.ts', 'packages/example/test/tarballs.test.ts']);
console.log(`
Release ${version} is ready in ${relative(root, out)}/. Then:
  git commit -am "Release ${version}" && git tag v${version}
  for t in ${relative(root, out)}/*.tgz; do npm publish "$t" --access public; done`);
