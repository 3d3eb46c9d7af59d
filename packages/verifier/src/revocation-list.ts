import type { Clock, Scheduler } from './clock.js';
import { TesseraError } from './errors.js';
import { type RevocationReason, revocationReasons } from './revocation-reasons.js';

export interface RevocationListOptions {
  /** The management API key: `GET /v1/revocations` needs it. */
  readonly apiKey: string;
  /** Tessera's base URL; the issuer by default. */
  readonly url?: string | URL;
  /**
   * Seconds without a successful read of the feed after which it counts as unreachable (then
   * `whenUnreachable` decides); 60 by default. A read that waits for news answers every 25 s.
   */
  readonly maxStaleness?: number;
  /**
   * While the feed is unreachable: `'accept'` (the default) verifies tokens on signature and expiry
   * alone, as without a feed, still refusing the revocations already known; `'refuse'` answers
   * `service_unavailable` (retry later; clients keep their sessions) until it is back.
   */
  readonly whenUnreachable?: 'accept' | 'refuse';
  /** Hears every failed read (for logs); reads are retried with backoff whatever it does. */
  readonly onError?: (error: unknown) => void;
}

/** What the verifier knows of one revoked session. */
export interface KnownRevocation {
  readonly reason: RevocationReason;
  readonly revokedAt: number;
  /** After this (and the clock tolerance), no token of the session verifies anyway: forgotten. */
  readonly forgetAfter: number;
}

interface ListSettings extends RevocationListOptions {
  readonly issuer: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Milliseconds of clock tolerance the verifier grants on `exp`. */
  readonly toleranceMs: number;
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** How long one read may wait on the server for news; the server allows up to 30 s. */
const waitSeconds = 25;
/** Retries after a failed read: 0.5 s, doubling, at most 30 s, each with up to 50 % jitter. */
const firstRetryMs = 500;
const longestRetryMs = 30_000;
/** A waiting read answered with nothing sooner than this was not waiting. */
const quickAnswerMs = 1000;
/** The longest a verification waits for the verifier's first read of the feed. */
const firstAttemptTimeoutMs = 3000;

/**
 * The revoked sessions of one Tessera issuer whose access tokens may still be unexpired, kept current
 * by always having one read of `GET /v1/revocations` open: the server answers it as soon as any
 * node revokes a session, so the verifier refuses that session's tokens within about a second.
 */
export class RevocationList {
  readonly #settings: ListSettings;
  readonly #feedUrl: URL;
  readonly #revoked = new Map<string, KnownRevocation>();
  readonly #stop = new AbortController();
  #cursor: string | null = null;
  /** When the last read succeeded, on the verifier's clock; null before the first. */
  #readAt: number | null = null;
  /** Settles after the first read, whether it worked or not: a feed down from the start delays nobody twice. */
  readonly #firstAttempt: Promise<void>;
  #firstAttemptDone: () => void = () => {};
  readonly #running: Promise<void>;

  constructor(settings: ListSettings) {
    this.#settings = settings;
    this.#feedUrl = new URL('v1/revocations', `${String(settings.url ?? settings.issuer).replace(/\/+$/, '')}/`);
    this.#firstAttempt = new Promise((resolve) => (this.#firstAttemptDone = resolve));
    this.#running = this.#readForever();
  }

  /** What is known of `sessionId`'s revocation; undefined when it is not known to be revoked. */
  get(sessionId: string): KnownRevocation | undefined {
    const known = this.#revoked.get(sessionId);
    return known && known.forgetAfter >= this.#settings.clock.now() ? known : undefined;
  }

  /** The `session_revoked` error, with its reason, of a session known to be revoked; undefined otherwise. Never waits. */
  revokedError(sessionId: string): TesseraError | undefined {
    const known = this.get(sessionId);
    if (!known) return undefined;
    return new TesseraError('session_revoked', { details: [{ reason: known.reason, revoked_at: new Date(known.revokedAt).toISOString() }] });
  }

