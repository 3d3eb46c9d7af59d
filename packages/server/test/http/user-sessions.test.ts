// GET /v1/users/:user_id/sessions, a page at a time: cursors, filters and true totals, over a real
// HTTP server on both stores (SQLite file and PostgreSQL).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { encodeCursor } from '../../src/core/page-cursor.js';
import { buildApp } from '../../src/http/app.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import type { Tessera } from '../../src/tessera.js';
import { createTessera } from '../../src/tessera.js';
import { type Answer, call, startServer, testApiKey } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';

const start = Date.UTC(2026, 0, 1, 9, 0, 0);
/** Next to the default flows (`verification` ends after 15 minutes): one that ends after ten idle minutes. */
const config = { flows: { idle: { access_token_ttl: 60, idle_timeout: 600, absolute_lifetime: 86_400, reuse_interval: 10 } } };

interface RunningServer {
  url: string;
  clock: ManualClock;
  tessera: Tessera;
  close(): Promise<void>;
}

async function startSqliteServer(): Promise<RunningServer> {
  const clock = new ManualClock(start);
  const server = await startServer({ clock, config });
  return { url: server.url, clock, tessera: server.tessera, close: () => server.close() };
}

let database: TestDatabase | undefined;

async function startPostgresServer(): Promise<RunningServer> {
  database ??= await createTestDatabase();
  const clock = new ManualClock(start);
  const store = await PostgresSessionStore.open({ connectionString: database.url });
  const tessera = await createTessera({ store, clock, config: parseConfig(config), apiKey: testApiKey, issuer: 'http://tessera.test' });
  const app = await buildApp(tessera);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    clock,
    tessera,
    async close() {
      await app.close();
      await tessera.close();
    },
  };
}

afterAll(async () => {
  await database?.drop();
});

interface Listed {
  sessions: { id: string; user_id: string; status: string; flow: string; created_at: string }[];
  next_cursor: string | null;
  total: number;
}

function expectRefused(answer: Answer, fields: string[]): void {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body.success).toBe(false);
  expect(answer.body.error).toBe('invalid_request');
  expect(answer.body.details.map((detail: { field: string }) => detail.field).sort()).toEqual([...fields].sort());
}

