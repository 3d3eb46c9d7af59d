// /healthz says the process is alive; /readyz says whether it can serve: the store answers and is
// migrated (503 envelope otherwise), with Redis reported as degraded, never as down.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer as startNode } from '../../src/serve.js';
import { cleanupDirs, dataDir } from '../cli/harness.js';
import { send } from '../helpers.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../services.js';

const key = 'tsk_readiness_key_of_32_chars_or_more';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => cleanupDirs());

async function node(options: { databaseUrl?: string; redisUrl?: string } = {}): Promise<RunningServer & { base: string }> {
  const server = await startNode({ port: 0, host: '127.0.0.1', dataDir: dataDir(), apiKey: key, logLevel: 'silent', ...options });
  cleanups.push(() => server.close());
  return Object.assign(server, { base: server.url.replace('localhost', '127.0.0.1') });
}

async function postgres(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  return database;
}

function expectNotReady(answer: Awaited<ReturnType<typeof send>>): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.body.error).toBe('service_unavailable');
  expect(answer.body.details).toContainEqual(expect.objectContaining({ check: 'store', status: 'down' }));
  expect(answer.body.retry_after).toBeGreaterThan(0);
  expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
}

describe.each(['sqlite', 'postgres'] as const)('health and readiness on %s', (storeKind) => {
  const start = async (extra: { redisUrl?: string } = {}) => {
    const database = storeKind === 'postgres' ? await postgres() : undefined;
    return { server: await node({ ...(database ? { databaseUrl: database.url } : {}), ...extra }), database };
  };

  it('/readyz is 200 with its checks while the store answers', async () => {
    const { server } = await start();
    const ready = await send(`${server.base}/readyz`);
    expect(ready.status, ready.text).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { store: 'ok', migrations: 'ok', redis: 'off' } });
    expect((await send(`${server.base}/healthz`)).body).toMatchObject({ status: 'ok' });
  });

  it('/readyz is a 503 envelope when the store is gone; /healthz stays 200 (the process is alive)', async () => {
    const { server, database } = await start();
    if (database) await database.drop();
    else await server.tessera.store.close();
    expectNotReady(await send(`${server.base}/readyz`));
    const alive = await send(`${server.base}/healthz`);
    expect(alive.status, alive.text).toBe(200);
    expect(alive.body.status).toBe('ok');
  });

  it('Redis: ok when connected; unreachable, degraded and still ready', async () => {
    const { server } = await start({ redisUrl });
    await expect.poll(async () => (await send(`${server.base}/readyz`)).body?.checks?.redis, { timeout: 5_000 }).toBe('ok');
    const { server: cut } = await start({ redisUrl: 'redis://127.0.0.1:1' });
    const degraded = await send(`${cut.base}/readyz`);
    expect(degraded.status, degraded.text).toBe(200);
    expect(degraded.body.checks).toEqual({ store: 'ok', migrations: 'ok', redis: 'degraded' });
  });
});
