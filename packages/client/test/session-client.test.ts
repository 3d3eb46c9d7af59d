import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createSessionClient,
  type SessionClient,
  type SessionClientOptions,
  SessionEndedError,
  type SessionHandler,
  SilentAuthFailedError,
  TesseraError,
} from '../src/index.js';
import { envelope, FakePage, FakeTessera, phoneDevice } from './fakes.js';

const sessionInfo = {
  id: 'ses_1',
  user_id: 'alice',
  flow: 'default',
  status: 'active',
  created_at: '2026-01-01T09:00:00.000Z',
  last_refreshed_at: null,
  expires_at: '2026-01-15T09:00:00.000Z',
  idle_expires_at: null,
  revoked_at: null,
  revoked_reason: null,
  metadata: {},
  device: null,
  last_seen_at: '2026-01-01T09:00:00.000Z',
  refresh_count: 0,
} as const;
const start = Date.UTC(2026, 0, 1, 9, 0, 0);
const minutes = (n: number) => n * 60_000;

let server: FakeTessera;
let page: FakePage;
let clients: SessionClient[];

function spyHandler() {
  return {
    onSessionRefreshed: vi.fn(),
    onSessionExpired: vi.fn(),
    onSessionRevoked: vi.fn(),
    onSessionError: vi.fn(),
    onSessionClosed: vi.fn(),
  } satisfies SessionHandler;
}

function client(options: Partial<SessionClientOptions> = {}): SessionClient {
  const created = createSessionClient({
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    environment: page,
    random: () => 0,
    tabs: false,
    ...options,
  });
  clients.push(created);
  return created;
}

beforeEach(() => {
  vi.useFakeTimers({ now: start });
  server = new FakeTessera();
  page = new FakePage();
  clients = [];
});

afterEach(() => {
  for (const each of clients) each.dispose();
  vi.useRealTimers();
});

describe('getAccessToken', () => {
  it('returns the held token without a request while it is fresh', async () => {
    const session = client();
    const grant = server.signIn();
    session.setSession(grant);
    expect(await session.getAccessToken()).toBe(grant.access_token);
    await vi.advanceTimersByTimeAsync(minutes(13));
    expect(await session.getAccessToken()).toBe(grant.access_token);
    expect(server.refreshCount).toBe(0);
  });

  it('sends one refresh for fifty concurrent callers of a due token', async () => {
    const session = client();
    const grant = server.signIn();
    session.setSession(grant);
    vi.setSystemTime(start + minutes(14.5)); // inside the leeway, without running the timer
    const tokens = await Promise.all(Array.from({ length: 50 }, () => session.getAccessToken()));
    expect(server.refreshCount).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(grant.access_token);
  });

  it('rejects with token_missing when signed out and nothing can mint a token', async () => {
    const session = client();
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'token_missing' });
    expect(server.requests).toEqual([]);
  });

  it('returns the old token when a refresh inside the leeway fails but the token has not expired', async () => {
    const session = client();
    const grant = server.signIn();
    session.setSession(grant);
    vi.setSystemTime(start + minutes(14.5));
    server.failNext({ kind: 'network' });
    expect(await session.getAccessToken()).toBe(grant.access_token);
    expect(session.state).toBe('active');
  });
});

