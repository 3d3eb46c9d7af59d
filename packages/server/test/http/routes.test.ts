import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalogue } from '../../src/core/error-catalogue.js';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

type Answer = Awaited<ReturnType<typeof call>>;

const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const start = new Date(Date.UTC(2026, 0, 1, 9, 0, 0));
const iso = (ms: number) => new Date(ms).toISOString();
const grantKeys = ['access_token', 'access_token_expires_at', 'refresh_token', 'refresh_token_expires_at', 'server_time', 'session', 'token_type'];
const sessionKeys = [
  'created_at',
  'device',
  'expires_at',
  'flow',
  'id',
  'idle_expires_at',
  'last_refreshed_at',
  'last_seen_at',
  'metadata',
  'refresh_count',
  'revoked_at',
  'revoked_reason',
  'status',
  'user_id',
];

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => server?.close());

const manage = (path: string, init: { method?: string; body?: unknown } = {}) => call(`${server.url}${path}`, { ...init, token: testApiKey });
const asUser = (path: string, accessToken: string, method = 'GET') => call(`${server.url}${path}`, { method, token: accessToken });
const refresh = (refreshToken: string) => call(`${server.url}/v1/token/refresh`, { body: { refresh_token: refreshToken } });

async function createSession(body: Record<string, unknown> = { user_id: 'alice' }): Promise<any> {
  const created = await manage('/v1/sessions', { body });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

function expectError(answer: Answer, code: ErrorCode, reason?: string): void {
  expect(answer.status, answer.text).toBe(errorCatalogue[code].status);
  expect(answer.body.error).toBe(code);
  if (reason !== undefined) expect(answer.body.details[0].reason).toBe(reason);
}

function expectSessionShape(session: any): void {
  expect(Object.keys(session).sort()).toEqual(sessionKeys);
  expect(['active', 'expired', 'revoked']).toContain(session.status);
  for (const key of ['created_at', 'expires_at']) expect(session[key]).toMatch(isoPattern);
  for (const key of ['last_refreshed_at', 'idle_expires_at', 'revoked_at']) {
    if (session[key] !== null) expect(session[key]).toMatch(isoPattern);
  }
}

function expectGrantShape(grant: any): void {
  expect(Object.keys(grant).sort()).toEqual(grantKeys);
  expect(grant.token_type).toBe('Bearer');
  expect(grant.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(grant.refresh_token).toBeTypeOf('string');
  expect(grant.refresh_token.length).toBeGreaterThanOrEqual(32);
  for (const key of ['access_token_expires_at', 'refresh_token_expires_at', 'server_time']) expect(grant[key]).toMatch(isoPattern);
  expectSessionShape(grant.session);
}

describe('POST /v1/sessions', () => {
  it('creates a session: 201 with the contract shape, ISO times, per-flow lifetimes', async () => {
    const created = await manage('/v1/sessions', { body: { user_id: 'alice', metadata: { device: 'laptop', n: 1 } } });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expectGrantShape(created.body);
    const { session } = created.body;
    expect(session).toMatchObject({
      user_id: 'alice',
      flow: 'default',
      status: 'active',
      created_at: iso(start.getTime()),
      last_refreshed_at: null,
      expires_at: iso(start.getTime() + 1_209_600_000),
      idle_expires_at: null,
      revoked_at: null,
      revoked_reason: null,
      metadata: { device: 'laptop', n: 1 },
    });
    expect(session.id).toMatch(/^ses_/);
    expect(created.body.access_token_expires_at).toBe(iso(start.getTime() + 900_000));
    expect(created.body.refresh_token_expires_at).toBe(session.expires_at);
    expect(created.body.server_time).toBe(iso(start.getTime()));
  });

  it('uses the named flow', async () => {
    const created = await createSession({ user_id: 'alice', flow: 'verification' });
    expect(created.session.flow).toBe('verification');
    expect(created.session.expires_at).toBe(iso(start.getTime() + 900_000));
    expect(created.access_token_expires_at).toBe(iso(start.getTime() + 300_000));
    expect(created.session.metadata).toEqual({});
  });

  it('an unknown flow is invalid_request', async () => {
    const answer = await manage('/v1/sessions', { body: { user_id: 'alice', flow: 'nope' } });
    expectError(answer, 'invalid_request');
    expect(answer.body.details[0].field).toBe('flow');
  });

  it('each session gets its own id and tokens', async () => {
    const a = await createSession();
    const b = await createSession();
    expect(a.session.id).not.toBe(b.session.id);
    expect(a.refresh_token).not.toBe(b.refresh_token);
    expect(a.access_token).not.toBe(b.access_token);
  });
});

describe('GET /v1/sessions/:id', () => {
  it('returns the session whatever its status: active, revoked, expired', async () => {
    const active = await createSession();
    const got = await manage(`/v1/sessions/${active.session.id}`);
    expect(got.status).toBe(200);
    expectSessionShape(got.body);
    expect(got.body).toEqual(active.session);

    const revoked = await createSession();
    await manage(`/v1/sessions/${revoked.session.id}`, { method: 'DELETE' });
    const gotRevoked = await manage(`/v1/sessions/${revoked.session.id}`);
    expect(gotRevoked.status).toBe(200);
    expect(gotRevoked.body).toMatchObject({ status: 'revoked', revoked_reason: 'admin', revoked_at: iso(start.getTime()) });

    const expiring = await createSession({ user_id: 'alice', flow: 'verification' });
    server.clock.advance(901);
    const gotExpired = await manage(`/v1/sessions/${expiring.session.id}`);
    expect(gotExpired.status).toBe(200);
    expect(gotExpired.body).toMatchObject({ status: 'expired', revoked_at: null });
  });

  it('an unknown id is not_found', async () => {
    expectError(await manage('/v1/sessions/ses_01ZZZZZZZZZZZZZZZZZZZZZZZZ'), 'not_found');
  });
});

describe('GET /v1/users/:user_id/sessions', () => {
  it('lists only the active sessions of that user', async () => {
    const kept = await createSession({ user_id: 'bob' });
    const revoked = await createSession({ user_id: 'bob' });
    const expiring = await createSession({ user_id: 'bob', flow: 'verification' });
    await createSession({ user_id: 'carol' });
    await manage(`/v1/sessions/${revoked.session.id}`, { method: 'DELETE' });

    const before = await manage('/v1/users/bob/sessions');
    expect(before.status).toBe(200);
    expect(before.body.sessions.map((session: any) => session.id).sort()).toEqual([kept.session.id, expiring.session.id].sort());
    for (const session of before.body.sessions) {
      expectSessionShape(session);
      expect(session.status).toBe('active');
    }

    server.clock.advance(901);
    const after = await manage('/v1/users/bob/sessions');
    expect(after.body.sessions.map((session: any) => session.id)).toEqual([kept.session.id]);
  });

  it('a user with no sessions gets an empty list', async () => {
    const answer = await manage('/v1/users/nobody/sessions');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ sessions: [], next_cursor: null, total: 0 });
  });

  it('user ids with reserved characters round-trip through percent-encoding', async () => {
    const created = await createSession({ user_id: 'a/b c@d.e' });
    const answer = await manage(`/v1/users/${encodeURIComponent('a/b c@d.e')}/sessions`);
    expect(answer.body.sessions.map((session: any) => session.id)).toEqual([created.session.id]);
  });
});

