export interface BackoffOptions {
  /** Seconds before the first retry (before jitter). Default 1. */
  initialDelay?: number;
  /** Longest wait between retries, in seconds. Default 60. */
  maxDelay?: number;
}

/**
 * Delays between refresh retries: exponential, with jitter so a fleet of clients that lost the
 * server together does not come back in step, and never shorter than the server's `retry_after`.
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#initial = Math.max(0, options.initialDelay ?? 1) * 1000;
    this.#max = Math.max(this.#initial, (options.maxDelay ?? 60) * 1000);
    this.#random = random;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** Counts a failure and returns the milliseconds to wait before the next attempt. */
  nextDelay(retryAfterSeconds: number | null = null): number {
    this.#failures += 1;
    const ceiling = Math.min(this.#max, this.#initial * 2 ** (this.#failures - 1));
    // "Equal jitter": at least half the ceiling, so retries do spread out but never come at once.
    const jittered = ceiling / 2 + this.#random() * (ceiling / 2);
    const floor = retryAfterSeconds === null ? 0 : retryAfterSeconds * 1000;
    return Math.round(Math.max(jittered, floor));
  }

  reset(): void {
    this.#failures = 0;
  }
}
