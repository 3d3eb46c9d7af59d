// The packages as a stranger gets them: every public workspace packed, linted (publint, attw) and
// installed into an empty project outside this repository, where the README's first run is replayed.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWorkspaces } from '../../../scripts/release-files.js';
import { testPort } from '../../server/test/ports.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  types?: string;
  sideEffects?: unknown;
  repository?: { url?: string; directory?: string };
  engines?: { node?: string };
  scripts?: Record<string, string>;
  exports?: Record<string, Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface Packed {
  dir: string;
  manifest: Manifest;
  tarball: string;
  entries: string[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

// npm's own variables from `npm test` (workspace, prefix, …) must not steer the stranger's npm.
const strangerEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'))),
  ...extra,
});

const work = mkdtempSync(join(tmpdir(), 'tessera-tarballs-'));
const project = join(work, 'my-app');
const packed: Packed[] = [];
const apiKey = `tsk_tarball_${'k'.repeat(40)}`;
let server: ChildProcess | undefined;
let serverOutput = '';
let tessera = '';

/** The code block that follows `<!-- first-run: NAME -->` in the root README. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- first-run: ${name} -->`);
  if (at < 0) throw new Error(`README.md has no first-run block ${name}`);
  const match = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`README.md's first-run block ${name} has no code`);
  return match[1]!;
}

/**
 * No prebuilt better-sqlite3 can be downloaded here and building one from source takes minutes, so
 * prebuild-install is offered this repository's own compiled binary as a local prebuild (only when
 * the version matches; otherwise it builds from source as a stranger's machine would).
 */