describe('DELETE /v1/sessions/:id', () => {
  it('revokes with reason admin; the access token then reports session_revoked; a second delete changes nothing', async () => {
    const created = await createSession();
    const deleted = await manage(`/v1/sessions/${created.session.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expectSessionShape(deleted.body);
    expect(deleted.body).toMatchObject({ id: created.session.id, status: 'revoked', revoked_reason: 'admin', revoked_at: iso(start.getTime()) });

    expectError(await asUser('/v1/session', created.access_token), 'session_revoked', 'admin');
    expectError(await refresh(created.refresh_token), 'session_revoked', 'admin');

    server.clock.advance(5);
    const again = await manage(`/v1/sessions/${created.session.id}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'revoked', revoked_reason: 'admin', revoked_at: iso(start.getTime()) });
  });

  it('an unknown id is not_found', async () => {
    expectError(await manage('/v1/sessions/ses_01ZZZZZZZZZZZZZZZZZZZZZZZZ', { method: 'DELETE' }), 'not_found');
  });
});

describe('DELETE /v1/users/:user_id/sessions', () => {
  it("revokes every active session of the user, reason admin, and no one else's", async () => {
    const first = await createSession({ user_id: 'bob' });
    const second = await createSession({ user_id: 'bob' });
    const other = await createSession({ user_id: 'carol' });

    const answer = await manage('/v1/users/bob/sessions', { method: 'DELETE' });
    expect(answer.status).toBe(200);
    expect(answer.body.revoked).toBe(2);

    for (const created of [first, second]) {
      const got = await manage(`/v1/sessions/${created.session.id}`);
      expect(got.body).toMatchObject({ status: 'revoked', revoked_reason: 'admin' });
      expectError(await asUser('/v1/session', created.access_token), 'session_revoked', 'admin');
    }
    expect((await manage('/v1/users/bob/sessions')).body.sessions).toEqual([]);
    expect((await manage(`/v1/sessions/${other.session.id}`)).body.status).toBe('active');
    expect((await asUser('/v1/session', other.access_token)).status).toBe(200);
  });

  it('a user with nothing to revoke gets zero', async () => {
    const answer = await manage('/v1/users/nobody/sessions', { method: 'DELETE' });
    expect(answer.status).toBe(200);
    expect(answer.body.revoked).toBe(0);
  });
});

