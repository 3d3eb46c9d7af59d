// Test doubles for unit tests: a fake Tessera behind a fake `fetch`, and a fake page.
import type { PageEnvironment } from '../src/refresh-scheduler.js';
import type { Timers } from '../src/timers.js';
import type { SessionInfo, TokenGrant } from '../src/token-grant.js';

/** An unsigned JWT with the claims the SDK reads. */
export function fakeJwt(claims: { iat: number; exp: number; sid: string; jti?: string }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'ES256', typ: 'at+jwt' })}.${encode({ sub: 'alice', ...claims })}.signature`;
}

type Scripted = { kind: 'network' } | { kind: 'hang' } | { kind: 'http'; status: number; body: unknown; headers?: Record<string, string> };

export function envelope(error: string, extra: { details?: unknown[]; retry_after?: number | null; message?: string } = {}) {
  return {
    success: false,
    error,
    message: extra.message ?? `${error} happened`,
    details: extra.details ?? [],
    retry_after: extra.retry_after ?? null,
    doc_url: `http://tessera.test/docs/errors/${error}`,
    request_id: 'req_test',
    timestamp: new Date().toISOString(),
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/**
 * A Tessera in memory: issues fake JWTs on its own clock (the fake-timer `Date.now()` plus
 * `serverAhead`), rotates refresh tokens, can be told to fail the next refreshes, and serves a
 * small API under `/api/` that checks the bearer token like a resource server would.
 */
export const phoneDevice = {
  user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  browser: 'Mobile Safari 17',
  os: 'iOS',
  ip: '198.51.100.2',
};

/** A `SESSION` created at `createdAt` and last seen at `lastSeenAt` (epoch ms). */
export function fakeSession(id: string, createdAt: number, lastSeenAt: number, device: typeof phoneDevice | null): SessionInfo {
  return {
    id,
    user_id: 'u1',
    flow: 'default',
    status: 'active',
    created_at: new Date(createdAt).toISOString(),
    last_refreshed_at: lastSeenAt === createdAt ? null : new Date(lastSeenAt).toISOString(),
    expires_at: new Date(createdAt + 14 * 86400_000).toISOString(),
    idle_expires_at: null,
    revoked_at: null,
    revoked_reason: null,
    metadata: {},
    device,
    last_seen_at: new Date(lastSeenAt).toISOString(),
    refresh_count: lastSeenAt === createdAt ? 0 : 1,
  };
}

export class FakeTessera {
  readonly baseUrl = 'http://tessera.test';
  /** Milliseconds the server clock is ahead of `clock()`. */
  serverAhead = 0;
  /** The clock the server's is set by: `Date.now` (faked or not) unless a test gives another. */
  clock: () => number = () => Date.now();
  /** Access token lifetime, seconds. */
  ttl = 900;
  /** Every request seen, as "METHOD path". */
  readonly requests: string[] = [];
  /** Session ids ended through `DELETE /v1/session/sessions/:id`. */
  readonly endedSessions: string[] = [];
  readonly #liveRefreshTokens = new Map<string, string>();
  #revoked: { reason: string } | null = null;
  #counter = 0;
  readonly #script: Scripted[] = [];

  /** The server's clock. */
  now(): number {
    return this.clock() + this.serverAhead;
  }

  get refreshCount(): number {
    return this.requests.filter((line) => line === 'POST /v1/token/refresh').length;
  }

  /** What `POST /v1/sessions` would answer. */
  signIn(sid = 'ses_1'): TokenGrant {
    return this.#grant(sid);
  }

  /** The next refreshes fail like this, in order. */
  failNext(...failures: Scripted[]): void {
    this.#script.push(...failures);
  }

  revoke(reason: string): void {
    this.#revoked = { reason };
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    this.requests.push(`${request.method} ${path}`);
    if (path === '/v1/token/refresh') return this.#refresh(request);
    if (path === '/v1/session/logout' || path === '/v1/session/logout-others') return this.#logout(request, path);
    if (path === '/v1/session/sessions' || path.startsWith('/v1/session/sessions/')) return this.#ownSessions(request, path);
    if (path === '/api/own-401') return json(401, { error: 'not_your_order' });
    if (path.startsWith('/api/')) return this.#api(request);
    return json(404, envelope('not_found'));
  };

