import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The server's and the verifier's test files share their fork's loaded modules (vitest.config.ts): a
// module mock would apply only where its file happened to load the module first, and leak into the
// files after it. What a test needs to swap goes in through an option instead (`deferTurn`, `clock`).
const root = fileURLToPath(new URL('../../..', import.meta.url));
const shared = ['packages/server/test', 'packages/verifier/test'];

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('test files that share loaded modules', () => {
  it('mock no module', () => {
    const files = shared.flatMap((dir) => sourcesUnder(join(root, dir)));
    expect(files.length).toBeGreaterThan(50);
    const mocking = files.filter((file) => /\bvi\s*\.\s*(?:do)?[mM]ock\s*\(|\bvi\s*\.\s*resetModules\s*\(/.test(readFileSync(file, 'utf8')));
    expect(mocking.map((file) => relative(root, file))).toEqual([]);
  });
});
