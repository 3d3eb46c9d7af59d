import type { Clock } from './clock.js';
import { longestAccessTokenTtl, type FlowPolicies } from './flows.js';
import type { RevocationReason, SessionRecord } from './session.js';
import type { SessionService } from './sessions.js';
import type { SessionStore } from './store.js';

/** One revoked session, as resource servers need it to refuse its still-unexpired access tokens. */
export interface Revocation {
  readonly sessionId: string;
  readonly userId: string;
  readonly reason: RevocationReason;
  readonly revokedAt: number;
  /** Every access token of the session has expired by then: after it, the entry can be forgotten. */
  readonly accessTokensExpireBy: number;
}

export interface RevocationPage {
  readonly revocations: Revocation[];
  /** Where the next read starts: the time this one looked, on the server's clock. */
  readonly cursor: number;
}

export interface RevocationFeedOptions {
  readonly sessions: SessionService;
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly flows: FlowPolicies;
}

/**
 * How far before its cursor each read looks again: a revocation may commit a little after the time
 * it carries, and the nodes' clocks may differ (the cursor of one node is read on another). The same
 * allowance as the fan-out's poll; a reader gets such a revocation twice, which changes nothing.
 */
const commitLagMs = 10_000;

/**
 * The revocations whose sessions may still have unexpired access tokens, for resource servers that
 * verify tokens offline: without it they accept a revoked session's token until its `exp`.
 *
 * A first read (no cursor) returns every such revocation; each later read, those since its cursor.
 * A read may wait for the next revocation on any node (heard through the fan-out), so a reader that
 * always has one read open learns of a revocation about as fast as this node does.
 */
export class RevocationFeed {
  readonly #sessions: SessionService;
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #flows: FlowPolicies;

  constructor(options: RevocationFeedOptions) {
    this.#sessions = options.sessions;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#flows = options.flows;
  }

  /**
   * Revocations after `cursor` (null: all that still matter). With nothing new since the cursor and a
   * `waitMs`, waits for the next revocation heard here, for `waitMs` or until `signal` aborts.
   */
  async read(cursor: number | null, waitMs: number, signal?: AbortSignal): Promise<RevocationPage> {
    // Listening before looking: a revocation between the two still ends the wait.
    const next = cursor !== null && waitMs > 0 ? this.#nextRevocation(waitMs, signal) : null;
    try {
      const page = await this.#look(cursor);
      if (!next || page.revocations.some((revocation) => revocation.revokedAt > cursor!)) return page;
      if (await next.heard) return await this.#look(cursor);
      return { revocations: [], cursor: page.cursor };
    } finally {
      next?.stop();
    }
  }

  async #look(cursor: number | null): Promise<RevocationPage> {
    const now = this.#clock.now();
    const longest = longestAccessTokenTtl(this.#flows) * 1000;
    const since = (cursor ?? now - longest) - commitLagMs;
    const sessions = await this.#store.listRevokedSince(since);
    const revocations = sessions.map((session) => this.#revocation(session)).filter((revocation) => revocation.accessTokensExpireBy > now);
    return { revocations, cursor: now };
  }

  #revocation(session: SessionRecord): Revocation {
    const revokedAt = session.revokedAt ?? this.#clock.now();
    // A flow removed from the config since: its tokens lived at most as long as the longest there is.
    const flow = Object.hasOwn(this.#flows, session.flow) ? this.#flows[session.flow] : undefined;
    const ttl = flow?.accessTokenTtl ?? longestAccessTokenTtl(this.#flows);
    return {
      sessionId: session.id,
      userId: session.userId,
      reason: session.revokedReason ?? 'admin',
      revokedAt,
      accessTokensExpireBy: revokedAt + ttl * 1000,
    };
  }

  /** Resolves true at the next revocation heard on this node, false after `waitMs` or on abort. */
  #nextRevocation(waitMs: number, signal: AbortSignal | undefined): { heard: Promise<boolean>; stop: () => void } {
    let settle: (heard: boolean) => void = () => {};
    const heard = new Promise<boolean>((resolve) => (settle = resolve));
    const stopListening = this.#sessions.onSessionEvent((event) => {
      if (event.type === 'revoked') settle(true);
    });
    const timer = setTimeout(() => settle(false), waitMs);
    const aborted = () => settle(false);
    signal?.addEventListener('abort', aborted, { once: true });
    if (signal?.aborted) settle(false);
    return {
      heard,
      stop() {
        stopListening();
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
      },
    };
  }
}
