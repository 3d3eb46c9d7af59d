// The file changes of a release: every workspace's version and internal ranges, and the changelog.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Workspace {
  readonly dir: string;
  readonly manifest: Record<string, unknown> & { name: string; version: string; private?: boolean };
}

const semver = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const dependencyFields = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** The workspace folders the root package.json names (`dir/*` globs and plain folders). */
export function readWorkspaces(root: string): Workspace[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return workspaces
    .flatMap((pattern) =>
      pattern.endsWith('/*') ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => join(root, pattern.slice(0, -2), name)) : [join(root, pattern)],
    )
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Workspace['manifest'] }));
}

/** Negative, zero or positive as `a` sorts before, with or after `b` (semver precedence, no build metadata). */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [semver.exec(a), semver.exec(b)];
  if (!x || !y) throw new Error(`not a semantic version: ${x ? b : a}`);
  for (const i of [1, 2, 3]) {
    const difference = Number(x[i]) - Number(y[i]);
    if (difference !== 0) return difference;
  }
  // A pre-release comes before its release; pre-releases compare field by field.
  if (x[4] === undefined || y[4] === undefined) return (x[4] === undefined ? 1 : 0) - (y[4] === undefined ? 1 : 0);
  const [p, q] = [x[4].split('.'), y[4].split('.')];
  for (let i = 0; i < Math.max(p.length, q.length); i++) {
    if (p[i] === undefined || q[i] === undefined) return p[i] === undefined ? -1 : 1;
    const numeric = /^\d+$/.test(p[i]!) && /^\d+$/.test(q[i]!);
    const difference = numeric ? Number(p[i]) - Number(q[i]) : p[i]!.localeCompare(q[i]!);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The changelog with its Unreleased entries moved under `## [version] - date`, a new empty Unreleased above. */
export function moveUnreleased(changelog: string, version: string, date: string): string {
  const heading = '## [Unreleased]\n';
  const start = changelog.indexOf(heading);
  if (start < 0) throw new Error('CHANGELOG.md has no "## [Unreleased]" section');
  const bodyStart = start + heading.length;
  const next = changelog.indexOf('\n## [', bodyStart);
  const body = changelog.slice(bodyStart, next < 0 ? undefined : next + 1);
  if (body.trim() === '') throw new Error('CHANGELOG.md has nothing under "## [Unreleased]": say what this release changes');
  return `${changelog.slice(0, bodyStart)}\n## [${version}] - ${date}\n${body}${next < 0 ? '' : changelog.slice(next + 1)}`;
}

export interface ReleaseOptions {
  readonly root: string;
  readonly version: string;
  /** YYYY-MM-DD, the changelog's release date. */
  readonly date: string;
}

/** Writes the release's versions, internal ranges and changelog; throws before writing anything if it cannot. */
export function prepareRelease({ root, version, date }: ReleaseOptions): Workspace[] {
  if (!semver.test(version)) throw new Error(`not a semantic version (MAJOR.MINOR.PATCH[-pre]): ${version}`);
  const workspaces = readWorkspaces(root);
  const current = workspaces.map((w) => w.manifest.version).reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
  if (compareVersions(version, current) <= 0) throw new Error(`${version} is not above the current version ${current}`);
  const changelogPath = join(root, 'CHANGELOG.md');
  const changelog = moveUnreleased(readFileSync(changelogPath, 'utf8'), version, date);

  const internal = new Set(workspaces.map((w) => w.manifest.name));
  for (const { dir, manifest } of workspaces) {
    manifest.version = version;
    for (const field of dependencyFields) {
      const dependencies = manifest[field] as Record<string, string> | undefined;
      for (const name of Object.keys(dependencies ?? {})) if (internal.has(name)) dependencies![name] = `^${version}`;
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  }
  writeFileSync(changelogPath, changelog);
  return workspaces;
}
