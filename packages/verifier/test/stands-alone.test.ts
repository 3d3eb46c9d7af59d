import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');

/** Every module specifier a source file imports at runtime (type-only imports are erased). */
function runtimeImports(source: string): string[] {
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^\s*(import|export)\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)) specifiers.push(match[2]!);
  for (const match of source.matchAll(/^\s*import\s+'([^']+)'/gm)) specifiers.push(match[1]!);
  return specifiers;
}

describe('@tessera/verifier stands alone', () => {
  it('depends on jose alone at runtime; frameworks are optional peers', () => {
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(manifest.name).toBe('@tessera/verifier');
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['jose']);
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) expect(manifest.peerDependenciesMeta?.[peer]).toEqual({ optional: true });
  });

  it('imports nothing but jose, Node built-ins and its own files', () => {
    const sourceDir = join(packageDir, 'src');
    const files = readdirSync(sourceDir).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    const builtins = new Set(builtinModules.map((name) => `node:${name}`));
    for (const file of files) {
      for (const specifier of runtimeImports(readFileSync(join(sourceDir, file), 'utf8'))) {
        const allowed = specifier === 'jose' || builtins.has(specifier) || specifier.startsWith('./');
        expect(allowed, `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it('is what @tessera/server/verifier and @tessera/server export: one TesseraError, one catalogue', async () => {
    const alone = await import('@tessera/verifier');
    const throughServer = await import('@tessera/server/verifier');
    const server = await import('@tessera/server');
    expect(throughServer.createVerifier).toBe(alone.createVerifier);
    expect(throughServer.tesseraFastify).toBe(alone.tesseraFastify);
    expect(throughServer.tesseraExpress).toBe(alone.tesseraExpress);
    expect(throughServer.TesseraError).toBe(alone.TesseraError);
    expect(throughServer.MemoryDpopReplayCache).toBe(alone.MemoryDpopReplayCache);
    expect(server.TesseraError).toBe(alone.TesseraError);
    expect(server.errorCatalogue).toBe((await import('@tessera/verifier/core')).errorCatalogue);
  });
});
