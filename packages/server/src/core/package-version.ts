import { readFileSync } from 'node:fs';
import { packageRoot } from './package-root.js';

/** This package's version, from its `package.json` (in `src/`, `dist/` and the bundled CLI alike). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', packageRoot()), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
