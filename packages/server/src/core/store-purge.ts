import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Clock, type Scheduler, systemScheduler } from './clock.js';
import { revocationCommitLagMs } from './defaults.js';
import { type FlowPolicies, longestAccessTokenTtl } from './flows.js';
import { type Log, silentLog } from './log.js';
import type { PurgeableCounts, SessionStore } from './store.js';

/** Rows per statement: short transactions, so refreshes never wait long behind a purge batch. */
const defaultBatchSize = 500;
/** Batches of each kind per run at most: a huge backlog (a first run on an old store) is worked off over several runs. */
const batchesPerRun = 1_000;
const dayMs = 86_400_000;
/** The first purge after a start: soon, but not in the middle of the node's start-up. */
const firstPurgeDelayMs = 60_000;
/**
 * A sealed successor is kept this long past the longest reuse interval: the node answering a retry
 * may read the time a little behind the node that purges (the same allowance the revocation feed makes).
 */
const graceAllowanceMs = revocationCommitLagMs;
/** The lease row the background purge runs under: one node at a time purges. */
export const storePurgeLease = 'store-purge';

export interface StorePurgeOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly scheduler?: Scheduler;
  /** Their reuse intervals say how long a sealed successor can still be used; their access-token lifetimes, how long the revocation feed needs a revoked session. */
  readonly flows: FlowPolicies;
  /** Ended sessions (revoked, or their expiry recorded) and their tokens are deleted this many days after they ended. */
  readonly retentionDays: number;
  /** How often a purge runs, in milliseconds. */
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly log?: Log;
}

/** What one purge removed: sealed successors set to null, tokens and sessions deleted. */
export type StorePurgeCounts = PurgeableCounts;

/** The moments before which the purge removes things: spent (for sealed successors), ended (for sessions), stale (for DPoP proofs). */
export interface PurgeCutoffs {
  readonly spentBefore: number;
  readonly endedBefore: number;
  readonly proofsBefore: number;
}

/**
 * Keeps the session store bounded. Only what the rules can still use stays:
 * - a spent token's sealed successor, while a concurrent retry may still be answered with it (the
 *   longest reuse interval of any flow, and an allowance for clocks); then it is set to null, and the
 *   spent token stays, so presenting it later is still detected as reuse;
 * - a spent token's hash, while its session lives (reuse detection);
 * - an ended session and its tokens, for the retention, and a revoked one at least as long as the
 *   revocation feed can list it (the longest access-token lifetime, and its look-back).
 * Audit events and webhook messages name sessions by id and stay (their own purge is `JournalPurge`).
 * On a shared store one node at a time purges, under a lease in the store; the deletes are idempotent,
 * so an operator's `tessera purge` beside it does no harm.
 */
export class StorePurge {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #flows: FlowPolicies;
  readonly #retentionMs: number;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #log: Log;
  readonly #owner = `purge_${randomUUID()}`;
  #purging: Promise<StorePurgeCounts> | undefined;

  constructor(options: StorePurgeOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#flows = options.flows;
    this.#retentionMs = options.retentionDays * dayMs;
    this.#intervalMs = options.intervalMs;
    this.#batchSize = options.batchSize ?? defaultBatchSize;
    this.#log = options.log ?? silentLog;
  }

