// The client against the real server: real HTTP on loopback, real SQLite, the server's own clock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, FastForwardClock } from '../../server/src/core/clock.js';
import { buildApp } from '../../server/src/http/app.js';
import { call, startCore, startServer, type TestServer, type TestTessera, testApiKey } from '../../server/test/helpers.js';
import { createSessionClient, type SessionClient, type SessionClientOptions, SessionEndedError, SilentAuthFailedError, type TokenGrant } from '../src/index.js';
import { FakePage } from './fakes.js';
import { fastForwardTimers } from './fast-forward-timers.js';

/** Real time plus an offset the test moves: timers still run, "fifteen minutes later" takes no time. */
class OffsetClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(seconds: number): void {
    this.offset += seconds * 1000;
  }
}

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly status: number | 'network error';
}

/** A `fetch` that records every request the client makes, and its outcome. */
function recordingFetch(): { fetch: typeof fetch; seen: Seen[]; count: (path: string) => number } {
  const seen: Seen[] = [];
  const recording = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    try {
      const response = await fetch(request);
      seen.push({ method: request.method, path, status: response.status });
      return response;
    } catch (error) {
      seen.push({ method: request.method, path, status: 'network error' });
      throw error;
    }
  };
  return { fetch: recording, seen, count: (path) => seen.filter((entry) => entry.path === path).length };
}

function spyHandler() {
  return {
    onSessionRefreshed: vi.fn(),
    onSessionExpired: vi.fn(),
    onSessionRevoked: vi.fn(),
    onSessionError: vi.fn(),
    onSessionClosed: vi.fn(),
  };
}

