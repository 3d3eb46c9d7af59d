// `npm run release -- <version>`'s file changes, on a throwaway copy of the repository's shape.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareRelease } from '../../../scripts/release-files.js';

let root: string;

const write = (path: string, value: unknown) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
};
const manifest = (path: string) => JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8'));

const changelog = `# Changelog

All notable changes to this project are documented here.

## [Unreleased]

### Added
- A tarball test.

## [0.1.0] - 2026-11-01

### Added
- Sessions.
`;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tessera-release-'));
  write('package.json', { name: 'tessera', private: true, workspaces: ['packages/*'], dependencies: { '@tessera/server': '*' } });
  write('packages/client/package.json', { name: '@tessera/client', version: '0.1.0' });
  write('packages/react/package.json', {
    name: '@tessera/react',
    version: '0.1.0',
    dependencies: { '@tessera/client': '^0.1.0' },
    peerDependencies: { react: '>=18' },
  });
  write('packages/example/package.json', {
    name: '@tessera/example',
    version: '0.1.0',
    private: true,
    dependencies: { '@tessera/react': '*', fastify: '^5.0.0' },
    devDependencies: { '@tessera/client': '^0.1.0' },
  });
  write('CHANGELOG.md', changelog);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('prepareRelease', () => {
  it('sets every workspace version and internal range, and moves Unreleased under the version', () => {
    prepareRelease({ root, version: '0.2.0', date: '2026-12-01' });
    expect(manifest('packages/client').version).toBe('0.2.0');
    expect(manifest('packages/react')).toMatchObject({ version: '0.2.0', dependencies: { '@tessera/client': '^0.2.0' }, peerDependencies: { react: '>=18' } });
    expect(manifest('packages/example')).toMatchObject({
      version: '0.2.0',
      dependencies: { '@tessera/react': '^0.2.0', fastify: '^5.0.0' },
      devDependencies: { '@tessera/client': '^0.2.0' },
    });
    const log = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
    expect(log).toContain('## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n\n### Added\n- A tarball test.\n\n## [0.1.0] - 2026-11-01');
  });

  it('refuses a version that is not semantic, or not above the current one, and changes nothing', () => {
    for (const version of ['1.2', 'v0.2.0', '0.2.0.1', '0.1.0', '0.0.9']) {
      expect(() => prepareRelease({ root, version, date: '2026-12-01' })).toThrow();
    }
    expect(manifest('packages/client').version).toBe('0.1.0');
    expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).toBe(changelog);
  });

  it('refuses a release with nothing under Unreleased', () => {
    write('CHANGELOG.md', changelog.replace('### Added\n- A tarball test.\n\n', ''));
    expect(() => prepareRelease({ root, version: '0.2.0', date: '2026-12-01' })).toThrow(/Unreleased/);
    expect(manifest('packages/react').version).toBe('0.1.0');
  });

  it('takes a pre-release above the current version', () => {
    prepareRelease({ root, version: '0.2.0-rc.1', date: '2026-12-01' });
    expect(manifest('packages/react').dependencies['@tessera/client']).toBe('^0.2.0-rc.1');
  });
});