describe.each([
  ['SQLite', startSqliteServer],
  ['PostgreSQL', startPostgresServer],
])('a user’s sessions, a page at a time, on %s', (_store, startNode) => {
  let server: RunningServer;
  // Unique per test: the PostgreSQL database is shared by the tests of this file.
  let user: string;
  beforeEach(async () => {
    server = await startNode();
    user = `user-${Math.random().toString(36).slice(2)}`;
  });
  afterEach(async () => server?.close());

  const path = (query = '', who = user) => `/v1/users/${encodeURIComponent(who)}/sessions${query ? `?${query}` : ''}`;
  const list = async (query = '', who = user): Promise<Omit<Answer, 'body'> & { body: Listed }> => {
    const answer = await call(`${server.url}${path(query, who)}`, { token: testApiKey });
    expect(answer.status, answer.text).toBe(200);
    return answer;
  };

  /** `count` sessions of `userId`, in `flow`; the clock moves 1 ms after each but every third (ties in created_at). */
  async function createSessions(count: number, userId = user, flow?: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const grant = await server.tessera.sessions.createSession({ userId, ...(flow ? { flow } : {}), metadata: { n: i } });
      ids.push(grant.session.id);
      if (i % 3 !== 2) server.clock.advance(0.001);
    }
    return ids;
  }

  /** Newest first as the listing orders them: created_at descending, then id descending. */
  async function newestFirst(ids: string[]): Promise<string[]> {
    const sessions = await Promise.all(ids.map(async (id) => (await server.tessera.sessions.getSession(id))!));
    return sessions.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).map((session) => session.id);
  }

  /** Follows `next_cursor` from the first page of `query` (or from `cursor`) until it is null. */
  async function allPages(query: string, cursor?: string): Promise<{ pages: Listed[]; ids: string[] }> {
    const pages: Listed[] = [];
    let page = (await list(cursor === undefined ? query : `${query}&cursor=${encodeURIComponent(cursor)}`)).body;
    pages.push(page);
    while (page.next_cursor !== null) {
      page = (await list(`${query}&cursor=${encodeURIComponent(page.next_cursor)}`)).body;
      pages.push(page);
    }
    return { pages, ids: pages.flatMap((each) => each.sessions.map((session) => session.id)) };
  }

  it('pages 105 sessions by 50 as 50, 50 and 5, each once, newest first, with the true total on every page', async () => {
    const ids = await createSessions(105);
    await createSessions(3, `${user}-other`);
    const expected = await newestFirst(ids);

    const { pages, ids: listed } = await allPages('limit=50');
    expect(pages.map((page) => page.sessions.length)).toEqual([50, 50, 5]);
    expect(pages.map((page) => page.total)).toEqual([105, 105, 105]);
    expect(pages.map((page) => page.next_cursor === null)).toEqual([false, false, true]);
    expect(listed).toEqual(expected);
    for (const page of pages) for (const session of page.sessions) expect(session).toMatchObject({ user_id: user, status: 'active' });

    // Without parameters: the first 50 active ones (the default), and the count of all 105.
    const first = (await list()).body;
    expect(Object.keys(first).sort()).toEqual(['next_cursor', 'sessions', 'total']);
    expect(first.sessions.map((session) => session.id)).toEqual(expected.slice(0, 50));
    expect(first.total).toBe(105);
    // The same cursor goes on with another page size: it is bound to the filters, not to the limit.
    const rest = (await list(`limit=200&cursor=${encodeURIComponent(first.next_cursor!)}`)).body;
    expect(rest.sessions.map((session) => session.id)).toEqual(expected.slice(50));
    expect(rest.next_cursor).toBeNull();
  });

  it('stays stable while sessions are created and revoked between pages: nothing seen comes again', async () => {
    const ids = await createSessions(30);
    const expected = await newestFirst(ids);
    const first = (await list('status=all&limit=10')).body;
    expect(first.sessions.map((session) => session.id)).toEqual(expected.slice(0, 10));

    // Meanwhile: three new sessions (newer than any listed), one seen session and one unseen revoked.
    const added = await createSessions(3);
    await server.tessera.sessions.revokeSession(expected[2]!, 'admin');
    await server.tessera.sessions.revokeSession(expected[20]!, 'admin');

    const rest = await allPages('status=all&limit=10', first.next_cursor!);
    expect(rest.ids).toEqual(expected.slice(10));
    expect(rest.pages[0]!.total).toBe(33);
    for (const id of added) expect(rest.ids).not.toContain(id);
    expect(rest.pages.flatMap((page) => page.sessions).find((session) => session.id === expected[20])?.status).toBe('revoked');

    // Active only: the revoked unseen one drops out, the rest come once each.
    const activeFirst = (await list('limit=10')).body;
    await server.tessera.sessions.revokeSession(expected[25]!, 'admin');
    const activeRest = await allPages('limit=10', activeFirst.next_cursor!);
    const activeIds = [...activeFirst.sessions.map((session) => session.id), ...activeRest.ids];
    expect(new Set(activeIds).size).toBe(activeIds.length);
    expect(activeIds).toEqual((await newestFirst([...added, ...ids])).filter((id) => ![expected[2], expected[20], expected[25]].includes(id)));
  });

  it('filters by status, flow and created range, each with its own total', async () => {
    const idled = await createSessions(2, user, 'idle');
    const verifying = await createSessions(2, user, 'verification');
    const revoked = await createSessions(3);
    for (const id of revoked) await server.tessera.sessions.revokeSession(id, 'admin');
    server.clock.advance(1);
    const middle = server.clock.now();
    server.clock.advance(1);
    const recent = await createSessions(4);
    // Ten idle minutes end the idle flow's sessions; fifteen end the verification flow's.
    server.clock.advance(16 * 60);

    const byStatus = async (status: string) => {
      const { body } = await list(`status=${status}&limit=200`);
      expect(body.total).toBe(body.sessions.length);
      for (const session of body.sessions) if (status !== 'all') expect(session.status).toBe(status);
      return body.sessions.map((session) => session.id);
    };
    expect(await byStatus('active')).toEqual(await newestFirst(recent));
    expect(await byStatus('expired')).toEqual(await newestFirst([...idled, ...verifying]));
    expect(await byStatus('revoked')).toEqual(await newestFirst(revoked));
    expect((await byStatus('all')).sort()).toEqual([...idled, ...verifying, ...revoked, ...recent].sort());

    const idleFlow = (await list('status=all&flow=idle')).body;
    expect(idleFlow.sessions.map((session) => session.id)).toEqual(await newestFirst(idled));
    expect(idleFlow.sessions.every((session) => session.flow === 'idle')).toBe(true);
    expect((await list('flow=idle')).body).toEqual({ sessions: [], next_cursor: null, total: 0 });

    const iso = (ms: number) => new Date(ms).toISOString();
    const before = (await list(`status=all&created_before=${iso(middle)}`)).body;
    expect(before.sessions.map((session) => session.id).sort()).toEqual([...idled, ...verifying, ...revoked].sort());
    const after = (await list(`status=all&created_after=${iso(middle)}`)).body;
    expect(after.sessions.map((session) => session.id)).toEqual(await newestFirst(recent));
    // Strict bounds: a session created exactly at a bound is outside it.
    const firstRecent = (await server.tessera.sessions.getSession(recent[0]!))!.createdAt;
    const strict = (await list(`created_after=${iso(firstRecent)}&created_before=${iso(firstRecent + 2)}`)).body;
    expect(strict.sessions.every((session) => Date.parse(session.created_at) === firstRecent + 1)).toBe(true);
    // An offset is a time like any other.
    const offset = (await list(`status=all&created_after=${encodeURIComponent('2026-01-01T10:00:00+01:00')}&flow=verification`)).body;
    expect(offset.total).toBe(2);

    // Paging under filters: the cursor goes on within them.
    const paged = await allPages('status=expired&limit=3');
    expect(paged.pages.map((page) => [page.sessions.length, page.total])).toEqual([
      [3, 4],
      [1, 4],
    ]);
    expect(paged.ids).toEqual(await newestFirst([...idled, ...verifying]));
  });

  it('answers an empty page for a user with no sessions', async () => {
    expect((await list('status=all', 'nobody-at-all')).body).toEqual({ sessions: [], next_cursor: null, total: 0 });
  });

  it('refuses a cursor under other filters, of another user or another listing, or tampered with', async () => {
    await createSessions(5);
    await createSessions(5, `${user}-b`);
    const { next_cursor: cursor } = (await list('status=all&limit=2')).body;
    expect(cursor).toEqual(expect.any(String));
    const other = (await list('status=all&limit=2', `${user}-b`)).body.next_cursor!;
    const refused = async (query: string, who = user) => {
      const answer = await call(`${server.url}${path(query, who)}`, { token: testApiKey });
      expectRefused(answer, ['cursor']);
      expect(answer.body.details[0]).toMatchObject({ field: 'cursor', in: 'querystring' });
      return answer.body.details[0].message as string;
    };
    const c = encodeURIComponent(cursor!);
    expect(await refused(`status=active&limit=2&cursor=${c}`)).toContain('other filters');
    expect(await refused(`status=all&flow=default&cursor=${c}`)).toContain('other filters');
    expect(await refused(`status=all&created_after=2025-01-01T00:00:00Z&cursor=${c}`)).toContain('other filters');
    expect(await refused(`status=all&cursor=${encodeURIComponent(other)}`)).toContain('other filters');
    expect(await refused(`status=all&cursor=${c}`, `${user}-b`)).toContain('other filters');
    expect(await refused(`status=all&cursor=${encodeURIComponent(encodeCursor('audit', { at: start, id: 'evt_x' }))}`)).toContain('other filters');
    // Tampered: one character changed, cut short, padded, or not a cursor at all.
    const flipped = `${cursor!.slice(0, 5)}${cursor![5] === 'A' ? 'B' : 'A'}${cursor!.slice(6)}`;
    for (const bad of [flipped, cursor!.slice(0, -3), `${cursor}AA`, 'garbage', '!!!', '', '%00', 'A'.repeat(1000)]) {
      expect(await refused(`status=all&cursor=${encodeURIComponent(bad)}`)).toContain('not a cursor');
    }
    // Far too long for the schema, an array: still the envelope, never a 500.
    expectRefused(await call(`${server.url}${path(`status=all&cursor=${'A'.repeat(5000)}`)}`, { token: testApiKey }), ['cursor']);
    expectRefused(await call(`${server.url}${path(`status=all&cursor=${c}&cursor=${c}`)}`, { token: testApiKey }), ['cursor']);
  });
});