describe('server time', () => {
  for (const [label, deviceOffset] of [
    ['ahead', minutes(10)],
    ['behind', -minutes(10)],
  ] as const) {
    it(`refreshes at exp − leeway on server time with a device clock ten minutes ${label}, and never loops`, async () => {
      const handler = spyHandler();
      const session = client({ now: () => Date.now() + deviceOffset, handler });
      session.setSession(server.signIn());
      expect(Math.abs(session.clockSkew - deviceOffset)).toBeLessThan(2500);
      vi.setSystemTime(start + minutes(5));
      await session.getAccessToken();
      expect(server.refreshCount).toBe(0);
      vi.setSystemTime(start);

      await vi.advanceTimersByTimeAsync(minutes(14) - 1000);
      expect(server.refreshCount).toBe(0);
      await vi.advanceTimersByTimeAsync(2000);
      expect(server.refreshCount).toBe(1);
      expect(session.clockSkew).toBe(deviceOffset); // the refresh was timed: exact on a frozen network

      // Another hour: one refresh per 14 minutes, no more.
      await vi.advanceTimersByTimeAsync(minutes(60));
      expect(server.refreshCount).toBe(5);
      expect(handler.onSessionRefreshed).toHaveBeenCalledTimes(5);
      expect(handler.onSessionError).not.toHaveBeenCalled();
      const response = await session.fetch(`${server.baseUrl}/api/orders`);
      expect(response.status).toBe(200);
    });
  }

  it('halves a leeway longer than half the token life, so short tokens do not loop', async () => {
    server.ttl = 30;
    const session = client({ leeway: 60 });
    session.setSession(server.signIn());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.refreshCount).toBeGreaterThanOrEqual(3);
    expect(server.refreshCount).toBeLessThanOrEqual(5);
  });
});

describe('failures that keep the session', () => {
  it('retries a network failure with exponential backoff, tells the handler once, then recovers', async () => {
    const handler = spyHandler();
    const session = client({ handler, retry: { initialDelay: 1, maxDelay: 60 } });
    session.setSession(server.signIn());
    server.failNext({ kind: 'network' }, { kind: 'network' }, { kind: 'network' });
    await vi.advanceTimersByTimeAsync(minutes(14)); // due: first attempt fails
    expect(server.refreshCount).toBe(1);
    // random() = 0: equal jitter gives half of 1 s, 2 s, 4 s.
    await vi.advanceTimersByTimeAsync(499);
    expect(server.refreshCount).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.refreshCount).toBe(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(server.refreshCount).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.refreshCount).toBe(3);
    await vi.advanceTimersByTimeAsync(2000);
    expect(server.refreshCount).toBe(4);

    expect(handler.onSessionError).toHaveBeenCalledTimes(1);
    expect(handler.onSessionError.mock.calls[0]![0]).toBeInstanceOf(SilentAuthFailedError);
    expect(handler.onSessionRefreshed).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
    expect(session.state).toBe('active');
  });

  it('turns 5xx and 429 into silent_auth_failed and honours retry_after', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    vi.setSystemTime(start + minutes(16)); // expired
    server.failNext({ kind: 'http', status: 429, body: envelope('rate_limited', { retry_after: 30 }), headers: { 'retry-after': '30' } });
    const first = await session.getAccessToken().catch((error: unknown) => error);
    expect(first).toBeInstanceOf(SilentAuthFailedError);
    expect(first).toMatchObject({ code: 'silent_auth_failed', status: 429, retryAfter: 30 });

    // Asked again at once: no request, the server said to wait.
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'silent_auth_failed' });
    expect(server.refreshCount).toBe(1);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(server.refreshCount).toBe(1);
    server.failNext({ kind: 'http', status: 503, body: envelope('service_unavailable', { retry_after: 1 }) });
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.refreshCount).toBe(2);
    server.failNext({ kind: 'http', status: 502, body: '<html>Bad gateway</html>' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.refreshCount).toBeGreaterThanOrEqual(4);
    expect(session.state).toBe('active');
    expect(handler.onSessionError).toHaveBeenCalledTimes(1);
    expect(handler.onSessionRefreshed).toHaveBeenCalledTimes(1);
  });

  it('retries a failed forced refresh (token_expired from an API) on schedule, not in a loop', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    server.serverAhead = minutes(20); // the client believes its token is fresh; the API disagrees
    server.failNext({ kind: 'network' }, { kind: 'network' });
    await expect(session.fetch(`${server.baseUrl}/api/orders`)).rejects.toBeInstanceOf(SilentAuthFailedError);
    expect(server.refreshCount).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.refreshCount).toBe(3); // two retries (0.5 s, then 1 s later), the second succeeds
    await vi.advanceTimersByTimeAsync(minutes(1));
    expect(server.refreshCount).toBe(3);
    expect(handler.onSessionRefreshed).toHaveBeenCalledTimes(1);
    expect(session.state).toBe('active');
  });

  it('abandons a refresh that hangs after requestTimeout', async () => {
    const session = client({ requestTimeout: 5 });
    session.setSession(server.signIn());
    vi.setSystemTime(start + minutes(16));
    server.failNext({ kind: 'hang' });
    const result = session.getAccessToken().catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(4999);
    expect(session.state).toBe('refreshing');
    await vi.advanceTimersByTimeAsync(1);
    const error = await result;
    expect(error).toBeInstanceOf(SilentAuthFailedError);
    expect((error as Error).message).toMatch(/timed out/);
    expect(session.state).toBe('active');
  });
});

