// GET /v1/revocations over real HTTP and a real store. The waits of `?wait=` (and the moment a woken read
// gathers others) run on manual time where they are the subject: the test moves the node's ManualClock,
// which is also its scheduler. "a read left waiting does not hold the server up" stays on the system clock.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function createSession(url: string, user: string, flow?: string): Promise<string> {
  const created = await call(`${url}/v1/sessions`, { body: flow ? { user_id: user, flow } : { user_id: user }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body.session.id as string;
}

const feed = (url: string, query = '') => call(`${url}/v1/revocations${query}`, { token: testApiKey });

describe('GET /v1/revocations', () => {
  it('needs the API key', async () => {
    server = await startServer();
    expect((await call(`${server.url}/v1/revocations`)).body.error).toBe('api_key_invalid');
    expect((await call(`${server.url}/v1/revocations`, { token: 'tsk_wrong' })).body.error).toBe('api_key_invalid');
  });

  it('first read: every revocation whose access tokens may still be unexpired, with reason and the time they all expire by', async () => {
    server = await startServer({ config: { flows: { short: { access_token_ttl: 60 } } } });
    const { clock } = server;
    const old = await createSession(server.url, 'old', 'short');
    expect((await call(`${server.url}/v1/sessions/${old}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    // Two minutes later the short flow's tokens of `old` have all expired: it is no longer news.
    clock.advance(120);
    const recent = await createSession(server.url, 'bob');
    const active = await createSession(server.url, 'bob');
    expect((await call(`${server.url}/v1/sessions/${recent}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);

    const first = await feed(server.url);
    expect(first.status).toBe(200);
    expect(first.body.revocations).toEqual([
      {
        session_id: recent,
        user_id: 'bob',
        reason: 'admin',
        revoked_at: new Date(clock.now()).toISOString(),
        access_tokens_expire_by: new Date(clock.now() + 900_000).toISOString(),
      },
    ]);
    expect(first.body.revocations.map((each: { session_id: string }) => each.session_id)).not.toContain(active);
    expect(first.body.cursor).toEqual(expect.any(String));
    expect(first.body.server_time).toBe(new Date(clock.now()).toISOString());
  });

  it('later reads: what was revoked since the cursor, for every reason', async () => {
    server = await startServer();
    const { clock } = server;
    const first = await feed(server.url);
    expect(first.body.revocations).toEqual([]);

    clock.advance(60);
    const mine = await createSession(server.url, 'carol');
    const other = await createSession(server.url, 'carol');
    const grant = await call(`${server.url}/v1/sessions`, { body: { user_id: 'carol' }, token: testApiKey });
    expect((await call(`${server.url}/v1/session/logout-others`, { method: 'POST', token: grant.body.access_token })).status).toBe(200);
    expect((await call(`${server.url}/v1/session/logout`, { method: 'POST', token: grant.body.access_token })).status).toBe(200);

    const next = await feed(server.url, `?cursor=${first.body.cursor}`);
    const reasons = Object.fromEntries(next.body.revocations.map((each: { session_id: string; reason: string }) => [each.session_id, each.reason]));
    expect(reasons).toEqual({ [mine]: 'signed_out_elsewhere', [other]: 'signed_out_elsewhere', [grant.body.session.id]: 'logout' });
  });

  it('after a mass revocation, a later read carries only what is new, not the mass again', async () => {
    server = await startServer();
    for (let index = 0; index < 20; index += 1) await createSession(server.url, 'zed');
    expect((await call(`${server.url}/v1/users/zed/sessions`, { method: 'DELETE', token: testApiKey })).body.revoked).toBe(20);
    const first = await feed(server.url);
    expect(first.body.revocations).toHaveLength(20);
    server.clock.advance(1);
    const id = await createSession(server.url, 'yan');
    expect((await call(`${server.url}/v1/sessions/${id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    const next = await feed(server.url, `?cursor=${first.body.cursor}&wait=5`);
    expect(next.body.revocations.map((each: { session_id: string }) => each.session_id)).toEqual([id]);
  });

  it('with wait: answers as soon as a session is revoked (gathering those of the next 25 ms), and after the wait with none', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    server = await startServer({ clock, scheduler: clock });
    const id = await createSession(server.url, 'dave');
    const alongside = await createSession(server.url, 'dave');
    const { cursor } = (await feed(server.url)).body;

    const waitingReads = async () => Number(/^tessera_revocation_feed_waiting_reads (\d+)$/m.exec((await call(`${server!.url}/metrics`)).text)?.[1]);
    expect(await waitingReads()).toBe(0);
    let answered = false;
    const waiting = feed(server.url, `?cursor=${cursor}&wait=10`).finally(() => (answered = true));
    await expect.poll(waitingReads).toBe(1);
    expect((await call(`${server.url}/v1/sessions/${id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    // Woken (no longer counted as waiting), it gathers for 25 ms of the node's time: a revocation then joins the answer.
    await expect.poll(waitingReads).toBe(0);
    expect((await call(`${server.url}/v1/sessions/${alongside}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    expect(answered).toBe(false);
    clock.advance(0.025);
    const answer = await waiting;
    expect(answer.body.revocations.map((each: { session_id: string }) => each.session_id).sort()).toEqual([id, alongside].sort());

    // Nothing new since the cursor: not a wake-up, and an empty answer after the wait, not before.
    const none = feed(server.url, `?cursor=${answer.body.cursor}&wait=1`).finally(() => (answered = true));
    answered = false;
    await expect.poll(waitingReads).toBe(1);
    clock.advance(0.999);
    expect(await waitingReads()).toBe(1);
    expect(answered).toBe(false);
    clock.advance(0.001);
    expect((await none).body.revocations).toEqual([]);
    expect((await none).body.cursor).toEqual(expect.any(String));
    expect(await waitingReads()).toBe(0);
  });

  it('a revocation stamped before the cursor but committed after that read is news: the next read answers at once', async () => {
    const manual = new ManualClock(Date.UTC(2026, 0, 1, 9));
    server = await startServer({ clock: manual, scheduler: manual });
    const { clock } = server;
    const id = await createSession(server.url, 'erin');
    const { cursor } = (await feed(server.url)).body;
    // Revoked "a moment before" the last look, as a transaction that committed late would be; its event
    // went out before this reader was listening again.
    clock.advance(-1);
    expect((await call(`${server.url}/v1/sessions/${id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    clock.advance(2);
    // At once: on manual time, with the clock left where it is, a read that waited would never answer.
    const answer = await feed(server.url, `?cursor=${cursor}&wait=5`);
    expect(answer.body.revocations.map((each: { session_id: string }) => each.session_id)).toEqual([id]);
    // Told once: the cursor after it knows, so the next read waits (its whole second).
    let answered = false;
    const quiet = feed(server.url, `?cursor=${answer.body.cursor}&wait=1`).finally(() => (answered = true));
    await expect.poll(() => server!.tessera.revocations.waitingReads).toBe(1);
    clock.advance(0.999);
    expect(answered).toBe(false);
    clock.advance(0.001);
    expect((await quiet).body.revocations).toEqual([]);
  });

  it('a read left waiting does not hold the server up when it closes', async () => {
    server = await startServer({ clock: { now: () => Date.now() } });
    const { cursor } = (await feed(server.url)).body;
    const waiting = feed(server.url, `?cursor=${cursor}&wait=30`);
    await expect.poll(() => server!.tessera.revocations.waitingReads).toBe(1);
    const started = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - started).toBeLessThan(3000);
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body.revocations).toEqual([]);
  });

  it("reads of the feed do not use up the API key's management rate limit, nor are they refused by it", async () => {
    server = await startServer({ config: { rate_limits: { management_per_key: { limit: 3, window: 60 } } } });
    for (let index = 0; index < 10; index += 1) expect((await feed(server.url)).status).toBe(200);
    for (let index = 0; index < 3; index += 1) await createSession(server.url, 'ivy');
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'ivy' }, token: testApiKey })).body.error).toBe('rate_limited');
    expect((await feed(server.url)).status).toBe(200);
    // Still the key, though.
    expect((await call(`${server.url}/v1/revocations`, { token: 'tsk_wrong' })).body.error).toBe('api_key_invalid');
  });

  it.each([
    ['?cursor=yesterday', 'cursor'],
    ['?cursor=-1', 'cursor'],
    ['?cursor=12345678901234567', 'cursor'],
    ['?cursor=1.2', 'cursor'],
    ['?cursor=1.2.3.4', 'cursor'],
    [`?cursor=${'9'.repeat(16)}.1.1`, 'cursor'],
    ['?wait=31', 'wait'],
    ['?wait=1.5', 'wait'],
    ['?wait=-1', 'wait'],
    ['?cursor=1&cursor=2', 'cursor'],
    ['?since=1', 'since'],
  ])('refuses %s with invalid_request naming the field', async (query, field) => {
    server ??= await startServer();
    const answer = await feed(server.url, query);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(JSON.stringify(answer.body.details)).toContain(field);
  });
});