describe('the listing refuses parameters it cannot take, naming each', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    server = await startServer({ clock: new ManualClock(start) });
  });
  afterEach(async () => server?.close());

  const ask = (query: string) => call(`${server.url}/v1/users/alice/sessions?${query}`, { token: testApiKey });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=', 'limit'],
    ['limit=050', 'limit'],
    ['limit=1e2', 'limit'],
    ['limit=5&limit=6', 'limit'],
    ['status=unknown', 'status'],
    ['status=ALL', 'status'],
    ['status=', 'status'],
    ['flow=', 'flow'],
    [`flow=${'f'.repeat(65)}`, 'flow'],
    ['created_after=yesterday', 'created_after'],
    ['created_after=2026-01-01', 'created_after'],
    ['created_after=2026-02-30T00:00:00Z', 'created_after'],
    ['created_before=2026-01-01T24:00:00Z', 'created_before'],
    ['created_before=2026-01-01T00:00:00', 'created_before'],
    ['created_before=2026-01-01T00:00:00%2B25:00', 'created_before'],
    ['created_before=1767258000000', 'created_before'],
    ['page=2', 'page'],
  ])('?%s', async (query, field) => {
    expectRefused(await ask(query), [field]);
  });

  it('names every bad parameter at once, with what each must be', async () => {
    const answer = await ask('limit=0&flow=&created_after=soon&created_before=later');
    expectRefused(answer, ['limit', 'flow', 'created_after', 'created_before']);
    const limit = answer.body.details.find((detail: { field: string }) => detail.field === 'limit');
    expect(limit).toEqual({ field: 'limit', message: 'must be a whole number from 1 to 200', in: 'querystring' });
  });

  it('takes the bounds of each: limit 1 and 200, lower-case t and z, fractions of a second', async () => {
    for (const query of ['limit=1', 'limit=200', 'created_after=2026-01-01t09:00:00.123456z', 'status=expired', 'status=revoked']) {
      const answer = await ask(query);
      expect(answer.status, `${query}: ${answer.text}`).toBe(200);
    }
  });
});