  /** What is kept until when, judged at `now`. */
  cutoffs(now: number = this.#clock.now()): PurgeCutoffs {
    const longestReuseInterval = Math.max(...Object.values(this.#flows).map((flow) => flow.reuseInterval));
    // listRevokedSince reaches back the longest access-token lifetime and the commit lag; nothing older is ever shown.
    const feedHorizonMs = longestAccessTokenTtl(this.#flows) * 1000 + revocationCommitLagMs;
    return {
      spentBefore: now - longestReuseInterval * 1000 - graceAllowanceMs,
      endedBefore: now - Math.max(this.#retentionMs, feedHorizonMs),
      // A remembered proof's expires_at is already past its iat window (and clock skew): none is needed after it.
      proofsBefore: now,
    };
  }

  /**
   * Purges every interval (and a minute after the start, when the interval is longer) until the returned
   * function is called; each run only while this node holds the lease (it gives the lease up when stopped).
   */
  start(): () => void {
    const run = () => {
      this.#leadAndPurge().then(
        (counts) => {
          if (counts && counts.sealedSuccessors + counts.endedSessionTokens + counts.endedSessions + counts.staleDpopProofs > 0) {
            this.#log.info({ ...counts }, 'store purge: removed what the rules no longer need');
          }
        },
        (error: unknown) => this.#log.warn({ err: error }, 'store purge: cannot purge now; will try again'),
      );
    };
    // A first run a minute on when the interval is longer (a node restarted more often still purges).
    const first = this.#intervalMs > firstPurgeDelayMs ? this.#scheduler.setTimer(firstPurgeDelayMs, run, { unref: true }) : undefined;
    const timer = this.#scheduler.setRepeating(this.#intervalMs, run, { unref: true });
    return () => {
      first?.cancel();
      timer.cancel();
      this.#store.releaseLease(storePurgeLease, this.#owner).catch(() => {});
    };
  }

  /** Removes what the rules no longer need now, lease or not; concurrent callers share one purge. */
  purge(): Promise<StorePurgeCounts> {
    this.#purging ??= this.#purge(() => Promise.resolve(true)).finally(() => {
      this.#purging = undefined;
    });
    return this.#purging;
  }

  /** What `purge` would remove now. */
  countPurgeable(): Promise<PurgeableCounts> {
    const { spentBefore, endedBefore, proofsBefore } = this.cutoffs();
    return this.#store.countPurgeable(spentBefore, endedBefore, proofsBefore);
  }

  /** One background run: null when another node holds the lease. */
  async #leadAndPurge(): Promise<StorePurgeCounts | null> {
    const holdLease = () => {
      const now = this.#clock.now();
      // Three intervals: a node that stops without giving the lease up is replaced within three runs.
      return this.#store.claimLease(storePurgeLease, this.#owner, now, now + 3 * this.#intervalMs);
    };
    if (this.#purging) {
      // The last run is still going (a backlog): keep the lease for it, and start none.
      await holdLease();
      return null;
    }
    if (!(await holdLease())) return null;
    this.#purging = this.#purge(holdLease).finally(() => {
      this.#purging = undefined;
    });
    return this.#purging;
  }

  async #purge(holdLease: () => Promise<boolean>): Promise<StorePurgeCounts> {
    const { spentBefore, endedBefore, proofsBefore } = this.cutoffs();
    const sealedSuccessors = await this.#inBatches((limit) => this.#store.clearSealedSuccessors(spentBefore, limit));
    // Renewed between the kinds: a long run keeps its lease.
    if (!(await holdLease())) return { sealedSuccessors, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 };
    const endedSessionTokens = await this.#inBatches((limit) => this.#store.purgeEndedSessionTokens(endedBefore, limit));
    const endedSessions = await this.#inBatches((limit) => this.#store.purgeEndedSessions(endedBefore, limit));
    const staleDpopProofs = await this.#inBatches((limit) => this.#store.purgeStaleDpopProofs(proofsBefore, limit));
    return { sealedSuccessors, endedSessionTokens, endedSessions, staleDpopProofs };
  }

  async #inBatches(purgeBatch: (limit: number) => Promise<number>): Promise<number> {
    let removed = 0;
    for (let batch = 0; batch < batchesPerRun; batch++) {
      const count = await purgeBatch(this.#batchSize);
      removed += count;
      if (count < this.#batchSize) break;
      // SQLite runs a batch synchronously: the next one waits its turn behind the requests that came meanwhile.
      await nextTurn();
    }
    return removed;
  }
}
