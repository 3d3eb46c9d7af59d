import type { Clock } from '../core/clock.js';
import type { SessionEvent } from '../core/sessions.js';

const minuteMs = 60_000;

/** What happened on this node in one minute. */
export interface MinuteActivity {
  /** The minute's first instant (epoch ms, a whole minute). */
  readonly start: number;
  readonly sessionsCreated: number;
  readonly refreshes: number;
  readonly revocations: number;
}

interface Counts {
  sessionsCreated: number;
  refreshes: number;
  revocations: number;
}

/**
 * Sessions created, refreshes and revocations of this node, counted per minute in memory for the
 * admin console's chart. Kept for `keptMinutes` only: a restart starts from nothing, as `/metrics` does.
 * Revocations heard from other nodes are not counted: each node counts what it did.
 */
export class ActivityCounts {
  static readonly keptMinutes = 60;
  readonly #clock: Clock;
  readonly #minutes = new Map<number, Counts>();
  readonly #since: number;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#since = clock.now();
  }

  /** When counting began: minutes before it show zeros that mean "not counted", not "nothing happened". */
  get countingSince(): number {
    return this.#since;
  }

  /** Counts one event of the session service (subscribe it with `sessions.onSessionEvent`). */
  record(event: SessionEvent): void {
    if (event.type === 'revoked' && event.elsewhere) return;
    const counts = this.#current();
    if (event.type === 'created') counts.sessionsCreated += 1;
    else if (event.type === 'refreshed') counts.refreshes += 1;
    else counts.revocations += 1;
  }

  /** The last `count` minutes, oldest first, the current (unfinished) one last. */
  lastMinutes(count: number): MinuteActivity[] {
    const current = Math.floor(this.#clock.now() / minuteMs);
    const minutes: MinuteActivity[] = [];
    for (let minute = current - count + 1; minute <= current; minute++) {
      const counts = this.#minutes.get(minute);
      minutes.push({
        start: minute * minuteMs,
        sessionsCreated: counts?.sessionsCreated ?? 0,
        refreshes: counts?.refreshes ?? 0,
        revocations: counts?.revocations ?? 0,
      });
    }
    return minutes;
  }

  #current(): Counts {
    const minute = Math.floor(this.#clock.now() / minuteMs);
    let counts = this.#minutes.get(minute);
    if (!counts) {
      counts = { sessionsCreated: 0, refreshes: 0, revocations: 0 };
      this.#minutes.set(minute, counts);
      for (const kept of this.#minutes.keys()) if (kept <= minute - ActivityCounts.keptMinutes) this.#minutes.delete(kept);
    }
    return counts;
  }
}
