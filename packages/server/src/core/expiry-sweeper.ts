import { type Clock, type Scheduler, systemScheduler } from './clock.js';
import { type AuditEventDraft, type Journal, systemActor } from './journal.js';
import { type Log, silentLog } from './log.js';
import { type SessionRecord, sessionState } from './session.js';
import type { SessionStore } from './store.js';

/** Sessions claimed per transaction: short transactions, and a backlog cleared over a few rounds. */
const defaultBatchSize = 500;
/** Batches per sweep at most: a huge backlog is worked off over several sweeps, not in one long burst. */
const batchesPerSweep = 20;

export interface ExpirySweeperOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly journal: Journal;
  readonly scheduler?: Scheduler;
  /** How often a sweep runs, in milliseconds. */
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly log?: Log;
}

/**
 * Records `session.expired` for sessions that end by themselves: nothing happens when an idle or
 * absolute end passes, so each node sweeps now and then. The store claims each ended session once,
 * whichever node asks first, and writes its event in the same transaction.
 */
export class ExpirySweeper {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #journal: Journal;
  readonly #scheduler: Scheduler;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #log: Log;
  #sweeping: Promise<number> | undefined;
  #failing = false;

  constructor(options: ExpirySweeperOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#journal = options.journal;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#intervalMs = options.intervalMs;
    this.#batchSize = options.batchSize ?? defaultBatchSize;
    this.#log = options.log ?? silentLog;
  }

  /** Sweeps every interval until the returned function is called. A failed sweep is logged once and tried again next time. */
  start(): () => void {
    const timer = this.#scheduler.setRepeating(
      this.#intervalMs,
      () => {
        this.sweep().then(
          () => {
            if (this.#failing) this.#log.info({}, 'expiry sweeper: recording expiries again');
            this.#failing = false;
          },
          (error: unknown) => {
            if (!this.#failing) this.#log.warn({ err: error }, 'expiry sweeper: cannot record expiries now; will try again');
            this.#failing = true;
          },
        );
      },
      { unref: true },
    );
    return () => timer.cancel();
  }

  /** Records the expiries due now; returns how many. Concurrent callers share one sweep. */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepBatches().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweepBatches(): Promise<number> {
    let recorded = 0;
    for (let batch = 0; batch < batchesPerSweep; batch++) {
      const now = this.#clock.now();
      const expired = await this.#store.recordExpiredSessions(now, this.#batchSize, (sessions) =>
        this.#journal.forSessions(sessions, (session) => [expiryEvent(session, now)]),
      );
      recorded += expired.length;
      if (expired.length < this.#batchSize) break;
    }
    return recorded;
  }
}

/** `session.expired`, with the end that passed (`idle` or `absolute`) and when it did. */
function expiryEvent(session: SessionRecord, now: number): AuditEventDraft {
  const state = sessionState(session, now);
  const ended = state.status === 'expired' ? state : { reason: 'absolute' as const, at: session.expiresAt };
  return { type: 'session.expired', session, actor: systemActor, reason: ended.reason, details: { expired_at: new Date(ended.at).toISOString() } };
}