async function offerLocalPrebuild(): Promise<Record<string, string>> {
  const installed = join(root, 'node_modules/better-sqlite3');
  const binary = join(installed, 'build/Release/better_sqlite3.node');
  if (!existsSync(binary)) return {};
  const { version } = readJson<{ version: string }>(join(installed, 'package.json'));
  const prebuilds = join(work, 'prebuilds');
  mkdirSync(prebuilds, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await run('tar', ['czf', join(prebuilds, name), '-C', installed, 'build/Release/better_sqlite3.node']);
  return { npm_config_better_sqlite3_local_prebuilds: prebuilds };
}

async function healthz(): Promise<number> {
  try {
    return (await fetch(`${tessera}/healthz`)).status;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const { dir, manifest } of readWorkspaces(root)) {
    if (manifest.private) continue;
    // `npm pack` runs the package's prepack (its build), as `npm publish` would.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tarballs], { cwd: dir });
    const [info] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as [{ filename: string; files: { path: string }[] }];
    packed.push({ dir, manifest: manifest as unknown as Manifest, tarball: join(tarballs, info.filename), entries: info.files.map((file) => file.path) });
  }

  // The README's first run, on the tarballs instead of the registry's versions.
  mkdirSync(project);
  await run('npm', ['init', '-y'], { cwd: project, env: strangerEnv() });
  await run('npm', ['pkg', 'set', 'type=module'], { cwd: project, env: strangerEnv() });
  await run('npm', ['install', '--no-audit', '--no-fund', ...packed.map((p) => p.tarball), 'react', 'typescript', '@types/react'], {
    cwd: project,
    env: strangerEnv(await offerLocalPrebuild()),
    maxBuffer: 16 * 1024 * 1024,
  });
  writeFileSync(join(project, 'tessera.json'), '{ "flows": { "first-run": { "access_token_ttl": 5 } } }\n');
  const port = await testPort();
  tessera = `http://127.0.0.1:${port}`;
  server = spawn(
    'npx',
    ['@tessera/server', 'serve', '--config', 'tessera.json', '--data', './.tessera', '--port', String(port), '--host', '127.0.0.1', '--issuer', tessera],
    {
      cwd: project,
      env: strangerEnv({ TESSERA_API_KEY: apiKey }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  server.stdout!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString()));
  const until = Date.now() + 30_000;
  while ((await healthz()) !== 200) {
    if (Date.now() > until || server.exitCode !== null) throw new Error(`npx @tessera/server serve did not answer /healthz:\n${serverOutput}`);
    await new Promise((wait) => setTimeout(wait, 200));
  }
}, 240_000);

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((done) => server!.once('exit', done));
    process.kill(-server.pid, 'SIGTERM'); // npx and the server it started: one process group
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('packs every public workspace, each with what it needs', () => {
    const names = packed.map((p) => p.manifest.name);
    expect(names).toEqual(expect.arrayContaining(['@tessera/server', '@tessera/client', '@tessera/react']));
    expect(names).not.toContain('@tessera/example');
    const versions = new Map(packed.map((p) => [p.manifest.name, p.manifest.version]));
    for (const { manifest, entries, dir } of packed) {
      const where = relative(root, dir);
      expect(manifest.scripts?.['prepack'], `${where}: prepack builds`).toBeDefined();
      expect(manifest.license, where).toBe('MIT');
      expect(entries, `${where}: LICENSE`).toContain('LICENSE');
      expect(entries, `${where}: README`).toContain('README.md');
      expect(manifest.repository?.directory, where).toBe(where);
      expect(manifest.engines?.node, where).toBeDefined();
      expect(manifest.sideEffects, where).toBeDefined();
      expect(manifest.types && entries.includes(manifest.types.replace(/^\.\//, '')), `${where}: top-level types`).toBe(true);
      for (const [subpath, conditions] of Object.entries(manifest.exports ?? {})) {
        expect(Object.keys(conditions)[0], `${where} ${subpath}: types first`).toBe('types');
        for (const target of Object.values(conditions)) expect(entries, `${where} ${subpath}`).toContain(target.replace(/^\.\//, ''));
      }
      // Internal dependencies: a real range that the version packed beside it satisfies.
      for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
        if (!versions.has(name)) continue;
        expect(range, `${where} → ${name}`).toBe(`^${versions.get(name)}`);
      }
      // A source map ships with the sources it points at, or not at all.
      for (const map of entries.filter((entry) => entry.endsWith('.map'))) {
        const { sources } = readJson<{ sources: string[] }>(join(dir, map));
        for (const source of sources) expect(entries, `${where}/${map}`).toContain(join(dirname(map), source));
      }
    }
  });

  it('passes publint (strict) and attw (ESM only)', async () => {
    for (const { tarball } of packed) {
      await run(join(root, 'node_modules/.bin/publint'), ['--strict', tarball], { cwd: root });
      await run(join(root, 'node_modules/.bin/attw'), ['--profile', 'esm-only', '--no-color', tarball], { cwd: root });
    }
  }, 120_000);
});

describe('a project outside the repository, on the tarballs', () => {
  it('runs the server with npx @tessera/server on the embedded store', async () => {
    expect(relative(root, project).startsWith('..')).toBe(true);
    expect(await healthz()).toBe(200);
    expect(existsSync(join(project, '.tessera'))).toBe(true);
  });

  it('creates a session, refreshes it with @tessera/client and verifies its token with @tessera/server/verifier', async () => {
    writeFileSync(join(project, 'first-session.mjs'), readmeBlock('first-session.mjs'));
    writeFileSync(join(project, 'verify.mjs'), readmeBlock('verify.mjs'));
    const env = strangerEnv({ TESSERA_URL: tessera, TESSERA_API_KEY: apiKey });
    const session = await run('node', ['first-session.mjs'], { cwd: project, env, timeout: 30_000 });
    const token = session.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const verified = await run('node', ['verify.mjs', token], { cwd: project, env, timeout: 30_000 });
    expect(verified.stdout).toMatch(/^session \S+ of alice, flow first-run, valid until /);
  }, 60_000);

  it('typechecks a TSX file that uses @tessera/react', async () => {
    writeFileSync(join(project, 'App.tsx'), readmeBlock('App.tsx'));
    const args = [
      'tsc',
      '--noEmit',
      '--strict',
      '--jsx',
      'react-jsx',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--lib',
      'es2022,dom',
      'App.tsx',
    ];
    await expect(run('npx', args, { cwd: project, env: strangerEnv() })).resolves.toBeDefined();
  }, 60_000);
});