  /** Whether the feed has been read recently enough to be trusted (see `maxStaleness`). */
  get current(): boolean {
    const maxStalenessMs = (this.#settings.maxStaleness ?? 60) * 1000;
    return this.#readAt !== null && this.#settings.clock.now() - this.#readAt <= maxStalenessMs;
  }

  /**
   * Throws `session_revoked` for a revoked session; while the feed is unreachable, and told to
   * refuse then, `service_unavailable`. Before the first read has been tried, waits for it (3 s at most).
   */
  async check(sessionId: string): Promise<void> {
    if (this.#readAt === null) await Promise.race([this.#firstAttempt, this.#delay(firstAttemptTimeoutMs)]);
    const revoked = this.revokedError(sessionId);
    if (revoked) throw revoked;
    if (!this.current && this.#settings.whenUnreachable === 'refuse') {
      throw new TesseraError('service_unavailable', { message: 'The revocations of the issuer could not be read.', retryAfter: 1 });
    }
  }

  /** Stops reading; an open read is abandoned. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #readForever(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        const started = Date.now();
        const waiting = this.#cursor !== null;
        const news = await this.#read();
        failures = 0;
        // A server (or a proxy in front of it) that answers a waiting read at once with nothing is not
        // waiting: read once a second rather than in a loop.
        // "At once" is on the wall clock: it is the peer's behaviour being judged, not the verifier's time.
        if (waiting && !news && Date.now() - started < quickAnswerMs) await this.#delay(quickAnswerMs);
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        failures += 1;
        this.#firstAttemptDone();
        this.#settings.onError?.(error);
        const backoff = Math.min(longestRetryMs, firstRetryMs * 2 ** (failures - 1));
        await this.#delay(backoff * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Waits `ms` on the verifier's scheduler, or until `close()`. */
  #delay(ms: number): Promise<void> {
    return delay(this.#settings.scheduler, ms, this.#stop.signal);
  }

  /** One read of the feed; whether it named any revocation. */
  async #read(): Promise<boolean> {
    const url = new URL(this.#feedUrl);
    if (this.#cursor !== null) {
      url.searchParams.set('cursor', this.#cursor);
      url.searchParams.set('wait', String(waitSeconds));
    }
    // A read that outlives its wait by much has been lost somewhere (a proxy, a dead connection).
    const lost = new AbortController();
    const timeout = this.#settings.scheduler.setTimer(
      (waitSeconds + 10) * 1000,
      () => lost.abort(new DOMException('The read of the revocation feed timed out.', 'TimeoutError')),
      {
        unref: true,
      },
    );
    const signal = AbortSignal.any([this.#stop.signal, lost.signal]);
    let response: Response;
    let body: unknown;
    try {
      response = await this.#settings.fetch(url.href, { headers: { authorization: `Bearer ${this.#settings.apiKey}`, accept: 'application/json' }, signal });
      body = await response.json().catch(() => undefined);
    } finally {
      timeout.cancel();
    }
    if (!response.ok) {
      const code = typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : 'no envelope';
      throw new Error(`The revocation feed at ${this.#feedUrl.href} answered ${response.status} (${code}).`);
    }
    const page = parsePage(body);
    if (!page) throw new Error(`The revocation feed at ${this.#feedUrl.href} answered something that is not a page of revocations.`);
    const now = this.#settings.clock.now();
    for (const revocation of page.revocations) {
      this.#revoked.set(revocation.sessionId, {
        reason: revocation.reason,
        revokedAt: revocation.revokedAt,
        forgetAfter: revocation.accessTokensExpireBy + this.#settings.toleranceMs,
      });
    }
    for (const [sessionId, known] of this.#revoked) if (known.forgetAfter < now) this.#revoked.delete(sessionId);
    this.#cursor = page.cursor;
    this.#readAt = now;
    this.#firstAttemptDone();
    return page.revocations.length > 0;
  }
}

interface Page {
  readonly cursor: string;
  readonly revocations: { sessionId: string; reason: RevocationReason; revokedAt: number; accessTokensExpireBy: number }[];
}

/** The feed's answer, checked: a proxy's error page or a wrong URL must not empty the list. */
function parsePage(body: unknown): Page | null {
  if (typeof body !== 'object' || body === null) return null;
  const { cursor, revocations } = body as Record<string, unknown>;
  if (typeof cursor !== 'string' || !Array.isArray(revocations)) return null;
  const parsed: Page['revocations'] = [];
  for (const entry of revocations as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return null;
    const { session_id, reason, revoked_at, access_tokens_expire_by } = entry as Record<string, unknown>;
    const revokedAt = typeof revoked_at === 'string' ? Date.parse(revoked_at) : Number.NaN;
    const expireBy = typeof access_tokens_expire_by === 'string' ? Date.parse(access_tokens_expire_by) : Number.NaN;
    if (typeof session_id !== 'string' || !revocationReasons.includes(reason as RevocationReason)) return null;
    if (Number.isNaN(revokedAt) || Number.isNaN(expireBy)) return null;
    parsed.push({ sessionId: session_id, reason: reason as RevocationReason, revokedAt, accessTokensExpireBy: expireBy });
  }
  return { cursor, revocations: parsed };
}

/** Resolves after `ms` on `scheduler`, or at once when `signal` aborts. */
function delay(scheduler: Scheduler, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = scheduler.setTimer(ms, done);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