describe('terminal answers', () => {
  it('ends on session_revoked: tokens cleared, handler told once with the reason, no retry loop', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    server.revoke('admin');
    vi.setSystemTime(start + minutes(16));
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => session.getAccessToken()));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(SessionEndedError);
    }
    expect(server.refreshCount).toBe(1);
    expect(handler.onSessionRevoked).toHaveBeenCalledTimes(1);
    expect(handler.onSessionRevoked.mock.calls[0]![0]).toBe('admin');
    expect(handler.onSessionClosed).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).toHaveBeenCalledWith('session_revoked');
    expect(session.state).toBe('ended');
    expect(session.sessionId).toBeNull();

    await vi.advanceTimersByTimeAsync(minutes(120));
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
    expect(server.refreshCount).toBe(1);
    expect(handler.onSessionRevoked).toHaveBeenCalledTimes(1);
  });

  it('ends on session_expired with onSessionExpired, and on session_not_found with onSessionError', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    server.failNext({ kind: 'http', status: 401, body: envelope('session_expired', { details: [{ reason: 'idle' }] }) });
    await vi.advanceTimersByTimeAsync(minutes(14));
    expect(handler.onSessionExpired).toHaveBeenCalledTimes(1);
    expect((handler.onSessionExpired.mock.calls[0]![0] as SessionEndedError).reason).toBe('idle');
    expect(session.state).toBe('ended');

    session.setSession(server.signIn('ses_2'));
    expect(session.state).toBe('active');
    server.failNext({ kind: 'http', status: 401, body: envelope('session_not_found') });
    await vi.advanceTimersByTimeAsync(minutes(14));
    expect(handler.onSessionError).toHaveBeenCalledTimes(1);
    expect(handler.onSessionError.mock.calls[0]![0]).toMatchObject({ code: 'session_not_found' });
    expect(handler.onSessionClosed.mock.calls).toEqual([['session_expired'], ['session_not_found']]);
    expect(server.refreshCount).toBe(2);
  });

  // Issue 12, defect 3: a 400 was retried every few seconds, for ever, as if it were a network failure.
  for (const [name, failure] of [
    [
      '400 invalid_request',
      { kind: 'http', status: 400, body: envelope('invalid_request', { message: 'The request is malformed.', details: [{ field: 'refresh_token' }] }) },
    ],
    ['403 csrf_failed', { kind: 'http', status: 403, body: envelope('csrf_failed') }],
    ['a 401 without a Tessera envelope (a proxy)', { kind: 'http', status: 401, body: { error: 'unauthorized' } }],
    ['a 404 page (a wrong baseUrl)', { kind: 'http', status: 404, body: '<html>not here</html>' }],
  ] as const) {
    it(`stops on ${name}: the session ends here as refresh_refused, told once, never retried`, async () => {
      const handler = spyHandler();
      const session = client({ handler });
      session.setSession(server.signIn());
      server.failNext(failure);
      await vi.advanceTimersByTimeAsync(minutes(14));
      expect(session.state).toBe('ended');
      expect(session.endError).toMatchObject({ code: 'refresh_refused', status: failure.status });
      const body: unknown = failure.body;
      const serverCode = typeof body === 'object' && body !== null && 'success' in body ? (body as unknown as { error: string }).error : null;
      expect(session.endError?.details[0]).toMatchObject({ error: serverCode, status: failure.status });
      expect(handler.onSessionError).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ code: 'refresh_refused' }));
      expect(handler.onSessionClosed).toHaveBeenCalledExactlyOnceWith('refresh_refused');
      await vi.advanceTimersByTimeAsync(minutes(30));
      expect(server.refreshCount).toBe(1);
      await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'refresh_refused' });
      expect(handler.onSessionError).toHaveBeenCalledTimes(1);
    });
  }

  it('408 is passing like 5xx: kept, retried', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    server.failNext({ kind: 'http', status: 408, body: '' });
    await vi.advanceTimersByTimeAsync(minutes(14));
    expect(session.state).toBe('active');
    expect(handler.onSessionError).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ code: 'silent_auth_failed' }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(handler.onSessionRefreshed).toHaveBeenCalledTimes(1);
  });

  it('cookie mode: a refresh answered token_missing (the cookie is gone) ends as refresh_token_unavailable', async () => {
    const handler = spyHandler();
    const session = client({ handler, refreshTokenInCookie: true });
    // Held without a refresh token, as after a reload in cookie mode.
    server.failNext({ kind: 'http', status: 401, body: envelope('token_missing') });
    await session.setSession(server.signIn()).catch(() => {});
    expect(session.state).toBe('ended');
    expect(session.endError).toMatchObject({ code: 'refresh_token_unavailable', reason: 'no_refresh_cookie' });
    expect(handler.onSessionClosed).toHaveBeenCalledExactlyOnceWith('refresh_token_unavailable');
  });
});

