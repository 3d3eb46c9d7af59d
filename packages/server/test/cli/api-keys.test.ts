import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';
import { cleanupDirs, dataDir, eventually, killAll, runTessera, type ServeHandle, serve, stop } from './harness.js';
import { runInProcess } from './in-process.js';

/** `tessera api-keys …` and `--api-key` on real processes, on SQLite and on PostgreSQL. */
const loopback = ['--port', '0', '--host', '127.0.0.1'];
const firstKey = 'tsk_first_operator_key_0123456789abcdef';
const secondKey = 'tsk_second_operator_key_0123456789abcdef';

const canManage = async (node: ServeHandle, key: string) => (await call(`${node.url}/v1/users/alice/sessions`, { token: key })).status === 200;

const stores = [
  { store: 'SQLite', args: (data: string) => ['--data', data] },
  { store: 'PostgreSQL', args: () => ['--database-url', database.url] },
];

let database: TestDatabase;
/** A node on each store for its `tessera api-keys` test, started together before any test. */
const nodes = new Map<string, { node: ServeHandle; data: string }>();
beforeAll(async () => {
  database = await createTestDatabase();
  await Promise.all(
    stores.map(async ({ store, args }) => {
      const data = dataDir();
      nodes.set(store, { data, node: await serve([...loopback, ...args(data), '--api-key', firstKey], {}, 30_000) });
    }),
  );
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
  await database?.drop();
});

// Each test has a data folder (or node) of its own: they run side by side.
describe.concurrent('--api-key and TESSERA_API_KEY', () => {
  it.each([
    ['--api-key', (data: string) => runTessera(['serve', ...loopback, '--data', data, '--api-key', 'x'])],
    // The same refusal, in this process (in-process.ts).
    ['TESSERA_API_KEY', (data: string) => runInProcess(['serve', ...loopback, '--data', data], { TESSERA_API_KEY: 'tsk_short' })],
  ])('refuses a key under 32 characters given with %s: one line, exit 2', async (_how, start) => {
    const result = await start(dataDir());
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^tessera: .*at least 32/);
  });

  it('accepts only the key given now: a key given on an earlier start no longer works', async () => {
    const data = dataDir();
    const first = await serve([...loopback, '--data', data, '--api-key', firstKey]);
    expect(await canManage(first, firstKey)).toBe(true);
    await stop(first);

    const second = await serve([...loopback, '--data', data, '--api-key', secondKey]);
    expect(await canManage(second, secondKey)).toBe(true);
    expect(await canManage(second, firstKey)).toBe(false);
    await stop(second);

    // Given no longer at all: it stops working, and a key is generated as on a first start.
    const third = await serve([...loopback, '--data', data]);
    expect(await canManage(third, secondKey)).toBe(false);
    expect(third.generatedKey).toBeDefined();
    expect(await canManage(third, third.generatedKey!)).toBe(true);
    await stop(third);
  });
});

describe.each(stores)('tessera api-keys on $store', ({ store, args }) => {
  it('creates a named key shown once, lists it without the key, and revokes it on a running node within 1 s', async () => {
    const { node, data } = nodes.get(store)!;

    const created = await runTessera(['api-keys', 'create', '--name', 'backend', ...args(data)], {}, 30_000);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.match(/^\s+(tsk_[A-Za-z0-9_-]{40,})\s*$/m)?.[1];
    expect(key).toBeDefined();
    await eventually(() => canManage(node, key!), 1_000);

    const listing = runTessera(['api-keys', 'list', ...args(data)], {}, 30_000);
    // The refusals in this process (in-process.ts), while the listing runs.
    const taken = await runInProcess(['api-keys', 'create', '--name', 'backend', ...args(data)]);
    const listed = await listing;
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^backend\s+created\s+\d{4}-/m);
    expect(listed.stdout).toMatch(/^supplied\s+supplied\s+/m);
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain(firstKey);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('already named backend');

    const revoked = await runTessera(['api-keys', 'revoke', 'backend', ...args(data)], {}, 30_000);
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = Date.now();
    await eventually(async () => !(await canManage(node, key!)), 2_000, 20);
    // Measured from the CLI's exit, which is after its commit.
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect(await canManage(node, firstKey)).toBe(true);

    const listingAll = runTessera(['api-keys', 'list', '--all', ...args(data)], {}, 30_000);
    const again = await runInProcess(['api-keys', 'revoke', 'backend', ...args(data)]);
    const all = await listingAll;
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no live API key is named backend');
    expect(all.stdout).toMatch(/^backend\s+created\s+\S+\s+\S+\s+\d{4}-/m);
    await stop(node);
  }, 120_000);
});
