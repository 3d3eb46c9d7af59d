import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * The folder of `@tessera/server`'s package.json, as a URL ending in `/`, found by walking up from
 * this module: the same answer from `src/` (tests), `dist/` (the library) and the bundled CLI
 * (`dist/cli/tessera.js`), which sit at different depths. Read once.
 */
export function packageRoot(): URL {
  root ??= findPackageRoot(new URL('.', import.meta.url));
  return root;
}

let root: URL | undefined;

function findPackageRoot(start: URL): URL {
  for (let dir = start; ; dir = new URL('..', dir)) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown };
      if (manifest.name === '@tessera/server') return dir;
    } catch {
      // No manifest here, or not JSON: keep going up.
    }
    if (new URL('..', dir).href === dir.href) return pathToFileURL(`${process.cwd()}/`);
  }
}