  async #refresh(request: Request): Promise<Response> {
    const scripted = this.#script.shift();
    if (scripted?.kind === 'network') throw new TypeError('fetch failed');
    if (scripted?.kind === 'hang') {
      return new Promise((_resolve, reject) => {
        request.signal.addEventListener('abort', () => reject(request.signal.reason));
      });
    }
    if (scripted?.kind === 'http') return json(scripted.status, scripted.body, scripted.headers);
    const body = (await request.json()) as { refresh_token: string };
    if (this.#revoked) {
      return json(401, envelope('session_revoked', { details: [{ reason: this.#revoked.reason, revoked_at: new Date(this.now()).toISOString() }] }));
    }
    const sid = this.#liveRefreshTokens.get(body.refresh_token);
    if (!sid) return json(401, envelope('session_not_found'));
    this.#liveRefreshTokens.delete(body.refresh_token);
    return json(200, this.#grant(sid));
  }

  #api(request: Request): Response {
    const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
    if (!token) return json(401, envelope('token_missing'));
    if (this.#revoked) return json(401, envelope('session_revoked', { details: [{ reason: this.#revoked.reason }] }));
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    if (claims.exp * 1000 <= this.now()) return json(401, envelope('token_expired'));
    return json(200, { ok: true, token });
  }

  /**
   * "Your devices": the held session and a phone (`ses_phone`, signed in a day ago from an iPhone);
   * only the phone can be ended through DELETE, any other id is `not_found`.
   */
  #ownSessions(request: Request, path: string): Response {
    const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
    if (!token) return json(401, envelope('token_missing'));
    const { sid } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string };
    const phone = fakeSession('ses_phone', this.now() - 86_400_000, this.now() - 3_600_000, phoneDevice);
    if (request.method === 'DELETE') {
      const id = decodeURIComponent(path.slice('/v1/session/sessions/'.length));
      if (id !== phone.id) return json(404, envelope('not_found'));
      this.endedSessions.push(id);
      return json(200, { session: { ...phone, status: 'revoked', revoked_reason: 'signed_out_elsewhere' } });
    }
    const here = fakeSession(sid, this.now() - 60_000, this.now(), null);
    return json(200, {
      sessions: [
        { ...here, current: true },
        { ...phone, current: false },
      ],
    });
  }

  #logout(request: Request, path: string): Response {
    if (!request.headers.get('authorization')) return json(401, envelope('token_missing'));
    if (path.endsWith('others')) return json(200, { revoked: 2, session_ids: ['ses_8', 'ses_9'] });
    this.#revoked = { reason: 'logout' };
    return json(200, { session: { id: 'ses_1', status: 'revoked' } });
  }

  #grant(sid: string): TokenGrant {
    this.#counter += 1;
    const now = this.now();
    const iat = Math.floor(now / 1000);
    const refreshToken = `rt_${this.#counter}`;
    this.#liveRefreshTokens.set(refreshToken, sid);
    return {
      access_token: fakeJwt({ iat, exp: iat + this.ttl, sid, jti: String(this.#counter) }),
      access_token_expires_at: new Date((iat + this.ttl) * 1000).toISOString(),
      refresh_token: refreshToken,
      refresh_token_expires_at: new Date(now + 14 * 86400_000).toISOString(),
      token_type: 'Bearer',
      server_time: new Date(now).toISOString(),
      session: {
        id: sid,
        user_id: 'u1',
        flow: 'default',
        status: 'active',
        created_at: new Date(now).toISOString(),
        last_refreshed_at: this.#counter > 1 ? new Date(now).toISOString() : null,
        expires_at: new Date(now + 14 * 86400_000).toISOString(),
        idle_expires_at: null,
        revoked_at: null,
        revoked_reason: null,
        metadata: { refreshes: this.#counter - 1 },
        device: null,
        last_seen_at: new Date(now).toISOString(),
        refresh_count: 0,
      },
    };
  }
}

/** A page whose visibility the test flips, with `window`-like and `document`-like event targets. */
export class FakePage implements PageEnvironment {
  readonly target = new EventTarget();
  readonly document = Object.assign(new EventTarget(), { visibilityState: 'visible' as string });

  hide(): void {
    this.document.visibilityState = 'hidden';
    this.document.dispatchEvent(new Event('visibilitychange'));
  }

  show(): void {
    this.document.visibilityState = 'visible';
    this.document.dispatchEvent(new Event('visibilitychange'));
  }

  fire(type: 'focus' | 'online' | 'pageshow'): void {
    this.target.dispatchEvent(new Event(type));
  }
}

interface ManualTimer {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

/**
 * A `Timers` source whose time moves only when the test says: `advance(ms)` runs every timer due
 * meanwhile, in order, each at its own time, and lets the promises it starts settle before the next.
 * Independent of `vi.useFakeTimers` (the test's real `setImmediate` drains the promises).
 */
export class ManualTimers implements Timers {
  #now: number;
  #order = 0;
  readonly #pending = new Set<ManualTimer>();

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const timer = { at: this.#now + Math.max(0, ms), order: (this.#order += 1), run };
    this.#pending.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as ManualTimer);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Moves time `ms` forward, running each timer due on the way at its time. Returns how many ran. */
  async advance(ms: number): Promise<number> {
    const end = this.#now + ms;
    let ran = 0;
    await drain();
    for (;;) {
      let next: ManualTimer | null = null;
      for (const timer of this.#pending) {
        if (timer.at > end) continue;
        if (next === null || timer.at < next.at || (timer.at === next.at && timer.order < next.order)) next = timer;
      }
      if (next === null) break;
      this.#pending.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.run();
      ran += 1;
      await drain();
    }
    this.#now = end;
    await drain();
    return ran;
  }

  /**
   * The device sleeps `ms`: time jumps to the end first, then each timer that came due runs once, in
   * order, late, as a browser runs them on waking. Returns how many ran.
   */
  async sleep(ms: number): Promise<number> {
    this.#now += ms;
    const due = [...this.#pending].filter((timer) => timer.at <= this.#now).sort((a, b) => a.at - b.at || a.order - b.order);
    let ran = 0;
    for (const timer of due) {
      // One an earlier timer cleared stays cleared.
      if (!this.#pending.delete(timer)) continue;
      timer.run();
      ran += 1;
      await drain();
    }
    return ran;
  }
}

/** Lets pending promise chains (fetch, Response bodies) run: a few turns of the real event loop. */
async function drain(): Promise<void> {
  for (let turn = 0; turn < 4; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}
