// The management routes the admin console is built on: user search by prefix (paged) and this
// node's activity per minute, over real HTTP on a real SQLite file.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Answer, call, startServer, type TestServer, testApiKey } from '../helpers.js';

let server: TestServer;
beforeEach(async () => {
  server = await startServer({ config: { flows: { short: { access_token_ttl: 60, idle_timeout: 600, absolute_lifetime: 3_600, reuse_interval: 10 } } } });
});
afterEach(async () => {
  await server.close();
});

const manage = (path: string, method = 'GET', body?: unknown) => call(`${server.url}${path}`, { method, token: testApiKey, body });

async function createSession(userId: string, flow?: string): Promise<any> {
  const created = await manage('/v1/sessions', 'POST', { user_id: userId, ...(flow ? { flow } : {}) });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

function expectInvalid(answer: Answer, field: string): void {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body.error).toBe('invalid_request');
  expect(answer.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
}

describe('GET /v1/users', () => {
  it('finds users by the start of their id, with their active sessions, and pages through them', async () => {
    for (const userId of ['alice', 'alice', 'alina', 'ali%', 'bob', 'Alice']) await createSession(userId);
    const revoked = await createSession('alina');
    await manage(`/v1/sessions/${revoked.session.id}`, 'DELETE');

    const found = await manage('/v1/users?prefix=ali');
    expect(found.status, found.text).toBe(200);
    expect(found.body.next_cursor).toBeNull();
    expect(found.body.users.map((user: any) => [user.user_id, user.active_sessions])).toEqual([
      ['ali%', 1],
      ['alice', 2],
      ['alina', 1],
    ]);
    expect(found.body.users[1].last_created_at).toBe(new Date(server.clock.now()).toISOString());
    // `%` is a character like any other, not a wildcard.
    expect((await manage(`/v1/users?prefix=${encodeURIComponent('ali%')}`)).body.users.map((user: any) => user.user_id)).toEqual(['ali%']);
    expect((await manage('/v1/users?prefix=nobody')).body).toEqual({ users: [], next_cursor: null });

    // Two at a time: every user once, in order, then a null cursor.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const query: string = `/v1/users?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const answer = await manage(query);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.users.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.users.map((user: any) => user.user_id));
      cursor = answer.body.next_cursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(['Alice', 'ali%', 'alice', 'alina', 'bob']);
  });

  it('refuses bad input with the envelope, and asks for the API key', async () => {
    expectInvalid(await manage('/v1/users?limit=0'), 'limit');
    expectInvalid(await manage('/v1/users?limit=201'), 'limit');
    expectInvalid(await manage('/v1/users?limit=ten'), 'limit');
    expectInvalid(await manage(`/v1/users?prefix=${'x'.repeat(257)}`), 'prefix');
    expectInvalid(await manage('/v1/users?prefix=a%01'), 'prefix');
    expectInvalid(await manage('/v1/users?cursor=not-a-cursor'), 'cursor');
    expectInvalid(await manage('/v1/users?unknown=1'), 'unknown');
    for (const userId of ['ann', 'anna', 'bo', 'bob']) await createSession(userId);
    const first = await manage('/v1/users?prefix=b&limit=1');
    expect(first.body.next_cursor).toEqual(expect.any(String));
    // A cursor of one search is not a starting point for another.
    expectInvalid(await manage(`/v1/users?prefix=a&cursor=${encodeURIComponent(first.body.next_cursor)}`), 'cursor');
    const forged = Buffer.from(JSON.stringify({ after: 'a\u0000' })).toString('base64url');
    expectInvalid(await manage(`/v1/users?cursor=${forged}`), 'cursor');

    const anonymous = await call(`${server.url}/v1/users`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('api_key_invalid');
  });
});

describe('GET /v1/activity', () => {
  it("counts this node's sessions, refreshes and revocations per minute, and the active sessions in the store", async () => {
    const start = server.clock.now();
    const minuteStart = Math.floor(start / 60_000) * 60_000;
    let grant = await createSession('alice');
    await createSession('bob', 'short');
    for (let i = 0; i < 3; i++) {
      const refreshed = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: grant.refresh_token } });
      expect(refreshed.status, refreshed.text).toBe(200);
      grant = refreshed.body;
    }
    server.clock.advance(60);
    await manage(`/v1/sessions/${grant.session.id}`, 'DELETE');

    const activity = await manage('/v1/activity?minutes=3');
    expect(activity.status, activity.text).toBe(200);
    expect(activity.body.active_sessions).toBe(1);
    expect(activity.body.minutes).toEqual([
      { start: new Date(minuteStart - 60_000).toISOString(), sessions_created: 0, refreshes: 0, revocations: 0 },
      { start: new Date(minuteStart).toISOString(), sessions_created: 2, refreshes: 3, revocations: 0 },
      { start: new Date(minuteStart + 60_000).toISOString(), sessions_created: 0, refreshes: 0, revocations: 1 },
    ]);
    expect(activity.body.counting_since).toBe(new Date(start).toISOString());
    expect((await manage('/v1/activity')).body.minutes).toHaveLength(30);

    // The short flow's session ends after an hour: the gauge falls, the counts of an hour ago are gone.
    server.clock.advance(3_600);
    const later = await manage('/v1/activity?minutes=60');
    expect(later.body.active_sessions).toBe(0);
    expect(later.body.minutes.every((minute: any) => minute.refreshes === 0 && minute.sessions_created === 0)).toBe(true);

    expectInvalid(await manage('/v1/activity?minutes=61'), 'minutes');
    expectInvalid(await manage('/v1/activity?minutes=0'), 'minutes');
    expect((await call(`${server.url}/v1/activity`)).status).toBe(401);
  });
});