describe('POST /v1/token/refresh', () => {
  it('returns a new pair in the creation shape; the old refresh token is spent', async () => {
    const created = await createSession();
    server.clock.advance(60);
    const refreshed = await refresh(created.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('cache-control')).toBe('no-store');
    expectGrantShape(refreshed.body);
    expect(refreshed.body.refresh_token).not.toBe(created.refresh_token);
    expect(refreshed.body.access_token).not.toBe(created.access_token);
    expect(refreshed.body.session.id).toBe(created.session.id);
    expect(refreshed.body.session.last_refreshed_at).toBe(iso(start.getTime() + 60_000));
    expect(refreshed.body.access_token_expires_at).toBe(iso(start.getTime() + 60_000 + 900_000));
    expect(refreshed.body.server_time).toBe(iso(start.getTime() + 60_000));

    // The new pair works, and refreshes again.
    expect((await asUser('/v1/session', refreshed.body.access_token)).status).toBe(200);
    const next = await refresh(refreshed.body.refresh_token);
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(refreshed.body.refresh_token);
  });

  it('a replay inside reuse_interval returns the identical successor pair', async () => {
    const created = await createSession();
    const first = await refresh(created.refresh_token);
    server.clock.advance(10);
    const replay = await refresh(created.refresh_token);
    expect(replay.status).toBe(200);
    for (const key of ['access_token', 'access_token_expires_at', 'refresh_token', 'refresh_token_expires_at']) {
      expect(replay.body[key]).toBe(first.body[key]);
    }
    expect(replay.body.session.id).toBe(created.session.id);
    expect((await manage(`/v1/sessions/${created.session.id}`)).body.status).toBe('active');
  });

  it('a replay after reuse_interval revokes the session: session_revoked, reason reuse_detected', async () => {
    const created = await createSession();
    const first = await refresh(created.refresh_token);
    server.clock.advance(11);
    const replay = await refresh(created.refresh_token);
    expectError(replay, 'session_revoked', 'reuse_detected');
    expect(replay.body.details[0].revoked_at).toBe(iso(start.getTime() + 11_000));
    expect((await manage(`/v1/sessions/${created.session.id}`)).body).toMatchObject({ status: 'revoked', revoked_reason: 'reuse_detected' });
    expectError(await refresh(first.body.refresh_token), 'session_revoked', 'reuse_detected');
  });

  it('an unknown refresh token is session_not_found; an expired session is session_expired', async () => {
    expectError(await refresh('rt_unknown'), 'session_not_found');
    const created = await createSession({ user_id: 'alice', flow: 'verification' });
    server.clock.advance(900);
    expectError(await refresh(created.refresh_token), 'session_expired', 'absolute');
  });
});

