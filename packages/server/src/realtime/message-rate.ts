/**
 * A token bucket for one connection's incoming messages: `burst` at once, then `perSecond`.
 * Real monotonic time, not the session clock: it meters traffic, not session lifetimes.
 */
export class MessageRate {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(options: { perSecond: number; burst: number }, now: () => number = () => performance.now()) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#now = now;
    this.#tokens = options.burst;
    this.#updatedAt = now();
  }

  /** Takes one message's worth; false when the connection is over its rate. */
  take(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#perSecond);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
