import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const readJson = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8')) as Record<string, any>;

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly link?: boolean;
  readonly engines?: { readonly node?: string };
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

const lock = readJson('package-lock.json') as { packages: Record<string, LockEntry> };
const entries = Object.entries(lock.packages).filter(([path]) => path !== '');

/** Where Node would find `name` from the package at `from`: its own node_modules, then each parent's. */
function resolveInLock(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

describe('an honest platform', () => {
  it('every locked dependency supports the oldest Node versions the engines fields declare, and this one (no EBADENGINE)', () => {
    const developing = readJson('package.json').engines.node as string;
    const running = readJson('packages/server/package.json').engines.node as string;
    // The lowest version of each `||` part: `^20.19.0 || ^22.13.0 || >=24.0.0` is 20.19.0, 22.13.0 and 24.0.0.
    const oldest = (range: string) => range.split('||').map((part) => semver.minVersion(part)!.version);
    const refused: string[] = [];
    for (const [path, entry] of entries) {
      const needs = entry.engines?.node;
      // Optional platform builds (one per OS and CPU) follow the package that pulls them in, checked itself.
      if (!needs || entry.optional) continue;
      // The repository's range covers everything installed here; a published package's covers what it pulls in.
      for (const node of [...oldest(developing), process.versions.node]) {
        if (!semver.satisfies(node, needs)) refused.push(`${path}@${entry.version} needs ${needs}, not Node ${node} (the repository: ${developing})`);
      }
      for (const node of entry.dev ? [] : oldest(running)) {
        if (!semver.satisfies(node, needs)) refused.push(`${path}@${entry.version} needs ${needs}, not Node ${node} (@tessera/server: ${running})`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('the lockfile names every optional platform package, so npm install on any machine leaves it as it is', () => {
    const missing: string[] = [];
    for (const [path, entry] of entries) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) if (!resolveInLock(path, name)) missing.push(`${path} -> ${name}`);
    }
    expect(missing).toEqual([]);
  });
});