describe('GET /v1/session', () => {
  it('returns the session and server_time', async () => {
    const created = await createSession();
    server.clock.advance(30);
    const answer = await asUser('/v1/session', created.access_token);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(['server_time', 'session']);
    expect(answer.body.session).toEqual(created.session);
    expect(answer.body.server_time).toBe(iso(start.getTime() + 30_000));
  });

  it('reports a revoked session while its access token is unexpired', async () => {
    const created = await createSession();
    expect((await asUser('/v1/session', created.access_token)).status).toBe(200); // now cached as active
    server.clock.advance(1);
    await manage(`/v1/sessions/${created.session.id}`, { method: 'DELETE' });
    const answer = await asUser('/v1/session', created.access_token);
    expectError(answer, 'session_revoked', 'admin');
    expect(answer.body.details[0].revoked_at).toBe(iso(start.getTime() + 1_000));
  });

  it('an access token never outlives its session: clamped to the idle end, after which it and the refresh say session_expired (idle)', async () => {
    await server.close();
    server = await startServer({ config: { flows: { dashboard: { idle_timeout: 60, access_token_ttl: 300 } } } });
    const created = await createSession({ user_id: 'alice', flow: 'dashboard' });
    expect(created.session.idle_expires_at).toBe(iso(start.getTime() + 60_000));
    expect(created.access_token_expires_at).toBe(created.session.idle_expires_at);
    expect((await asUser('/v1/session', created.access_token)).status).toBe(200);
    server.clock.advance(60);
    const expired = await asUser('/v1/session', created.access_token);
    expectError(expired, 'session_expired', 'idle');
    expect(expired.body.details[0].expired_at).toBe(created.session.idle_expires_at);
    const refreshed = await refresh(created.refresh_token);
    expectError(refreshed, 'session_expired', 'idle');
    expect(refreshed.body.details[0].expired_at).toBe(created.session.idle_expires_at);
    expect((await manage(`/v1/sessions/${created.session.id}`)).body.status).toBe('expired');
  });

  it('no credentials: token_missing', async () => {
    expectError(await call(`${server.url}/v1/session`), 'token_missing');
  });
});

