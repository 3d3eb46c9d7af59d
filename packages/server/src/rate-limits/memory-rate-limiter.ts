import type { Clock } from '../core/clock.js';
import { decide, type RateDecision, type RateLimiter, type RateRule, windowOf } from './rate-limiter.js';

export interface MemoryRateLimiterOptions {
  readonly clock: Clock;
  /** Most counters held at once; a flood of distinct keys evicts the oldest rather than growing without end. */
  readonly maxKeys?: number;
}

interface Counter {
  windowIndex: number;
  endsAt: number;
  count: number;
}

/** Fixed-window counters in this process: the limits of a single node, or of any node while Redis is away. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #counters = new Map<string, Counter>();

  constructor(options: MemoryRateLimiterOptions) {
    this.#clock = options.clock;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  async hit(key: string, rule: RateRule): Promise<RateDecision> {
    const now = this.#clock.now();
    const window = windowOf(now, rule);
    let counter = this.#counters.get(key);
    if (!counter || counter.windowIndex !== window.index) {
      this.#counters.delete(key);
      this.#makeRoom(now);
      counter = { windowIndex: window.index, endsAt: window.endsAt, count: 0 };
      this.#counters.set(key, counter);
    }
    counter.count += 1;
    return decide(counter.count, rule, now, counter.endsAt);
  }

  /** Counters currently held (for tests and metrics). */
  get size(): number {
    return this.#counters.size;
  }

  #makeRoom(now: number): void {
    if (this.#counters.size < this.#maxKeys) return;
    for (const [key, counter] of this.#counters) {
      if (counter.endsAt <= now) this.#counters.delete(key);
    }
    // Still full of live counters: drop the oldest (Map keeps insertion order).
    for (const key of this.#counters.keys()) {
      if (this.#counters.size < this.#maxKeys) break;
      this.#counters.delete(key);
    }
  }
}