async function signIn(url: string, userId = 'alice'): Promise<TokenGrant> {
  const created = await call(`${url}/v1/sessions`, { body: { user_id: userId }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body as TokenGrant;
}

async function serverRefreshes(url: string): Promise<{ fresh: number; replayed: number }> {
  const metrics = await call(`${url}/metrics`);
  const read = (replayed: string) => Number(new RegExp(`tessera_refreshes_total\\{replayed="${replayed}"\\} (\\d+)`).exec(metrics.text)?.[1] ?? 0);
  return { fresh: read('false'), replayed: read('true') };
}

let server: TestServer | null = null;
let clients: SessionClient[] = [];

function client(options: Partial<SessionClientOptions> & Pick<SessionClientOptions, 'baseUrl'>): SessionClient {
  const created = createSessionClient({ tabs: false, ...options });
  clients.push(created);
  return created;
}

afterEach(async () => {
  for (const each of clients) each.dispose();
  clients = [];
  await server?.close();
  server = null;
});

describe('against the real server', () => {
  it('fifty concurrent getAccessToken() calls send exactly one refresh', async () => {
    server = await startServer();
    const clock = server.clock;
    const recorder = recordingFetch();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, now: () => clock.now() });
    const grant = await signIn(server.url);
    session.setSession(grant);

    clock.advance(14.5 * 60); // inside the leeway of a 15-minute token
    const tokens = await Promise.all(Array.from({ length: 50 }, () => session.getAccessToken()));

    expect(recorder.count('/v1/token/refresh')).toBe(1);
    expect(await serverRefreshes(server.url)).toEqual({ fresh: 1, replayed: 0 });
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(grant.access_token);
    const whoami = await call(`${server.url}/v1/session`, { token: tokens[0] });
    expect(whoami.status).toBe(200);
    expect(whoami.body.session.id).toBe(grant.session?.id);
  });

  it('DPoP with server nonces: the refresh is retried once with the nonce it was told, then its token works through client.fetch', async () => {
    server = await startServer({ config: { dpop_nonce: true, flows: { device: { dpop: 'required', dpop_misuse: 'revoke' } } } });
    const clock = server.clock;
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, now: () => clock.now(), dpop: true, handler });
    const created = await call(`${server.url}/v1/sessions`, {
      body: { user_id: 'alice', flow: 'device', dpop_jkt: await session.dpopThumbprint() },
      token: testApiKey,
    });
    expect(created.status).toBe(201);
    session.setSession(created.body as TokenGrant);

    clock.advance(14.5 * 60);
    const token = await session.getAccessToken();
    expect(token).not.toBe(created.body.access_token);
    // Told the nonce by the first answer, the client made one more proof with it, and no more.
    expect(recorder.seen.filter((entry) => entry.path === '/v1/token/refresh').map((entry) => entry.status)).toEqual([401, 200]);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt: string } };
    expect(claims.cnf?.jkt).toBe(await session.dpopThumbprint());

    const whoami = await session.fetch(`${server.url}/v1/session`);
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { session: { id: string; status: string } }).session).toMatchObject({ id: created.body.session.id, status: 'active' });
    expect(handler.onSessionRevoked).not.toHaveBeenCalled();
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
  });

  for (const [label, skew] of [
    ['ahead', 10 * 60_000],
    ['behind', -10 * 60_000],
  ] as const) {
    it(`a device clock ten minutes ${label} refreshes on time and never loops`, async () => {
      server = await startServer();
      const clock = server.clock;
      const recorder = recordingFetch();
      const session = client({ baseUrl: server.url, fetch: recorder.fetch, now: () => clock.now() + skew });
      const grant = await signIn(server.url);
      session.setSession(grant);
      expect(Math.abs(session.clockSkew - skew)).toBeLessThan(2500);

      clock.advance(15 * 60 - 61); // exp − 61 s on the server
      expect(await session.getAccessToken()).toBe(grant.access_token);
      expect(recorder.count('/v1/token/refresh')).toBe(0);

      clock.advance(2); // exp − 59 s
      const fresh = await session.getAccessToken();
      expect(fresh).not.toBe(grant.access_token);
      expect(recorder.count('/v1/token/refresh')).toBe(1);
      for (let i = 0; i < 20; i++) expect(await session.getAccessToken()).toBe(fresh);
      expect(recorder.count('/v1/token/refresh')).toBe(1);

      // An hour of API calls every 5 minutes: never an expired token sent, four refreshes.
      for (let minute = 0; minute < 60; minute += 5) {
        clock.advance(5 * 60);
        const response = await session.fetch(`${server.url}/v1/session`);
        expect(response.status).toBe(200);
      }
      expect(recorder.seen.filter((entry) => entry.status === 401)).toEqual([]);
      expect(recorder.count('/v1/token/refresh')).toBe(5);
    });
  }

  it('on its own timers, with the clock off by ten minutes either way, keeps a 10-second token fresh', async () => {
    // Server and client timers on one clock that runs and jumps: each second of it is a jump, taken
    // once the held token outlives it by a second (a refresh slow under load delays the test; one that
    // never comes, or comes 10 minutes late by the skew, fails it).
    const clock = new FastForwardClock();
    server = await startServer({ clock, config: { flows: { default: { access_token_ttl: 10 } } } });
    const url = server.url;
    for (const skew of [10 * 60_000, -10 * 60_000]) {
      const recorder = recordingFetch();
      let latest = '';
      const session = client({
        baseUrl: url,
        fetch: recorder.fetch,
        timers: fastForwardTimers(clock),
        now: () => clock.now() + skew,
        leeway: 2,
        handler: { onSessionRefreshed: (event) => void (latest = event.accessToken) },
      });
      const grant = await signIn(url);
      latest = grant.access_token;
      session.setSession(grant);
      const heldUntil = () => Number(JSON.parse(Buffer.from(latest.split('.')[1]!, 'base64url').toString()).exp) * 1000;
      for (let second = 0; second < 22; second++) {
        await vi.waitFor(() => expect(heldUntil()).toBeGreaterThan(clock.now() + 2000), { timeout: 10_000, interval: 10 });
        clock.fastForward(1);
        await new Promise((resolve) => setTimeout(resolve, 10));
        // No getAccessToken() here: the client's own timer must keep the held token valid.
        const whoami = await call(`${url}/v1/session`, { token: latest });
        expect(whoami.status).toBe(200);
      }
      // A 10 s token (iat floored to the second) refreshed 2 s before exp: every 7 to 8 s, never in a loop.
      const refreshes = recorder.count('/v1/token/refresh');
      expect(refreshes).toBeGreaterThanOrEqual(2);
      expect(refreshes).toBeLessThanOrEqual(4);
      expect(await session.getAccessToken()).toBe(latest);
    }
  });

  it('one-second tokens (the shortest a flow allows) are refreshed once a second, never in a loop', async () => {
    // `iat` and `exp` are whole seconds: a 1 s token issued at .7 is due (half its life) at once, and
    // every refresh within that second brings the same `exp`. Such a client sent ~90 refreshes a second.
    server = await startServer({ clock: { now: () => Date.now() }, config: { flows: { default: { access_token_ttl: 1 } } } });
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, handler });
    session.setSession(await signIn(server.url));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(recorder.count('/v1/token/refresh')).toBeGreaterThanOrEqual(2);
    expect(recorder.count('/v1/token/refresh')).toBeLessThanOrEqual(6);
    const whoami = await session.fetch(`${server.url}/v1/session`);
    expect(whoami.status).toBe(200);
    // The session is kept; on one-second tokens the next refresh may be in flight at this instant.
    expect(['active', 'refreshing']).toContain(session.state);
    expect(recorder.seen.filter((entry) => entry.path === '/v1/token/refresh').every((entry) => entry.status === 200)).toBe(true);
    expect(handler.onSessionError).not.toHaveBeenCalled();
  });

  it('a one-second idle timeout: refreshed half-way to each idle end, never in a loop, and the session stays alive', async () => {
    // Tokens are cut to the whole second below the idle end: 1 s by iat and exp, whatever is left of it.
    // Due half-way by those, a token issued past the half second was due at once, each refresh bringing
    // the same exp (~100 refreshes a second). Half-way to the idle end, to the millisecond, is on time.
    server = await startServer({ clock: { now: () => Date.now() }, config: { flows: { default: { access_token_ttl: 60, idle_timeout: 1 } } } });
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, handler });
    session.setSession(await signIn(server.url));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(recorder.count('/v1/token/refresh')).toBeGreaterThanOrEqual(3);
    expect(recorder.count('/v1/token/refresh')).toBeLessThanOrEqual(10);
    expect(recorder.seen.filter((entry) => entry.path === '/v1/token/refresh').every((entry) => entry.status === 200)).toBe(true);
    const whoami = await session.fetch(`${server.url}/v1/session`);
    expect(whoami.status).toBe(200);
    // The session is kept; on one-second tokens the next refresh may be in flight at this instant.
    expect(['active', 'refreshing']).toContain(session.state);
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
  });

  it('a device clock stuck in the past gets token_expired once, refreshes, retries and learns the offset', async () => {
    server = await startServer();
    const clock = server.clock;
    const recorder = recordingFetch();
    const stuckAt = clock.now();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, now: () => stuckAt });
    session.setSession(await signIn(server.url));
    clock.advance(16 * 60);

    const response = await session.fetch(`${server.url}/v1/session`);
    expect(response.status).toBe(200);
    expect(recorder.seen.map((entry) => `${entry.method} ${entry.path} ${entry.status}`)).toEqual([
      'GET /v1/session 401',
      'POST /v1/token/refresh 200',
      'GET /v1/session 200',
    ]);
    expect(Math.round(session.clockSkew / 60_000)).toBe(-16);
  });

  it('an admin revocation reaches onSessionRevoked with its reason exactly once', async () => {
    server = await startServer();
    const clock = server.clock;
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, now: () => clock.now(), handler });
    const grant = await signIn(server.url);
    session.setSession(grant);

    const revoked = await call(`${server.url}/v1/sessions/${grant.session?.id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBe(200);
    const apiCalls = Array.from({ length: 5 }, () => session.fetch(`${server!.url}/v1/session`));
    await new Promise((resolve) => setTimeout(resolve, 0)); // the API calls are on the wire
    clock.advance(14.5 * 60); // and the token is due: refreshes race them
    const tokenCalls = Array.from({ length: 5 }, () => session.getAccessToken().catch((error: unknown) => error));
    const apiResults = await Promise.allSettled(apiCalls);
    const errors = await Promise.all(tokenCalls);

    // Each API call either went out and got the 401, or joined the refresh and got its error.
    for (const result of apiResults) {
      if (result.status === 'fulfilled') expect(result.value.status).toBe(401);
      else expect(result.reason).toBeInstanceOf(SessionEndedError);
    }
    expect(errors.every((error) => error instanceof SessionEndedError && error.code === 'session_revoked')).toBe(true);
    expect(handler.onSessionRevoked).toHaveBeenCalledTimes(1);
    expect(handler.onSessionRevoked.mock.calls[0]![0]).toBe('admin');
    expect(handler.onSessionClosed).toHaveBeenCalledExactlyOnceWith('session_revoked');
    expect(session.state).toBe('ended');

    const before = recorder.seen.length;
    await expect(session.getAccessToken()).rejects.toBeInstanceOf(SessionEndedError);
    expect(recorder.seen.length).toBe(before);
  });

  it('logoutOthers on one device reaches the other as signed_out_elsewhere; logout revokes this one', async () => {
    server = await startServer();
    const clock = server.clock;
    const laptopHandler = spyHandler();
    const laptop = client({ baseUrl: server.url, now: () => clock.now(), handler: laptopHandler });
    const phone = client({ baseUrl: server.url, now: () => clock.now() });
    laptop.setSession(await signIn(server.url));
    const phoneGrant = await signIn(server.url);
    phone.setSession(phoneGrant);

    const result = await phone.logoutOthers();
    expect(result.revoked).toBe(1);
    clock.advance(14.5 * 60);
    await expect(laptop.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
    expect(laptopHandler.onSessionRevoked).toHaveBeenCalledTimes(1);
    expect(laptopHandler.onSessionRevoked.mock.calls[0]![0]).toBe('signed_out_elsewhere');

    await phone.logout();
    const record = await call(`${server.url}/v1/sessions/${phoneGrant.session?.id}`, { token: testApiKey });
    expect(record.body).toMatchObject({ status: 'revoked', revoked_reason: 'logout' });
    expect(phone.state).toBe('signed_out');
  });

  it('sessions() lists both devices as the real server parsed them; endSession ends the other, which then learns it', async () => {
    server = await startServer();
    const clock = server.clock;
    const chrome = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const laptopHandler = spyHandler();
    const laptop = client({ baseUrl: server.url, now: () => clock.now(), handler: laptopHandler });
    const phone = client({ baseUrl: server.url, now: () => clock.now() });
    const laptopGrant = (
      await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice', device: { user_agent: chrome, ip: '203.0.113.7' } }, token: testApiKey })
    ).body as TokenGrant;
    laptop.setSession(laptopGrant);
    clock.advance(1);
    phone.setSession(await signIn(server.url));

    const seen = await phone.sessions();
    expect(seen.map((device) => [device.id, device.current])).toEqual([
      [phone.sessionId, true],
      [laptop.sessionId, false],
    ]);
    expect(seen[1]).toMatchObject({ browser: 'Chrome 131', os: 'macOS', ip: '203.0.113.7', userAgent: chrome });
    expect(seen[1]!.lastSeenAt.getTime()).toBe(Date.parse(laptopGrant.session!.created_at));

    await phone.endSession(laptop.sessionId!);
    clock.advance(14.5 * 60);
    await expect(laptop.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
    expect(laptopHandler.onSessionRevoked.mock.calls[0]![0]).toBe('signed_out_elsewhere');
    expect((await phone.sessions()).map((device) => device.id)).toEqual([phone.sessionId]);
    await expect(phone.endSession('ses_of_nobody')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('the server stopped for a while', () => {
  let core: TestTessera | null = null;
  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('gives silent_auth_failed, keeps the session, and recovers on its own when the server is back', async () => {
    const clock = new OffsetClock();
    core = await startCore({ clock });
    let app = await buildApp(core.tessera);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const url = `http://127.0.0.1:${port}`;

    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: url, fetch: recorder.fetch, now: () => clock.now(), handler, retry: { initialDelay: 0.1, maxDelay: 0.4 } });
    const grant = await signIn(url);
    session.setSession(grant);

    await app.close();
    clock.advance(16 * 60); // the access token expired while the server was down
    const error = await session.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SilentAuthFailedError);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(recorder.count('/v1/token/refresh')).toBeGreaterThanOrEqual(3); // retried with backoff
    expect(recorder.seen.every((entry) => entry.status === 'network error' || entry.path !== '/v1/token/refresh')).toBe(true);
    // The session is kept; a retry may be in flight at this instant ('refreshing'), more so on a busy machine.
    expect(['active', 'refreshing']).toContain(session.state);
    expect(session.sessionId).toBe(grant.session?.id);
    expect(handler.onSessionError).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).not.toHaveBeenCalled();

    app = await buildApp(core.tessera);
    await app.listen({ port, host: '127.0.0.1' });
    try {
      await vi.waitFor(() => expect(handler.onSessionRefreshed).toHaveBeenCalledTimes(1), { timeout: 3000, interval: 50 });
      const whoami = await session.fetch(`${url}/v1/session`);
      expect(whoami.status).toBe(200);
      expect(((await whoami.json()) as { session: { id: string } }).session.id).toBe(grant.session?.id);
      expect(session.state).toBe('active');
      expect(handler.onSessionClosed).not.toHaveBeenCalled();
      expect(handler.onSessionError).toHaveBeenCalledTimes(1);
    } finally {
      await app.close();
    }
  });
});