describe("an expired access token whose session has ended gets the session's code (refreshing cannot help)", () => {
  const routes = [
    ['GET', '/v1/session'],
    ['POST', '/v1/session/logout'],
    ['POST', '/v1/session/logout-others'],
  ] as const;

  it('revoked: session_revoked with its reason and time, on every route that takes an access token', async () => {
    const created = await createSession();
    server.clock.advance(100);
    const revoked = await manage(`/v1/sessions/${created.session.id}`, { method: 'DELETE' });
    server.clock.advance(900);
    for (const [method, path] of routes) {
      const answer = await asUser(path, created.access_token, method);
      expectError(answer, 'session_revoked', 'admin');
      expect(answer.body.details).toEqual([{ reason: 'admin', revoked_at: revoked.body.revoked_at }]);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
  });

  it('past the absolute end: session_expired (absolute)', async () => {
    await server.close();
    server = await startServer({ config: { flows: { brief: { absolute_lifetime: 600, access_token_ttl: 900 } } } });
    const created = await createSession({ user_id: 'alice', flow: 'brief' });
    server.clock.advance(600);
    for (const [method, path] of routes) {
      const answer = await asUser(path, created.access_token, method);
      expectError(answer, 'session_expired', 'absolute');
      expect(answer.body.details).toEqual([{ reason: 'absolute', expired_at: created.session.expires_at }]);
    }
  });

  it('a live session with an expired token still gets token_expired, and the refresh works', async () => {
    const created = await createSession();
    server.clock.advance(901);
    for (const [method, path] of routes) expectError(await asUser(path, created.access_token, method), 'token_expired');
    expect((await refresh(created.refresh_token)).status).toBe(200);
  });
});

describe('POST /v1/session/logout', () => {
  it('revokes its own session with reason logout', async () => {
    const created = await createSession();
    const other = await createSession();
    const answer = await asUser('/v1/session/logout', created.access_token, 'POST');
    expect(answer.status).toBe(200);
    expect(answer.body.session).toMatchObject({ id: created.session.id, status: 'revoked', revoked_reason: 'logout' });
    expectError(await asUser('/v1/session', created.access_token), 'session_revoked', 'logout');
    expectError(await refresh(created.refresh_token), 'session_revoked', 'logout');
    expect((await manage(`/v1/sessions/${created.session.id}`)).body.revoked_reason).toBe('logout');
    expect((await asUser('/v1/session', other.access_token)).status).toBe(200);
  });

  it('logging out twice: the second answer says the session is already revoked', async () => {
    const created = await createSession();
    await asUser('/v1/session/logout', created.access_token, 'POST');
    expectError(await asUser('/v1/session/logout', created.access_token, 'POST'), 'session_revoked', 'logout');
  });

  it('accepts an empty body sent as application/json (what many HTTP clients send on a bodyless POST)', async () => {
    const created = await createSession();
    const answer = await call(`${server.url}/v1/session/logout`, {
      method: 'POST',
      token: created.access_token,
      headers: { 'content-type': 'application/json' },
      rawBody: '',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.session.revoked_reason).toBe('logout');
    const refreshWithoutBody = await call(`${server.url}/v1/token/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      rawBody: '',
    });
    expect(refreshWithoutBody.status).toBe(400);
    expect(refreshWithoutBody.body.error).toBe('invalid_request');
  });
});

describe('POST /v1/session/logout-others', () => {
  it('revokes the other sessions of the user (signed_out_elsewhere); its own and other users stay active', async () => {
    const mine = await createSession({ user_id: 'carol' });
    const phone = await createSession({ user_id: 'carol' });
    const tablet = await createSession({ user_id: 'carol' });
    const stranger = await createSession({ user_id: 'dave' });

    const answer = await asUser('/v1/session/logout-others', mine.access_token, 'POST');
    expect(answer.status).toBe(200);
    expect(answer.body.revoked).toBe(2);
    expect([...answer.body.session_ids].sort()).toEqual([phone.session.id, tablet.session.id].sort());

    for (const other of [phone, tablet]) {
      expect((await manage(`/v1/sessions/${other.session.id}`)).body).toMatchObject({ status: 'revoked', revoked_reason: 'signed_out_elsewhere' });
      expectError(await asUser('/v1/session', other.access_token), 'session_revoked', 'signed_out_elsewhere');
      expectError(await refresh(other.refresh_token), 'session_revoked', 'signed_out_elsewhere');
    }
    expect((await asUser('/v1/session', mine.access_token)).body.session.status).toBe('active');
    expect((await refresh(mine.refresh_token)).status).toBe(200);
    expect((await manage(`/v1/sessions/${stranger.session.id}`)).body.status).toBe('active');
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('publishes public keys only, and they verify access tokens with RFC 9068 claims', async () => {
    const created = await createSession({ user_id: 'alice', flow: 'verification' });
    const jwks = await call(`${server.url}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.body.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.kid).toBeTypeOf('string');
      expect(key).not.toHaveProperty('d');
    }

    const header = decodeProtectedHeader(created.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toContain(header.kid);

    const { payload, protectedHeader } = await jwtVerify(created.access_token, createLocalJWKSet(jwks.body as JSONWebKeySet), {
      issuer: 'http://tessera.test',
      audience: 'tessera',
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: start,
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    const iat = start.getTime() / 1000;
    expect(payload).toMatchObject({
      iss: 'http://tessera.test',
      sub: 'alice',
      aud: 'tessera',
      iat,
      exp: iat + 300,
      client_id: 'tessera',
      sid: created.session.id,
      flow: 'verification',
    });
    expect(payload.jti).toBeTypeOf('string');
    expect(new Date(payload.exp! * 1000).toISOString()).toBe(created.access_token_expires_at);

    // Every token gets its own jti.
    const refreshed = await refresh(created.refresh_token);
    const next = await jwtVerify(refreshed.body.access_token, createLocalJWKSet(jwks.body as JSONWebKeySet), { currentDate: start });
    expect(next.payload.jti).not.toBe(payload.jti);
  });
});

describe('GET /.well-known/oauth-authorization-server', () => {
  it('is RFC 8414 metadata naming this issuer and its JWKS', async () => {
    const answer = await call(`${server.url}/.well-known/oauth-authorization-server`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body.issuer).toBe('http://tessera.test');
    expect(answer.body.jwks_uri).toBe('http://tessera.test/.well-known/jwks.json');
    expect(Array.isArray(answer.body.response_types_supported)).toBe(true);
    expect(answer.body.grant_types_supported).toContain('refresh_token');
  });
});

describe('operations', () => {
  it('GET /healthz answers ok', async () => {
    const answer = await call(`${server.url}/healthz`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'ok', server_time: iso(start.getTime()) });
  });

  it('GET /metrics counts requests, refreshes, revocations by reason, reuse detections, and latency', async () => {
    const revokedByAdmin = await createSession();
    await manage(`/v1/sessions/${revokedByAdmin.session.id}`, { method: 'DELETE' });
    const loggedOut = await createSession();
    await asUser('/v1/session/logout', loggedOut.access_token, 'POST');
    const stolen = await createSession();
    await refresh(stolen.refresh_token);
    await refresh(stolen.refresh_token); // replay inside the interval
    server.clock.advance(11);
    await refresh(stolen.refresh_token); // reuse detected
    await call(`${server.url}/no/such/route`);

    const answer = await call(`${server.url}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    const metrics = answer.text;
    const value = (pattern: RegExp) => {
      const line = metrics.split('\n').find((candidate) => pattern.test(candidate));
      expect(line, `no line matching ${pattern}`).toBeDefined();
      return Number(line!.split(' ').at(-1));
    };

    expect(value(/^tessera_http_requests_total\{[^}]*route="\/v1\/sessions"[^}]*method="POST"[^}]*status="201"/)).toBe(3);
    expect(value(/^tessera_http_requests_total\{[^}]*route="\/v1\/token\/refresh"[^}]*status="200"/)).toBe(2);
    expect(value(/^tessera_http_requests_total\{[^}]*route="\/v1\/token\/refresh"[^}]*status="401"/)).toBe(1);
    expect(value(/^tessera_refreshes_total\{replayed="false"\}/)).toBe(1);
    expect(value(/^tessera_refreshes_total\{replayed="true"\}/)).toBe(1);
    expect(value(/^tessera_revocations_total\{reason="admin"\}/)).toBe(1);
    expect(value(/^tessera_revocations_total\{reason="logout"\}/)).toBe(1);
    expect(value(/^tessera_revocations_total\{reason="reuse_detected"\}/)).toBe(1);
    expect(value(/^tessera_reuse_detections_total(\{\})? /)).toBe(1);
    expect(value(/^tessera_http_request_duration_seconds_count\{route="\/v1\/token\/refresh"\}/)).toBe(3);
    expect(
      value(
        /^tessera_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*route="\/v1\/sessions"|^tessera_http_request_duration_seconds_bucket\{route="\/v1\/sessions",le="\+Inf"\}/,
      ),
    ).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/^tessera_http_request_duration_seconds_sum\{route="\/v1\/sessions"\} \d/m);
  });

  it('GET /docs/errors indexes every code, and /docs/errors/:code documents each one in HTML', async () => {
    const index = await call(`${server.url}/docs/errors`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    for (const code of Object.keys(errorCatalogue)) {
      expect(index.text).toContain(`/docs/errors/${code}`);
      const page = await call(`${server.url}/docs/errors/${code}`);
      expect(page.status, code).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.text).toMatch(/^<!doctype html>/i);
      expect(page.text).toContain(`<code>${code}</code>`);
    }
  });

  it('an unknown docs page is a not_found envelope', async () => {
    expectError(await call(`${server.url}/docs/errors/no_such_code`), 'not_found');
  });
});