describe('cookie mode hand-off', () => {
  it('setSession exchanges the grant for the cookie before it resolves, and stores nothing before that', async () => {
    const stored = new Map<string, string>();
    const storage = {
      persistRefreshToken: false,
      getItem: (key: string) => stored.get(key) ?? null,
      setItem: (key: string, value: string) => void stored.set(key, value),
      removeItem: (key: string) => void stored.delete(key),
    };
    const session = client({ refreshTokenInCookie: true, storage });
    const grant = server.signIn();
    const handedOff = session.setSession(grant);
    // Not yet in the cookie: a reload now must not bring back tokens that nothing can refresh, and
    // the app must not show the user signed in (inviting that reload).
    await Promise.resolve();
    expect(stored.size).toBe(0);
    expect(session.state).toBe('loading');
    expect(await session.getAccessToken()).toBe(grant.access_token);
    await handedOff;
    expect(session.state).toBe('active');
    expect(server.refreshCount).toBe(1);
    expect(server.requests).toEqual(['POST /v1/token/refresh']);
    expect(await session.getAccessToken()).not.toBe(grant.access_token);
    expect(JSON.parse(stored.get('tessera.session')!).tokens.refreshToken).toBeNull();
  });

  it('without cookie mode setSession resolves without a request', async () => {
    const session = client();
    await session.setSession(server.signIn());
    expect(server.refreshCount).toBe(0);
  });
});

