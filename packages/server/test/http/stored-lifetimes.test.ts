// Sessions stored before lifetimes were bounded (a flow of ~8.7e12 s): their end is past what a Date
// can show. The config now refuses such flows; rows already stored must not turn the user's
// listing, the session view or revoke-all into a 500, on either store.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import type { SessionStore } from '../../src/core/store.js';
import { buildApp } from '../../src/http/app.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTessera } from '../../src/tessera.js';
import { call, startServer, storedSession, testApiKey } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';

const start = Date.UTC(2026, 0, 1, 9, 0, 0);
/** The latest instant a Date can show: 8.64e15 ms after 1970 (ECMA-262 §21.4.1.1). */
const latestDate = '+275760-09-13T00:00:00.000Z';

interface RunningServer {
  url: string;
  store: SessionStore;
  close(): Promise<void>;
}

async function startSqliteServer(): Promise<RunningServer> {
  const server = await startServer({ clock: new ManualClock(start) });
  return { url: server.url, store: server.store, close: () => server.close() };
}

let database: TestDatabase | undefined;

async function startPostgresServer(): Promise<RunningServer> {
  database ??= await createTestDatabase();
  const store = await PostgresSessionStore.open({ connectionString: database.url });
  const tessera = await createTessera({ store, clock: new ManualClock(start), config: parseConfig({}), apiKey: testApiKey, issuer: 'http://tessera.test' });
  const app = await buildApp(tessera);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    async close() {
      await app.close();
      await tessera.close();
    },
  };
}

afterAll(async () => {
  await database?.drop();
});

describe.each([
  ['SQLite', startSqliteServer],
  ['PostgreSQL', startPostgresServer],
])('a session stored with an end past what a Date can show, on %s', (_store, startNode) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startNode();
  });
  afterEach(async () => server?.close());

  it('is listed, shown and revoked, its end shown as the latest date', async () => {
    const userId = `far-${Math.random().toString(36).slice(2, 10)}`;
    const id = `ses_far${Math.random().toString(36).slice(2, 10)}`;
    // What absolute_lifetime 8.7e12 s stored: created now, ending 8.7e15 ms later.
    const session = storedSession(id, start, { userId, expiresAt: start + 8.7e15 });
    await server.store.createSession(session, { hash: `hash-${id}`, sessionId: id, issuedAt: start, spentAt: null, sealedSuccessor: null });
    const manage = (path: string, method = 'GET') => call(`${server.url}${path}`, { method, token: testApiKey });

    const listed = await manage(`/v1/users/${userId}/sessions`);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.sessions).toHaveLength(1);
    expect(listed.body.sessions[0]).toMatchObject({ id, status: 'active', expires_at: latestDate });
    const all = await manage(`/v1/users/${userId}/sessions?status=all`);
    expect(all.status, all.text).toBe(200);
    const one = await manage(`/v1/sessions/${id}`);
    expect(one.status, one.text).toBe(200);
    expect(one.body.expires_at).toBe(latestDate);
    const revoked = await manage(`/v1/users/${userId}/sessions`, 'DELETE');
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.revoked).toBe(1);
  });
});
