import { type Clock, type Scheduler, systemScheduler } from './clock.js';
import { revocationCommitLagMs } from './defaults.js';
import { type FlowPolicies, longestAccessTokenTtl } from './flows.js';
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

/**
 * Where a read starts: the time the last one looked (on that node's clock), and how many revocations
 * it saw in the stretch it looks back over (`commitLagMs` before that time) and after that time (the
 * stamps of a node whose clock runs ahead). More in either on a later read is news: in the first,
 * only a revocation stamped before the cursor's time but committed after that look.
 */
export interface FeedCursor {
  readonly at: number;
  readonly seenBefore: number;
  readonly seenAfter: number;
}

export interface RevocationPage {
  /** The first read: all that matter. Later ones: those since the cursor (more after a late commit; never fewer). */
  readonly revocations: Revocation[];
  /** Where the next read starts. */
  readonly cursor: FeedCursor;
}

/** The cursor as clients carry it: opaque to them. */
export function formatCursor(cursor: FeedCursor): string {
  return `${cursor.at}.${cursor.seenBefore}.${cursor.seenAfter}`;
}

/** A cursor from `formatCursor`, or null for anything else. */
export function parseCursor(text: string): FeedCursor | null {
  const match = /^([0-9]{1,16})\.([0-9]{1,9})\.([0-9]{1,9})$/.exec(text);
  if (!match) return null;
  const at = Number(match[1]);
  return Number.isSafeInteger(at) ? { at, seenBefore: Number(match[2]), seenAfter: Number(match[3]) } : null;
}

export interface RevocationFeedOptions {
  readonly sessions: SessionService;
  readonly store: SessionStore;
  readonly clock: Clock;
  /** Where waiting reads are timed; the system's timers by default. */
  readonly scheduler?: Scheduler;
  readonly flows: FlowPolicies;
}

/** How far before its cursor each read looks again (the cursor of one node is read on another). */
const commitLagMs = revocationCommitLagMs;

/** How long a waiting read, woken by a revocation, waits for others before it answers. */
const gatherMs = 25;

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
  readonly #scheduler: Scheduler;
  readonly #flows: FlowPolicies;
  #waitingReads = 0;

  constructor(options: RevocationFeedOptions) {
    this.#sessions = options.sessions;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#flows = options.flows;
  }

  /** Reads waiting for the next revocation right now. */
  get waitingReads(): number {
    return this.#waitingReads;
  }

  /**
   * Revocations after `cursor` (null: all that still matter). With nothing new since the cursor and a
   * `waitMs`, waits for the next revocation heard here, for `waitMs` or until `signal` aborts.
   */
  async read(cursor: FeedCursor | null, waitMs: number, signal?: AbortSignal): Promise<RevocationPage> {
    // Listening before looking: a revocation between the two still ends the wait.
    const next = cursor !== null && waitMs > 0 ? this.#nextRevocation(waitMs, signal) : null;
    try {
      const first = await this.#look(cursor);
      if (!next || first.news) return first.page;
      this.#waitingReads += 1;
      const heard = await next.heard; // never rejects
      this.#waitingReads -= 1;
      if (heard) {
        // A revocation seldom comes alone (all of a user's sessions, a burst of sign-outs): gathered
        // for a moment, they go out in one answer instead of one read each per verifier.
        await new Promise<void>((resolve) => this.#scheduler.setTimer(gatherMs, resolve));
        return (await this.#look(cursor)).page;
      }
      return { revocations: [], cursor: first.page.cursor };
    } finally {
      next?.stop();
    }
  }

  async #look(cursor: FeedCursor | null): Promise<{ page: RevocationPage; news: boolean }> {
    const now = this.#clock.now();
    // Counted before listing: a revocation committed in between is listed now or counted as news next time.
    const seenBefore = await this.#store.countRevokedBetween(now - commitLagMs, now);
    let sessions: SessionRecord[];
    let news = true;
    if (cursor === null) {
      sessions = await this.#store.listRevokedSince(now - longestAccessTokenTtl(this.#flows) * 1000 - commitLagMs);
    } else {
      // More before the cursor's time than that read saw: a late commit, so the whole stretch again.
      // Otherwise the reader has everything up to then, and only what follows is read and shown.
      const committedLate = (await this.#store.countRevokedBetween(cursor.at - commitLagMs, cursor.at)) > cursor.seenBefore;
      sessions = await this.#store.listRevokedSince(committedLate ? cursor.at - commitLagMs : cursor.at);
      const after = committedLate ? sessions.filter((session) => (session.revokedAt ?? now) > cursor.at) : sessions;
      news = committedLate || after.length > cursor.seenAfter;
    }
    const seenAfter = sessions.filter((session) => (session.revokedAt ?? now) > now).length;
    const revocations = sessions.map((session) => this.#revocation(session)).filter((revocation) => revocation.accessTokensExpireBy > now);
    return { page: { revocations, cursor: { at: now, seenBefore, seenAfter } }, news };
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
    const timer = this.#scheduler.setTimer(waitMs, () => settle(false));
    const aborted = () => settle(false);
    signal?.addEventListener('abort', aborted, { once: true });
    if (signal?.aborted) settle(false);
    return {
      heard,
      stop() {
        stopListening();
        timer.cancel();
        signal?.removeEventListener('abort', aborted);
      },
    };
  }
}