describe('fetch', () => {
  it('attaches the bearer token', async () => {
    const session = client();
    const grant = server.signIn();
    session.setSession(grant);
    const response = await session.fetch(`${server.baseUrl}/api/orders`, { headers: { 'x-app': '1' } });
    expect(await response.json()).toEqual({ ok: true, token: grant.access_token });
  });

  it('on token_expired refreshes once and retries once', async () => {
    const session = client();
    session.setSession(server.signIn());
    server.serverAhead = minutes(20); // the server's clock jumped: the client thinks its token is fresh
    const response = await session.fetch(`${server.baseUrl}/api/orders`);
    expect(response.status).toBe(200);
    expect(server.refreshCount).toBe(1);
    expect(server.requests.filter((line) => line === 'GET /api/orders')).toHaveLength(2);
    // The refresh taught the client the new offset.
    expect(Math.round(session.clockSkew / 1000)).toBe(-20 * 60);
  });

  it('does not loop when the retry is rejected again', async () => {
    const session = client();
    session.setSession(server.signIn());
    server.serverAhead = minutes(20);
    const original = server.fetch;
    const alwaysExpired = async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith('/api/orders')) {
        server.requests.push('GET /api/orders');
        return new Response(JSON.stringify(envelope('token_expired')), { status: 401, headers: { 'content-type': 'application/json' } });
      }
      return original(input, init);
    };
    const looping = client({ fetch: alwaysExpired });
    looping.setSession(server.signIn('ses_2'));
    const response = await looping.fetch(`${server.baseUrl}/api/orders`);
    expect(response.status).toBe(401);
    expect(server.requests.filter((line) => line === 'GET /api/orders')).toHaveLength(2);
    expect(server.refreshCount).toBe(1);
    expect(looping.state).toBe('active');
  });

  it("returns the app's own 401 untouched and keeps the session", async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    const response = await session.fetch(`${server.baseUrl}/api/own-401`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'not_your_order' });
    expect(server.refreshCount).toBe(0);
    expect(session.state).toBe('active');
    expect(Object.values(handler).every((spy) => spy.mock.calls.length === 0)).toBe(true);
  });

  it('retries only for token_expired: another Tessera 401 is returned without a refresh', async () => {
    const stripping = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).endsWith('/api/orders')) {
        return new Response(JSON.stringify(envelope('token_missing')), { status: 401, headers: { 'content-type': 'application/json' } });
      }
      return server.fetch(input, init);
    };
    const session = client({ fetch: stripping });
    session.setSession(server.signIn());
    const response = await session.fetch(`${server.baseUrl}/api/orders`);
    expect(response.status).toBe(401);
    expect(server.refreshCount).toBe(0);
    expect(session.state).toBe('active');
  });

  it('ends the session on a 401 session_revoked from an API, once for many responses', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    server.revoke('signed_out_elsewhere');
    const responses = await Promise.all(Array.from({ length: 5 }, () => session.fetch(`${server.baseUrl}/api/orders`)));
    expect(responses.map((response) => response.status)).toEqual([401, 401, 401, 401, 401]);
    expect(handler.onSessionRevoked).toHaveBeenCalledTimes(1);
    expect(handler.onSessionRevoked.mock.calls[0]![0]).toBe('signed_out_elsewhere');
    expect(session.state).toBe('ended');
  });

  it('resends a Request with its body after a refresh', async () => {
    const bodies: string[] = [];
    const recording = async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === '/api/orders') bodies.push(await request.clone().text());
      return server.fetch(request);
    };
    const session = client({ fetch: recording });
    session.setSession(server.signIn());
    server.serverAhead = minutes(20);
    const response = await session.fetch(new Request(`${server.baseUrl}/api/orders`, { method: 'POST', body: '{"item":1}' }));
    expect(response.status).toBe(200);
    expect(bodies).toEqual(['{"item":1}', '{"item":1}']);
  });
});

