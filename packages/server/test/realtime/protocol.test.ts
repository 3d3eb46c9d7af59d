// The /v1/realtime protocol over real sockets and a real database. Time is manual: the tests move the
// server's ManualClock, which also runs its timers (auth timeout, token_expiring, expiry, heartbeat), so
// "two seconds later" takes no wall-clock time and is exact on a busy machine. Two tests stay on the
// system clock end to end, with short lifetimes and wide margins, to show the real timers are wired:
// "on the wall clock: token_expiring, then 4001" and "on the wall clock: a silent peer is dropped".
import { afterEach, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/core/access-tokens.js';
import type { ManualClock } from '../../src/core/clock.js';
import { call, storedSession, testApiKey } from '../helpers.js';
import { openSocket, type RealtimeServer, readySocket, signIn, sleep, startRealtimeServer } from './sockets.js';

let server: RealtimeServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

/** A server on manual time: its clock runs the socket timers, and moves only when the test moves it. */
async function startManual(options: Omit<Parameters<typeof startRealtimeServer>[0] & {}, 'time'> = {}): Promise<RealtimeServer & { clock: ManualClock }> {
  server = await startRealtimeServer({ ...options, time: 'manual' });
  return server;
}

/** Moves `clock` forward to `at` (ms since the epoch), firing the timers due on the way. */
function advanceTo(clock: ManualClock, at: number): void {
  clock.advance((at - clock.now()) / 1000);
}

describe('authenticating a socket', () => {
  it('auth → ready with the session id and the access token expiry', async () => {
    server = await startRealtimeServer();
    const grant = await signIn(server.url);
    const { socket, ready } = await readySocket(server.socketUrl, grant.access_token);
    expect(ready).toEqual({ type: 'ready', session_id: grant.session.id, access_token_expires_at: grant.access_token_expires_at });
    expect(server.realtime.connectionsOfSession(grant.session.id)).toHaveLength(1);
    socket.ws.close();
  });

  it('no auth within the auth timeout (10 s by default) → error envelope token_missing, close 4008, at 10 s', async () => {
    const { clock, socketUrl } = await startManual();
    const socket = await openSocket(socketUrl);
    const opened = clock.now();
    advanceTo(clock, opened + 9_999);
    // Each socket has its own 10 s: this one's start now.
    const later = await openSocket(socketUrl);
    advanceTo(clock, opened + 10_000);
    const closed = await socket.closed;
    expect(closed).toMatchObject({ code: 4008, reason: 'token_missing' });
    expect(socket.frames).toEqual([{ type: 'error', error: expect.objectContaining({ success: false, error: 'token_missing' }) }]);
    expect(socket.frames[0]!.error.timestamp).toBe(new Date(opened + 10_000).toISOString());
    expect(later.ws.readyState).toBe(later.ws.OPEN);
    advanceTo(clock, opened + 19_999);
    expect(await later.closed).toMatchObject({ code: 4008 });
    expect(later.frames[0]!.error.timestamp).toBe(new Date(opened + 19_999).toISOString());
  });

  it('an invalid token → 4002; an expired one → 4001; a token of a session that does not exist → session_ended, 4004', async () => {
    const { clock } = await startManual({ config: { flows: { brief: { access_token_ttl: 1 } } } });
    const invalid = await openSocket(server!.socketUrl);
    invalid.auth('not.a.jwt');
    expect(await invalid.closed).toMatchObject({ code: 4002, reason: 'token_invalid' });

    const grant = await signIn(server!.url, 'alice', 'brief');
    advanceTo(clock, Date.parse(grant.access_token_expires_at));
    const expired = await openSocket(server!.socketUrl);
    expired.auth(grant.access_token);
    expect(await expired.closed).toMatchObject({ code: 4001, reason: 'token_expired' });
    expect(expired.frames[0]).toMatchObject({ type: 'error', error: { error: 'token_expired' } });

    const { tessera } = server!;
    const forger = new AccessTokens({
      keys: tessera.signingKeys,
      clock: tessera.clock,
      issuer: tessera.issuer,
      audience: tessera.config.audience,
      clientId: tessera.config.clientId,
    });
    const now = clock.now();
    const ghost = storedSession('ses_ghost', now, { expiresAt: now + 60_000 });
    const { token } = await forger.sign(ghost, 60, ghost.expiresAt);
    const unknown = await openSocket(server!.socketUrl);
    unknown.auth(token);
    expect(await unknown.closed).toMatchObject({ code: 4004, reason: 'session_not_found' });
    expect(unknown.frames[0]).toMatchObject({ type: 'session_ended', error: { error: 'session_not_found' } });
  });

  it("an expired token of an ended session → session_ended with the session's code: revoked 4003, expired 4005, not 4001", async () => {
    const { clock, url, socketUrl } = await startManual({ config: { flows: { brief: { access_token_ttl: 1 }, short: { absolute_lifetime: 1 } } } });
    const revoked = await signIn(url, 'alice', 'brief');
    const ended = await signIn(url, 'bob', 'short');
    expect((await call(`${url}/v1/sessions/${revoked.session.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    const lastEnd = Math.max(...[revoked.access_token_expires_at, ended.access_token_expires_at, ended.session.expires_at].map(Date.parse));
    advanceTo(clock, lastEnd);

    const ofRevoked = await openSocket(socketUrl);
    ofRevoked.auth(revoked.access_token);
    expect(await ofRevoked.closed).toMatchObject({ code: 4003, reason: 'session_revoked' });
    expect(ofRevoked.frames).toEqual([
      { type: 'session_ended', error: expect.objectContaining({ error: 'session_revoked', details: [expect.objectContaining({ reason: 'admin' })] }) },
    ]);

    const ofExpired = await openSocket(socketUrl);
    ofExpired.auth(ended.access_token);
    expect(await ofExpired.closed).toMatchObject({ code: 4005, reason: 'session_expired' });
    expect(ofExpired.frames).toEqual([
      { type: 'session_ended', error: expect.objectContaining({ error: 'session_expired', details: [expect.objectContaining({ reason: 'absolute' })] }) },
    ]);
  });

  it('garbage → error envelope invalid_request, close 4400, and the server stays up', async () => {
    server = await startRealtimeServer();
    const grant = await signIn(server.url);
    const garbage: (string | Buffer)[] = [
      'hello',
      '[1,2]',
      'null',
      '{"no_type":1}',
      '{"type":"ready"}',
      '{"type":"auth"}',
      '{"type":"auth","access_token":42}',
      '{"type":"message","data":"before auth"}',
      Buffer.from([1, 2, 3]),
    ];
    for (const frame of garbage) {
      const socket = await openSocket(server.socketUrl);
      socket.ws.send(frame);
      const closed = await socket.closed;
      expect(closed, String(frame)).toMatchObject({ code: 4400, reason: 'invalid_request' });
      expect(socket.frames[0]).toMatchObject({
        type: 'error',
        error: { error: 'invalid_request', doc_url: `${server.tessera.issuer}/docs/errors/invalid_request` },
      });
    }
    const afterAuth = await readySocket(server.socketUrl, grant.access_token);
    afterAuth.socket.ws.send('{"type":"token_expiring"}');
    expect((await afterAuth.socket.closed).code).toBe(4400);

    const healthy = await readySocket(server.socketUrl, grant.access_token);
    expect(healthy.ready.session_id).toBe(grant.session.id);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    healthy.socket.ws.close();
  });

  it('the envelopes of a socket carry the X-Request-Id of its upgrade', async () => {
    const { clock, socketUrl } = await startManual({ realtime: { authTimeout: 0.2 } });
    const socket = await openSocket(socketUrl);
    const upgradeId = await new Promise<string | undefined>((resolve) => {
      if (socket.upgradeHeaders) resolve(socket.upgradeHeaders['x-request-id'] as string | undefined);
    });
    clock.advance(0.2);
    await socket.closed;
    expect(upgradeId).toMatch(/^req_/);
    expect(socket.frames[0]!.error.request_id).toBe(upgradeId);
  });

  it('an upgrade to another path is refused with the 404 envelope', async () => {
    server = await startRealtimeServer();
    await expect(openSocket(`${server.url}/v1/elsewhere`)).rejects.toThrow(/404/);
  });
});

describe('the session ending under an open socket', () => {
  it('admin revoke → session_ended (session_revoked, reason admin) within 1 s, then close 4003', async () => {
    server = await startRealtimeServer();
    const grant = await signIn(server.url);
    const { socket } = await readySocket(server.socketUrl, grant.access_token);
    const started = Date.now();
    const revoked = await call(`${server.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBeLessThan(300);
    const ended = await socket.next('session_ended', 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ended.error).toMatchObject({ success: false, error: 'session_revoked', details: [{ reason: 'admin' }] });
    const closed = await socket.closed;
    expect(closed).toMatchObject({ code: 4003, reason: 'session_revoked' });
    expect(closed.at - started).toBeLessThan(1000);
  });

  it('a revocation that lands while the first auth is being checked still ends the socket (no ready)', async () => {
    server = await startRealtimeServer();
    const grant = await signIn(server.url);
    const { sessions } = server.tessera;
    const authenticate = sessions.authenticate.bind(sessions);
    // The session is read as active, then revoked before the socket is tracked for its events.
    sessions.authenticate = async (token) => {
      const found = await authenticate(token);
      await sessions.revokeSession(found.session.id, 'admin');
      return found;
    };
    const socket = await openSocket(server.socketUrl);
    socket.auth(grant.access_token);
    expect(await socket.closed).toMatchObject({ code: 4003 });
    expect(socket.frames.map((frame) => frame.type)).toEqual(['session_ended']);
  });

  it('logout over HTTP → session_ended with reason logout, 4003; other sessions of the user keep their sockets', async () => {
    server = await startRealtimeServer();
    const mine = await signIn(server.url);
    const other = await signIn(server.url);
    const { socket } = await readySocket(server.socketUrl, mine.access_token);
    const { socket: otherSocket } = await readySocket(server.socketUrl, other.access_token);
    expect((await call(`${server.url}/v1/session/logout`, { method: 'POST', token: mine.access_token })).status).toBeLessThan(300);
    expect((await socket.next('session_ended', 1000)).error.details[0].reason).toBe('logout');
    expect((await socket.closed).code).toBe(4003);
    await sleep(100);
    expect(otherSocket.ws.readyState).toBe(otherSocket.ws.OPEN);
    otherSocket.ws.close();
  });

  it('absolute expiry → session_ended (session_expired, reason absolute), close 4005, no token_expiring', async () => {
    const { clock, url, socketUrl } = await startManual({ config: { flows: { short: { absolute_lifetime: 2 } } } });
    const grant = await signIn(url, 'alice', 'short');
    const { socket } = await readySocket(socketUrl, grant.access_token);
    // Nothing before the end (no token_expiring for a token cut by the absolute end): the round trip of
    // a re-auth, queued behind anything the timers started, comes back as a plain ready.
    advanceTo(clock, Date.parse(grant.session.expires_at) - 1);
    socket.auth(grant.access_token);
    await socket.next('ready');
    advanceTo(clock, Date.parse(grant.session.expires_at));
    const ended = await socket.next('session_ended', 5000);
    expect(ended.error).toMatchObject({ error: 'session_expired', details: [{ reason: 'absolute' }], timestamp: grant.session.expires_at });
    expect(await socket.closed).toMatchObject({ code: 4005, reason: 'session_expired' });
    expect(socket.frames.map((frame) => frame.type)).toEqual(['ready', 'ready', 'session_ended']);
  });

  it('idle expiry → session_ended (reason idle), close 4005', async () => {
    const { clock, url, socketUrl } = await startManual({ config: { flows: { idle: { idle_timeout: 2, access_token_ttl: 60 } } } });
    const grant = await signIn(url, 'alice', 'idle');
    const { socket } = await readySocket(socketUrl, grant.access_token);
    clock.advance(2);
    const ended = await socket.next('session_ended', 5000);
    expect(ended.error).toMatchObject({ error: 'session_expired', details: [{ reason: 'idle' }], timestamp: grant.session.idle_expires_at });
    expect((await socket.closed).code).toBe(4005);
  });

  it('a refresh pushes the idle end: the socket re-authenticated with the new token outlives the old end, then ends idle', async () => {
    const { clock, url, socketUrl } = await startManual({ config: { flows: { idle: { idle_timeout: 3, access_token_ttl: 60 } } } });
    const grant = await signIn(url, 'alice', 'idle');
    const { socket } = await readySocket(socketUrl, grant.access_token);
    const createdAt = Date.parse(grant.session.created_at);
    const firstEnd = Date.parse(grant.session.idle_expires_at);
    advanceTo(clock, createdAt + 1500);
    const refreshed = await call(`${url}/v1/token/refresh`, { body: { refresh_token: grant.refresh_token } });
    expect(refreshed.status).toBe(200);
    const newEnd = Date.parse(refreshed.body.session.idle_expires_at);
    expect(newEnd).toBeGreaterThan(firstEnd);
    socket.auth(refreshed.body.access_token);
    await socket.next('ready');
    advanceTo(clock, firstEnd + 500);
    // A re-auth is queued behind whatever the old end's timer started: a ready back means the socket lived on.
    socket.auth(refreshed.body.access_token);
    await socket.next('ready');
    expect(socket.ws.readyState, JSON.stringify(socket.frames)).toBe(socket.ws.OPEN);
    advanceTo(clock, newEnd);
    const ended = await socket.next('session_ended', 5000);
    expect(ended.error.details[0].reason).toBe('idle');
    expect(ended.error.timestamp).toBe(new Date(newEnd).toISOString());
    expect((await socket.closed).code).toBe(4005);
  });
});

describe('access tokens on a long-lived socket', () => {
  it('token_expiring at half the life of a short token; a token left to expire → 4001 at exp', async () => {
    const { clock, url, socketUrl } = await startManual({ config: { flows: { brief: { access_token_ttl: 2 } } } });
    const grant = await signIn(url, 'alice', 'brief');
    const { socket } = await readySocket(socketUrl, grant.access_token);
    const exp = Date.parse(grant.access_token_expires_at);
    advanceTo(clock, exp - 1001);
    // Not yet: the re-auth's ready comes back with nothing before it.
    socket.auth(grant.access_token);
    await socket.next('ready');
    advanceTo(clock, exp - 1000);
    const warning = await socket.next('token_expiring', 5000);
    expect(warning).toEqual({ type: 'token_expiring', access_token_expires_at: grant.access_token_expires_at });
    advanceTo(clock, exp - 1);
    socket.auth(grant.access_token);
    await socket.next('ready');
    expect(socket.frames.map((frame) => frame.type)).toEqual(['ready', 'ready', 'token_expiring', 'ready']);
    advanceTo(clock, exp);
    const closed = await socket.closed;
    expect(closed).toMatchObject({ code: 4001, reason: 'token_expired' });
    expect(socket.frames.at(-1)).toMatchObject({
      type: 'error',
      error: { error: 'token_expired', timestamp: grant.access_token_expires_at, details: [{ expired_at: grant.access_token_expires_at }] },
    });
  });

  it('a day-long token on a socket left open overnight: token_expiring 60 s (the leeway) before exp, 4001 at exp', async () => {
    // A day moved in one go leaves the client no moment to answer pings: the heartbeat is set beyond it here.
    const { clock, url, socketUrl } = await startManual({
      config: { flows: { long: { access_token_ttl: 86_400, idle_timeout: 172_800 } } },
      realtime: { heartbeatInterval: 200_000 },
    });
    const grant = await signIn(url, 'alice', 'long');
    const { socket } = await readySocket(socketUrl, grant.access_token);
    const exp = Date.parse(grant.access_token_expires_at);
    advanceTo(clock, exp - 60_001);
    socket.auth(grant.access_token);
    await socket.next('ready');
    expect(socket.frames.map((frame) => frame.type)).toEqual(['ready', 'ready']);
    advanceTo(clock, exp - 60_000);
    expect(await socket.next('token_expiring')).toEqual({ type: 'token_expiring', access_token_expires_at: grant.access_token_expires_at });
    advanceTo(clock, exp);
    expect(await socket.closed).toMatchObject({ code: 4001, reason: 'token_expired' });
    expect(socket.frames.at(-1)!.error.timestamp).toBe(grant.access_token_expires_at);
  });

  it('on the wall clock: token_expiring before exp, then 4001 (system timers, end to end)', async () => {
    server = await startRealtimeServer({ config: { flows: { brief: { access_token_ttl: 2 } } } });
    const grant = await signIn(server.url, 'alice', 'brief');
    const { socket } = await readySocket(server.socketUrl, grant.access_token);
    const exp = Date.parse(grant.access_token_expires_at);
    const warning = await socket.next('token_expiring', 5000);
    expect(Date.now()).toBeLessThan(exp);
    expect(warning).toEqual({ type: 'token_expiring', access_token_expires_at: grant.access_token_expires_at });
    const closed = await socket.closed;
    expect(closed).toMatchObject({ code: 4001, reason: 'token_expired' });
    expect(closed.at).toBeGreaterThanOrEqual(exp);
    expect(socket.frames.at(-1)).toMatchObject({ type: 'error', error: { error: 'token_expired' } });
  });

  it('stays open across three access-token lifetimes by re-authenticating in band on token_expiring', async () => {
    const { clock, url, socketUrl } = await startManual({ config: { flows: { brief: { access_token_ttl: 3 } } } });
    let grant = await signIn(url, 'alice', 'brief');
    const { socket } = await readySocket(socketUrl, grant.access_token);
    const firstExp = Date.parse(grant.access_token_expires_at);
    const tokens = new Set([grant.access_token]);
    while (clock.now() < firstExp + 6_500) {
      // The warning comes at half the token's life, 1.5 s before its exp.
      advanceTo(clock, Date.parse(grant.access_token_expires_at) - 1500);
      const warning = await socket.next('token_expiring', 5000);
      expect(clock.now()).toBeLessThan(Date.parse(warning.access_token_expires_at));
      expect(warning.access_token_expires_at).toBe(grant.access_token_expires_at);
      const refreshed = await call(`${url}/v1/token/refresh`, { body: { refresh_token: grant.refresh_token } });
      expect(refreshed.status).toBe(200);
      grant = refreshed.body;
      tokens.add(grant.access_token);
      socket.auth(grant.access_token);
      const ready = await socket.next('ready');
      expect(ready).toEqual({ type: 'ready', session_id: grant.session.id, access_token_expires_at: grant.access_token_expires_at });
    }
    expect(tokens.size).toBeGreaterThanOrEqual(4);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    expect(socket.frames.some((frame) => frame.type === 'error' || frame.type === 'session_ended')).toBe(false);
    socket.ws.close();
  });

  it("re-auth with another session's token is refused: token_invalid (session_mismatch), close 4002", async () => {
    server = await startRealtimeServer();
    const mine = await signIn(server.url);
    const theirs = await signIn(server.url, 'mallory');
    const { socket } = await readySocket(server.socketUrl, mine.access_token);
    socket.auth(theirs.access_token);
    expect(await socket.closed).toMatchObject({ code: 4002, reason: 'token_invalid' });
    expect(socket.frames.at(-1)).toMatchObject({ type: 'error', error: { error: 'token_invalid', details: [{ reason: 'session_mismatch' }] } });
  });
});

describe('robustness', () => {
  it('a client over the message rate → rate_limited, close 4429', async () => {
    server = await startRealtimeServer({ realtime: { messageRate: { perSecond: 5, burst: 10 } } });
    const grant = await signIn(server.url);
    const { socket } = await readySocket(server.socketUrl, grant.access_token);
    for (let i = 0; i < 30; i++) socket.sendJson({ type: 'message', data: i });
    expect(await socket.closed).toMatchObject({ code: 4429, reason: 'rate_limited' });
  });

  it('a message over the size limit → close 1009', async () => {
    server = await startRealtimeServer({ realtime: { maxPayload: 1024 } });
    const grant = await signIn(server.url);
    const { socket } = await readySocket(server.socketUrl, grant.access_token);
    socket.sendJson({ type: 'message', data: 'x'.repeat(2048) });
    expect((await socket.closed).code).toBe(1009);
  });

  it('a slow consumer is dropped rather than buffered without bound', async () => {
    let pushTo: ((data: unknown) => boolean) | null = null;
    server = await startRealtimeServer({
      realtime: { maxBufferedBytes: 256 * 1024, onConnection: (connection) => (pushTo = (data) => connection.send(data)) },
    });
    const grant = await signIn(server.url);
    const { socket } = await readySocket(server.socketUrl, grant.access_token);
    // The client stops reading: the kernel buffers fill, then the server's own queue grows.
    (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (pushTo!(chunk) && sent < 10_000) {
      sent++;
      if (sent % 50 === 0) await sleep(1);
    }
    expect(sent).toBeLessThan(10_000);
    expect(server.realtime.dropped.slowConsumer).toBe(1);
    for (let waited = 0; server.realtime.size > 0 && waited < 2000; waited += 20) await sleep(20);
    expect(server.realtime.size).toBe(0);
  });

  it('a peer that stops answering pings is dropped by the second heartbeat (30 s apart by default)', async () => {
    const { clock, url, socketUrl, realtime } = await startManual();
    const start = clock.now();
    const grant = await signIn(url);
    const { socket: dead } = await readySocket(socketUrl, grant.access_token, { autoPong: false });
    const { socket: live } = await readySocket(socketUrl, grant.access_token);
    const pinged = new Promise((resolve) => live.ws.once('ping', resolve));
    advanceTo(clock, start + 29_999);
    expect(realtime.dropped.heartbeat).toBe(0);
    advanceTo(clock, start + 30_000);
    await pinged;
    // The live peer's pong went out before this auth, on the same connection: the server has read it by the ready.
    live.auth(grant.access_token);
    await live.next('ready');
    expect(realtime.dropped.heartbeat).toBe(0);
    advanceTo(clock, start + 60_000);
    expect(realtime.dropped.heartbeat).toBe(1);
    expect((await dead.closed).code).toBe(1006);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    live.ws.close();
  });

  it('on the wall clock: a peer that stops answering pings is dropped by the heartbeat (system timers, end to end)', async () => {
    // 1 s apart: the live peer has a whole second to answer each ping, however busy the machine.
    server = await startRealtimeServer({ realtime: { heartbeatInterval: 1 } });
    const grant = await signIn(server.url);
    const { socket: dead } = await readySocket(server.socketUrl, grant.access_token, { autoPong: false });
    const { socket: live } = await readySocket(server.socketUrl, grant.access_token);
    const closed = await dead.closed;
    expect(closed.code).toBe(1006);
    expect(server.realtime.dropped.heartbeat).toBe(1);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    live.ws.close();
  });

  it('server shutdown closes sockets with 1001', async () => {
    server = await startRealtimeServer();
    const grant = await signIn(server.url);
    const { socket } = await readySocket(server.socketUrl, grant.access_token);
    await server.realtime.close();
    expect((await socket.closed).code).toBe(1001);
  });
});