describe("the session's absolute end", () => {
  async function signInTo(url: string, flow: string): Promise<TokenGrant> {
    const created = await call(`${url}/v1/sessions`, { body: { user_id: 'alice', flow }, token: testApiKey });
    expect(created.status).toBe(201);
    return created.body as TokenGrant;
  }

  it('refreshes on schedule until a token reaches it, then none: the session ends at its end, reason absolute, never in a refresh loop', async () => {
    // Tokens of 20 s, due 10 s after issue; the session ends 50 s after sign-in. The refresh at ~30 s
    // brings a token that ends with the session; a client that kept refreshing it early would get
    // ever shorter tokens, and in the last seconds tokens already expired when issued (dozens a second).
    // Server and client run on one clock that the test moves a second at a time, each jump once no
    // refresh is in flight; time runs between jumps, so a refresh loop would show.
    const clock = new FastForwardClock();
    server = await startServer({ clock, config: { flows: { brief: { access_token_ttl: 20, absolute_lifetime: 50 } } } });
    const recorder = recordingFetch();
    const handler = spyHandler();
    let expiredAt = 0;
    handler.onSessionExpired.mockImplementation(() => void (expiredAt = clock.now()));
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, leeway: 10, handler, timers: fastForwardTimers(clock) });
    const grant = await signInTo(server.url, 'brief');
    session.setSession(grant);
    const end = Date.parse(grant.session!.expires_at);

    while (clock.now() < end + 1000 && handler.onSessionExpired.mock.calls.length === 0) {
      await vi.waitFor(() => expect(session.state).not.toBe('refreshing'), { timeout: 10_000, interval: 10 });
      clock.fastForward(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await vi.waitFor(() => expect(handler.onSessionExpired).toHaveBeenCalledTimes(1), { timeout: 3000, interval: 50 });
    // Ended with its last token (whole seconds: up to 1 s before the end), not before.
    expect(expiredAt).toBeGreaterThanOrEqual(end - 1000);
    expect(recorder.count('/v1/token/refresh')).toBeGreaterThanOrEqual(2);
    expect(recorder.count('/v1/token/refresh')).toBeLessThanOrEqual(4);
    expect(recorder.seen.filter((entry) => entry.path === '/v1/token/refresh').every((entry) => entry.status === 200)).toBe(true);
    const [ended] = handler.onSessionExpired.mock.calls[0] as [SessionEndedError];
    expect(ended).toBeInstanceOf(SessionEndedError);
    expect(ended.reason).toBe('absolute');
    expect(session.state).toBe('ended');
    expect(handler.onSessionClosed).toHaveBeenCalledExactlyOnceWith('session_expired');
    const after = await session.getAccessToken().catch((caught: unknown) => caught);
    expect(after).toMatchObject({ code: 'session_expired' });
    // The server agrees, once its end has passed.
    clock.fastForward(Math.max(0, end - clock.now() + 50) / 1000);
    expect((await call(`${server.url}/v1/sessions/${grant.session!.id}`, { token: testApiKey })).body.status).toBe('expired');
  });

  it('an idle end in the last second before the absolute end is an idle end: a page shown after it hears `idle` from the server', async () => {
    // The server's clock is set so the refresh lands 0.6 s after a whole second, 0.4 s before the
    // session's first second is up: the idle end (refresh + 3 s) falls 0.4 s before the absolute end
    // (sign-in + 4 s), and the token is cut to the whole second below it, within 1 s of the absolute end.
    const clock = new OffsetClock();
    server = await startServer({ clock, config: { flows: { edge: { access_token_ttl: 60, idle_timeout: 3, absolute_lifetime: 4 } } } });
    clock.offset = 500 - (Date.now() % 1000);
    const signedIn = await signInTo(server.url, 'edge');
    clock.offset += Math.floor(Date.parse(signedIn.session!.created_at) / 1000) * 1000 + 1100 - clock.now();
    const refreshed = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: signedIn.refresh_token } });
    expect(refreshed.status).toBe(200);
    const grant = refreshed.body as TokenGrant;
    const idleEnd = Date.parse(grant.session!.idle_expires_at!);
    expect(idleEnd).toBeLessThan(Date.parse(grant.session!.expires_at));
    expect(Date.parse(grant.access_token_expires_at!)).toBeGreaterThanOrEqual(Date.parse(grant.session!.expires_at) - 1000);

    // A page hidden all along, shown after the idle end: the user was away, and the server says so.
    // The device's timers run with the wall clock and jump with the server's: the wait to the idle end is one jump.
    const page = new FakePage();
    page.hide();
    const recorder = recordingFetch();
    const handler = spyHandler();
    const device = new FastForwardClock();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, handler, environment: page, timers: fastForwardTimers(device) });
    session.setSession(grant);
    const away = Math.max(0, idleEnd - clock.now() + 300);
    clock.advance(away / 1000);
    device.fastForward(away / 1000);
    page.show();
    await vi.waitFor(() => expect(handler.onSessionClosed).toHaveBeenCalledTimes(1), { timeout: 5000, interval: 50 });
    expect(handler.onSessionExpired).toHaveBeenCalledTimes(1);
    expect((handler.onSessionExpired.mock.calls[0] as [SessionEndedError])[0].reason).toBe('idle');
    expect(session.endError?.reason).toBe('idle');
    expect(recorder.seen).toEqual([{ method: 'POST', path: '/v1/token/refresh', status: 401 }]);
  });

  it('a token that ends a whole second before an absolute end on a whole second is not cut by it: refreshed, the session lasts to its end', async () => {
    // The server's clock stands on whole seconds: the session ends at 09:02:00.000, and a refresh at
    // 09:00:59 brings a 60 s token ending at 09:01:59, exactly 1 s before. The server cuts a token to the
    // second below the end (always more than 1 s before it), so this one is cut by its TTL, not the end.
    server = await startServer({ config: { flows: { edge: { access_token_ttl: 60, absolute_lifetime: 120 } } } });
    const clock = server.clock;
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, handler, leeway: 1, now: () => clock.now() });
    const grant = await signInTo(server.url, 'edge');
    session.setSession(grant);
    const end = Date.parse(grant.session!.expires_at);
    clock.advance(59);
    await session.getAccessToken();
    expect(session.accessTokenExpiresAt?.getTime()).toBe(end - 1000);

    clock.advance(59.5); // 09:01:58.5: due, 1 s before its exp
    const last = await session.getAccessToken();
    expect(recorder.count('/v1/token/refresh')).toBe(2);
    expect(session.accessTokenExpiresAt?.getTime()).toBe(end);
    clock.advance(1); // 09:01:59.5: the session is still on, and so is its last token
    expect(await session.getAccessToken()).toBe(last);
    expect((await session.fetch(`${server.url}/v1/session`)).status).toBe(200);
    expect(session.state).toBe('active');
    expect(handler.onSessionClosed).not.toHaveBeenCalled();

    clock.advance(0.5); // 09:02:00.0: its end
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'session_expired', reason: 'absolute' });
    expect(recorder.count('/v1/token/refresh')).toBe(2);
  });

  it('a device clock set forward past the exp of the last token does not end the session here: the server is asked, and the session goes on', async () => {
    // The session's first token lasts until its absolute end, ten minutes on. The device clock is then
    // set eleven minutes forward (a wrong manual setting, a bad time sync) while the server's moves 10 s.
    server = await startServer({ config: { flows: { edge: { access_token_ttl: 900, absolute_lifetime: 600 } } } });
    const serverClock = server.clock;
    let deviceAhead = 0;
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, handler, now: () => serverClock.now() + deviceAhead });
    const grant = await signInTo(server.url, 'edge');
    session.setSession(grant);
    serverClock.advance(10);
    deviceAhead = 11 * 60_000;

    const whoami = await session.fetch(`${server.url}/v1/session`);
    expect(whoami.status).toBe(200);
    expect(session.state).toBe('active');
    expect(handler.onSessionExpired).not.toHaveBeenCalled();
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
    // One request set the client right: its clock is read as eleven minutes ahead, the token is good.
    expect(recorder.count('/v1/token/refresh')).toBe(1);
    expect(Math.abs(session.clockSkew - 11 * 60_000)).toBeLessThan(2000);
    const token = await session.getAccessToken();
    expect(await session.getAccessToken()).toBe(token);
    expect(recorder.count('/v1/token/refresh')).toBe(1);

    // At the session's real end it ends, reason absolute.
    serverClock.advance(600);
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'session_expired', reason: 'absolute' });
    expect(handler.onSessionExpired).toHaveBeenCalledTimes(1);
  });

  it('a first token that already ends with the session is used to the end, with no refresh at all', async () => {
    // Server and client on one clock that runs and jumps: the two seconds pass in two jumps.
    const clock = new FastForwardClock();
    server = await startServer({ clock, config: { flows: { brief: { access_token_ttl: 900, absolute_lifetime: 2 } } } });
    const recorder = recordingFetch();
    const handler = spyHandler();
    const session = client({ baseUrl: server.url, fetch: recorder.fetch, handler, timers: fastForwardTimers(clock) });
    const grant = await signInTo(server.url, 'brief');
    session.setSession(grant);
    // Inside the default 60 s leeway from the start, yet nothing to gain by refreshing.
    expect(await session.getAccessToken()).toBe(grant.access_token);
    for (let second = 0; second < 3 && handler.onSessionExpired.mock.calls.length === 0; second++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      clock.fastForward(1);
    }
    await vi.waitFor(() => expect(handler.onSessionExpired).toHaveBeenCalledTimes(1), { timeout: 4000, interval: 50 });
    expect(recorder.count('/v1/token/refresh')).toBe(0);
    expect((handler.onSessionExpired.mock.calls[0] as [SessionEndedError])[0].reason).toBe('absolute');
  });
});