describe('timers are not trusted', () => {
  it('a hidden page does not refresh an idle session; showing it refreshes at once', async () => {
    const session = client();
    session.setSession(server.signIn());
    page.hide();
    await vi.advanceTimersByTimeAsync(minutes(30));
    expect(server.refreshCount).toBe(0);
    page.show();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.refreshCount).toBe(1);
    expect(session.state).toBe('active');
  });

  it('keepAliveWhileHidden keeps refreshing in a hidden page', async () => {
    const session = client({ keepAliveWhileHidden: true });
    session.setSession(server.signIn());
    page.hide();
    await vi.advanceTimersByTimeAsync(minutes(30));
    expect(server.refreshCount).toBe(2);
  });

  it('a timer that fires late (the device slept) refreshes at once', async () => {
    const session = client();
    session.setSession(server.signIn());
    await vi.advanceTimersByTimeAsync(minutes(5));
    vi.setSystemTime(Date.now() + minutes(40)); // asleep: the wall clock moved, no timer ran
    expect(server.refreshCount).toBe(0);
    await vi.advanceTimersByTimeAsync(30_000); // the first timer to run after waking
    expect(server.refreshCount).toBe(1);
    expect(session.state).toBe('active');
  });

  it('focus, pageshow and online check at once', async () => {
    const session = client();
    session.setSession(server.signIn());
    vi.setSystemTime(start + minutes(14.5));
    page.fire('focus');
    await vi.advanceTimersByTimeAsync(0);
    expect(server.refreshCount).toBe(1);

    vi.setSystemTime(Date.now() + minutes(14.5));
    page.fire('pageshow');
    await vi.advanceTimersByTimeAsync(0);
    expect(server.refreshCount).toBe(2);

    // Offline: the refresh fails, then coming back online retries before the backoff would.
    vi.setSystemTime(Date.now() + minutes(14.5));
    server.failNext({ kind: 'network' });
    page.fire('focus');
    await vi.advanceTimersByTimeAsync(0);
    expect(server.refreshCount).toBe(3);
    page.fire('online');
    await vi.advanceTimersByTimeAsync(0);
    expect(server.refreshCount).toBe(4);
    expect(session.state).toBe('active');

    // Not due: a wake-up sends nothing.
    page.fire('focus');
    await vi.advanceTimersByTimeAsync(0);
    expect(server.refreshCount).toBe(4);
  });
});

