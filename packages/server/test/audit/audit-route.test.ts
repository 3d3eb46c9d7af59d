// The audit trail over real HTTP: who did what is recorded for every surface, and GET /v1/audit pages
// through it. Manual time throughout; the expiry sweeper runs on the test's clock.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(config: unknown = {}) {
  const clock = new ManualClock(t0);
  server = await startServer({ clock, scheduler: clock, config });
  return server;
}

async function audit(s: TestServer, query = '', token = testApiKey) {
  return call(`${s.url}/v1/audit${query}`, { token });
}

async function createSession(s: TestServer, body: Record<string, unknown>, token = testApiKey) {
  const created = await call(`${s.url}/v1/sessions`, { body, token });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

describe('GET /v1/audit', () => {
  it('answers the contract EVENT shape, newest first, with the API key that acted named', async () => {
    const s = await start();
    const backendKey = await s.tessera.apiKeys.create('backend');
    const grant = await createSession(s, { user_id: 'alice' }, backendKey);
    s.clock.advance(1);
    expect((await call(`${s.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    const answer = await audit(s, `?session_id=${grant.session.id}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(answer.body)).toEqual(['events', 'next_cursor']);
    expect(answer.body.next_cursor).toBeNull();
    const [revoked, created] = answer.body.events;
    expect(Object.keys(created)).toEqual(['id', 'type', 'at', 'user_id', 'session_id', 'actor', 'reason', 'details']);
    expect(created).toMatchObject({
      type: 'session.created',
      at: new Date(t0).toISOString(),
      user_id: 'alice',
      session_id: grant.session.id,
      actor: { type: 'api_key', id: 'backend' },
      reason: null,
    });
    expect(created.id).toMatch(/^evt_/);
    // The key the suite runs with is the one supplied with --api-key: Tessera names it `supplied`.
    expect(revoked).toMatchObject({
      type: 'session.revoked',
      at: new Date(t0 + 1000).toISOString(),
      actor: { type: 'api_key', id: 'supplied' },
      reason: 'admin',
    });
  });

  it('records the user as the actor of a logout, and the API key of a user-wide revocation', async () => {
    const s = await start();
    const first = await createSession(s, { user_id: 'bob' });
    const second = await createSession(s, { user_id: 'bob' });
    expect((await call(`${s.url}/v1/session/logout`, { method: 'POST', token: first.access_token })).status).toBe(200);
    expect((await call(`${s.url}/v1/users/bob/sessions`, { method: 'DELETE', token: testApiKey })).body.revoked).toBe(1);
    const events = (await audit(s, '?user_id=bob&type=session.revoked')).body.events;
    expect(events.map((e: any) => [e.session_id, e.reason, e.actor])).toEqual(
      expect.arrayContaining([
        [first.session.id, 'logout', { type: 'user', id: 'bob' }],
        [second.session.id, 'admin', { type: 'api_key', id: 'supplied' }],
      ]),
    );
    expect(events).toHaveLength(2);
  });

  it('pages with an opaque cursor: every matching event once, newest first, whatever the page size', async () => {
    const s = await start();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await createSession(s, { user_id: 'carol' })).session.id);
      // Two sessions share each instant: order within it is by id.
      if (i % 2 === 1) s.clock.advance(1);
    }
    await createSession(s, { user_id: 'dave' });
    for (const limit of [1, 3, 7, 50]) {
      const seen: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `?user_id=carol&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await audit(s, query);
        expect(page.status, page.text).toBe(200);
        expect(page.body.events.length).toBeLessThanOrEqual(limit);
        seen.push(...page.body.events);
        cursor = page.body.next_cursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBe(Math.max(1, Math.ceil(7 / limit)));
      expect(seen.map((e) => e.session_id).sort()).toEqual([...ids].sort());
      const order = seen.map((e) => [e.at, e.id]);
      expect(order).toEqual([...order].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? 1 : -1) : a[0] < b[0] ? 1 : -1)));
    }
    // The default page is 50.
    expect((await audit(s)).body.events.length).toBeGreaterThanOrEqual(8);
  });

  it.each([
    ['?type=session.exploded', 'type'],
    ['?limit=0', 'limit'],
    ['?limit=201', 'limit'],
    ['?limit=ten', 'limit'],
    ['?limit=-1', 'limit'],
    ['?cursor=not-a-cursor', 'cursor'],
    [`?cursor=${Buffer.from(JSON.stringify({ at: 'soon', id: 'evt_X' })).toString('base64url')}`, 'cursor'],
    [`?cursor=${Buffer.from(JSON.stringify({ at: 1, id: "evt_'; DROP TABLE audit_events" })).toString('base64url')}`, 'cursor'],
    ['?user=alice', 'user'],
    [`?session_id=${'s'.repeat(200)}`, 'session_id'],
  ])('refuses %s as invalid_request naming %s', async (query, field) => {
    const s = await start();
    const answer = await audit(s, query);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(JSON.stringify(answer.body.details)).toContain(field);
  });

  it('needs an API key: none or a wrong one is api_key_invalid', async () => {
    const s = await start();
    expect((await send(`${s.url}/v1/audit`)).body.error).toBe('api_key_invalid');
    expect((await audit(s, '', 'tsk_wrong_key_0123456789abcdefghijklmn')).body.error).toBe('api_key_invalid');
  });
});

describe('events that were not recorded before', () => {
  it('records each passive expiry once, idle and absolute, from the sweeper on the node’s timers', async () => {
    // The node's time and its timers apart: hours pass on `clock` at once, and `timers` fires a sweep when told.
    const clock = new ManualClock(t0);
    const timers = new ManualClock(t0);
    const s = await startServer({
      clock,
      scheduler: timers,
      config: { flows: { short: { idle_timeout: 600, absolute_lifetime: 3600 } }, audit: { expiry_sweep_interval: 30 } },
    });
    server = s;
    const sweep = () => timers.advanceAsync(30);
    const idle = await createSession(s, { user_id: 'erin', flow: 'short' });
    const kept = await createSession(s, { user_id: 'erin', flow: 'short' });
    // `kept` is refreshed every 5 minutes: it never idles out, and ends at its absolute lifetime.
    let refreshToken = kept.refresh_token;
    for (let minute = 5; minute <= 55; minute += 5) {
      clock.advance(300);
      const refreshed = await call(`${s.url}/v1/token/refresh`, { body: { refresh_token: refreshToken } });
      expect(refreshed.status, refreshed.text).toBe(200);
      refreshToken = refreshed.body.refresh_token;
      await sweep();
      if (minute === 5) expect((await audit(s, '?type=session.expired')).body.events).toEqual([]);
      if (minute === 10) {
        expect((await audit(s, '?type=session.expired')).body.events).toEqual([
          expect.objectContaining({
            session_id: idle.session.id,
            user_id: 'erin',
            at: new Date(t0 + 600_000).toISOString(),
            reason: 'idle',
            actor: { type: 'system', id: 'tessera' },
            details: { expired_at: new Date(t0 + 600_000).toISOString() },
          }),
        ]);
      }
    }
    clock.advance(600);
    await sweep();
    const expired = (await audit(s, '?type=session.expired')).body.events;
    expect(expired.map((e: any) => [e.session_id, e.reason, e.details.expired_at])).toEqual([
      [kept.session.id, 'absolute', new Date(t0 + 3_600_000).toISOString()],
      [idle.session.id, 'idle', new Date(t0 + 600_000).toISOString()],
    ]);
    // More sweeps record nothing again; a revoked session never expires in the trail.
    const revoked = await createSession(s, { user_id: 'erin', flow: 'short' });
    await call(`${s.url}/v1/sessions/${revoked.session.id}`, { method: 'DELETE', token: testApiKey });
    clock.advance(7200);
    await timers.advanceAsync(90);
    expect((await audit(s, '?type=session.expired')).body.events).toHaveLength(2);
    expect((await audit(s, `?session_id=${revoked.session.id}`)).body.events.map((e: any) => e.type).sort()).toEqual(['session.created', 'session.revoked']);
  });

  it('records signing keys: the first one by the system, a rotation by whoever asked, with the retired kid', async () => {
    const s = await start();
    const [first] = (await audit(s, '?type=signing_key.rotated')).body.events;
    expect(first).toMatchObject({ actor: { type: 'system', id: 'tessera' }, user_id: null, session_id: null, details: { retired_kids: [] } });
    s.clock.advance(1);
    const rotated = await s.tessera.signingKeys.rotate({ type: 'cli', id: 'ops' });
    const [latest] = (await audit(s, '?type=signing_key.rotated')).body.events;
    expect(latest).toMatchObject({ actor: { type: 'cli', id: 'ops' }, details: { kid: rotated.kid, alg: rotated.alg, retired_kids: [first.details.kid] } });
    expect(JSON.stringify(latest)).not.toMatch(/"d"|private/);
  });

  it('records API keys created and revoked by name and origin, never the key or its hash', async () => {
    const s = await start();
    s.clock.advance(1);
    const secret = await s.tessera.apiKeys.create('ci', { type: 'cli', id: 'ops' });
    s.clock.advance(1);
    expect(await s.tessera.apiKeys.revoke('ci', { type: 'cli', id: 'ops' })).toBe(true);
    expect(await s.tessera.apiKeys.revoke('ci', { type: 'cli', id: 'ops' })).toBe(false);
    const answer = await audit(s, '?limit=200');
    const keyEvents = answer.body.events.filter((e: any) => e.type.startsWith('api_key.'));
    expect(keyEvents.map((e: any) => [e.type, e.actor, e.details])).toEqual([
      ['api_key.revoked', { type: 'cli', id: 'ops' }, { name: 'ci', origin: 'created' }],
      ['api_key.created', { type: 'cli', id: 'ops' }, { name: 'ci', origin: 'created' }],
      // The suite's --api-key, recorded when the node first took it.
      ['api_key.created', { type: 'system', id: 'tessera' }, { name: 'supplied', origin: 'supplied' }],
    ]);
    const hash = createHash('sha256').update(secret).digest('base64url');
    expect(answer.text).not.toContain(secret);
    expect(answer.text).not.toContain(hash);
    expect(answer.text).not.toContain(testApiKey);
  });
});
