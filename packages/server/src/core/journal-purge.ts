import { type Clock, type Scheduler, systemScheduler } from './clock.js';
import { type Log, silentLog } from './log.js';
import type { SessionStore } from './store.js';

/** Rows deleted per statement: each delete is a short transaction. */
const defaultBatchSize = 1_000;
/** Batches per purge at most, per table; a larger backlog goes on the next purge. */
const batchesPerPurge = 100;
const dayMs = 86_400_000;
/** The first purge after a start: soon, but not in the middle of the node's start-up. */
const firstPurgeDelayMs = 60_000;

export interface JournalPurgeOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly scheduler?: Scheduler;
  /** Audit events and settled webhook messages older than this many days are deleted. */
  readonly retentionDays: number;
  /** How often a purge runs, in milliseconds. */
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly log?: Log;
}

/** What one purge deleted. */
export interface PurgeCounts {
  readonly events: number;
  readonly messages: number;
}

/**
 * Keeps the audit trail and the webhook outbox bounded: deletes audit events older than the
 * retention, and webhook messages settled (delivered or given up) and as old. Messages still being
 * delivered stay, whatever their age. Every node purges; the deletes are idempotent.
 */
export class JournalPurge {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #retentionMs: number;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #log: Log;
  #purging: Promise<PurgeCounts> | undefined;

  constructor(options: JournalPurgeOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#retentionMs = options.retentionDays * dayMs;
    this.#intervalMs = options.intervalMs;
    this.#batchSize = options.batchSize ?? defaultBatchSize;
    this.#log = options.log ?? silentLog;
  }

  /**
   * Purges a minute after the start (a node restarted more often than the interval still purges),
   * then every interval, until the returned function is called.
   */
  start(): () => void {
    const run = () => {
      this.purge().then(
        (counts) => {
          if (counts.events + counts.messages > 0) this.#log.info({ ...counts }, 'journal purge: deleted what is past retention');
        },
        (error: unknown) => this.#log.warn({ err: error }, 'journal purge: cannot purge now; will try again'),
      );
    };
    const first = this.#scheduler.setTimer(Math.min(firstPurgeDelayMs, this.#intervalMs), run, { unref: true });
    const timer = this.#scheduler.setRepeating(this.#intervalMs, run, { unref: true });
    return () => {
      first.cancel();
      timer.cancel();
    };
  }

  /** Deletes what is older than the retention now; concurrent callers share one purge. */
  purge(): Promise<PurgeCounts> {
    this.#purging ??= this.#purge().finally(() => {
      this.#purging = undefined;
    });
    return this.#purging;
  }

  async #purge(): Promise<PurgeCounts> {
    const before = this.#clock.now() - this.#retentionMs;
    const events = await this.#inBatches((limit) => this.#store.purgeAuditEvents(before, limit));
    const messages = await this.#inBatches((limit) => this.#store.purgeSettledWebhookMessages(before, limit));
    return { events, messages };
  }

  async #inBatches(purgeBatch: (limit: number) => Promise<number>): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < batchesPerPurge; batch++) {
      const count = await purgeBatch(this.#batchSize);
      deleted += count;
      if (count < this.#batchSize) break;
    }
    return deleted;
  }
}