describe('state and sign-out', () => {
  it('reports each state change to subscribers', async () => {
    const session = client();
    const states: string[] = [];
    const unsubscribe = session.subscribe((state) => states.push(state));
    expect(session.state).toBe('loading');
    await session.ready;
    expect(session.state).toBe('signed_out');
    session.setSession(server.signIn());
    vi.setSystemTime(start + minutes(16));
    await session.getAccessToken();
    server.revoke('admin');
    vi.setSystemTime(Date.now() + minutes(16));
    await session.getAccessToken().catch(() => {});
    unsubscribe();
    session.setSession(server.signIn('ses_2'));
    expect(states).toEqual(['signed_out', 'active', 'refreshing', 'active', 'refreshing', 'ended']);
  });

  it('exposes the session, the access-token expiry and, once ended, the end error', async () => {
    const session = client();
    expect([session.session, session.accessTokenExpiresAt, session.endError]).toEqual([null, null, null]);
    const grant = { ...server.signIn(), session: sessionInfo };
    session.setSession(grant);
    expect(session.accessTokenExpiresAt?.getTime()).toBe(Date.parse(grant.access_token_expires_at ?? ''));
    expect(session.session).toEqual(sessionInfo);
    server.revoke('signed_out_elsewhere');
    vi.setSystemTime(start + minutes(16));
    await session.getAccessToken().catch(() => {});
    expect(session.state).toBe('ended');
    expect(session.endError).toBeInstanceOf(SessionEndedError);
    expect([session.endError?.code, session.endError?.reason]).toEqual(['session_revoked', 'signed_out_elsewhere']);
    expect([session.session, session.accessTokenExpiresAt]).toEqual([null, null]);
    session.setSession(server.signIn('ses_2'));
    expect(session.endError).toBeNull();
  });

  it('tells subscribers when the tokens change while the state stays active', async () => {
    const session = client();
    session.setSession(server.signIn());
    const states: string[] = [];
    session.subscribe((state) => states.push(state));
    session.setSession(server.signIn('ses_2'));
    expect(states).toEqual(['active']);
    expect(session.sessionId).toBe('ses_2');
  });

  it('logout revokes on the server, clears the session and tells the handler once', async () => {
    const handler = spyHandler();
    const session = client({ handler });
    session.setSession(server.signIn());
    await session.logout();
    expect(server.requests).toContain('POST /v1/session/logout');
    expect(session.state).toBe('signed_out');
    expect(handler.onSessionClosed).toHaveBeenCalledExactlyOnceWith('logout');
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'token_missing' });
    await session.logout();
    expect(handler.onSessionClosed).toHaveBeenCalledTimes(1);
  });

  it('logout clears the session even when the server cannot be reached', async () => {
    const handler = spyHandler();
    const failing = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).endsWith('/logout')) throw new TypeError('fetch failed');
      return server.fetch(input, init);
    };
    const session = client({ handler, fetch: failing });
    session.setSession(server.signIn());
    await session.logout();
    expect(session.state).toBe('signed_out');
    expect(handler.onSessionClosed).toHaveBeenCalledExactlyOnceWith('logout');
    expect(handler.onSessionError).toHaveBeenCalledTimes(1);
  });

  it('logoutOthers returns what the server revoked', async () => {
    const session = client();
    session.setSession(server.signIn());
    expect(await session.logoutOthers()).toEqual({ revoked: 2, sessionIds: ['ses_8', 'ses_9'] });
    expect(session.state).toBe('active');
  });

  it('sessions() lists the devices with dates as Date and this one marked; endSession ends another, or signs out here for this one', async () => {
    const session = client();
    session.setSession(server.signIn('ses_laptop'));
    const devices = await session.sessions();
    expect(devices.map((device) => [device.id, device.current])).toEqual([
      ['ses_laptop', true],
      ['ses_phone', false],
    ]);
    const phone = devices[1]!;
    expect(phone).toMatchObject({ browser: 'Mobile Safari 17', os: 'iOS', ip: '198.51.100.2', userAgent: phoneDevice.user_agent });
    expect(phone.lastSeenAt).toBeInstanceOf(Date);
    expect(phone.lastSeenAt.toISOString()).toBe(phone.session.last_seen_at);
    expect(phone.createdAt.toISOString()).toBe(phone.session.created_at);
    expect(phone.expiresAt.toISOString()).toBe(phone.session.expires_at);
    expect(devices[0]).toMatchObject({ browser: null, os: null, ip: null, userAgent: null });

    await session.endSession('ses_phone');
    expect(server.endedSessions).toEqual(['ses_phone']);
    expect(server.requests).toContain('DELETE /v1/session/sessions/ses_phone');
    const refused = await session.endSession('ses_of_someone_else').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TesseraError);
    expect((refused as TesseraError).code).toBe('not_found');
    expect(session.state).toBe('active');

    await session.endSession('ses_laptop');
    expect(server.requests).toContain('POST /v1/session/logout');
    expect(session.state).toBe('signed_out');
  });

  it('sessions() without a session fails like any call that needs one', async () => {
    const session = client();
    await expect(session.sessions()).rejects.toBeInstanceOf(TesseraError);
  });

  it('setSession rejects something that is not a grant', () => {
    const session = client();
    expect(() => session.setSession({} as never)).toThrow(TypeError);
  });
});

describe('onTokenRequired', () => {
  it('asks the app once for any number of callers, and again when the token is due', async () => {
    const onTokenRequired = vi.fn((resolve: (tokens: string) => void) => {
      const grant = server.signIn();
      setTimeout(() => resolve(grant.access_token), 100);
    });
    const session = client({ handler: { onTokenRequired } });
    const tokens = Promise.all(Array.from({ length: 10 }, () => session.getAccessToken()));
    await vi.advanceTimersByTimeAsync(100);
    expect(new Set(await tokens).size).toBe(1);
    expect(onTokenRequired).toHaveBeenCalledTimes(1);
    expect(session.state).toBe('active');

    await vi.advanceTimersByTimeAsync(minutes(14) + 100);
    expect(onTokenRequired).toHaveBeenCalledTimes(2);
    expect(server.refreshCount).toBe(0);
  });

  it('passes a rejection on as a TesseraError and stays signed out', async () => {
    const session = client({ handler: { onTokenRequired: (_resolve, reject) => reject(new Error('backend says no')) } });
    const error = await session.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).cause).toBeInstanceOf(Error);
    expect(session.state).toBe('signed_out');
  });
});
