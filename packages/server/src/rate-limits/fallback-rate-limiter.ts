import type { RateDecision, RateLimiter, RateRule } from './rate-limiter.js';

/** What the fallback reports; a pino logger fits. */
export interface RateLimitLog {
  warn(object: Record<string, unknown>, message: string): void;
  info(object: Record<string, unknown>, message: string): void;
}

export interface FallbackRateLimiterOptions {
  /** The shared limiter (Redis). */
  readonly primary: RateLimiter;
  /** Used while the primary fails: this node's own counters. */
  readonly fallback: RateLimiter;
  /** Tells whether the primary is worth trying at all (e.g. the Redis connection is up). */
  readonly isPrimaryUsable?: () => boolean;
  /** Longest wait for the primary, in real milliseconds, before the fallback answers. */
  readonly timeoutMs?: number;
  /** After a failure, how long (real milliseconds) to skip the primary before trying it again. */
  readonly retryAfterFailureMs?: number;
  readonly log?: RateLimitLog;
  /** Called on every request the fallback answered because the primary failed. */
  readonly onFallback?: () => void;
}

/**
 * A shared limiter that never makes a request fail or wait on it: when Redis is down, slow or
 * refusing, this node's own counters answer (limits then hold per node, not per cluster), the change
 * is logged once, and Redis is tried again after a pause.
 */
export class FallbackRateLimiter implements RateLimiter {
  readonly #options: FallbackRateLimiterOptions;
  readonly #timeoutMs: number;
  readonly #retryAfterFailureMs: number;
  #skipPrimaryUntil = 0;
  #degraded = false;

  constructor(options: FallbackRateLimiterOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#retryAfterFailureMs = options.retryAfterFailureMs ?? 5000;
  }

  /** Whether the last answer came from the fallback. */
  get degraded(): boolean {
    return this.#degraded;
  }

  async hit(key: string, rule: RateRule): Promise<RateDecision> {
    const usable = this.#options.isPrimaryUsable?.() ?? true;
    if (!usable || Date.now() < this.#skipPrimaryUntil) {
      if (!usable) this.#markDegraded(new Error('the Redis connection is not ready'));
      return this.#fromFallback(key, rule);
    }
    try {
      const decision = await withTimeout(this.#options.primary.hit(key, rule), this.#timeoutMs);
      this.#markRecovered();
      return decision;
    } catch (error) {
      this.#skipPrimaryUntil = Date.now() + this.#retryAfterFailureMs;
      this.#markDegraded(error);
      return this.#fromFallback(key, rule);
    }
  }

  #fromFallback(key: string, rule: RateRule): Promise<RateDecision> {
    this.#options.onFallback?.();
    return this.#options.fallback.hit(key, rule);
  }

  #markDegraded(error: unknown): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#options.log?.warn({ err: error }, 'rate limits: Redis unreachable, counting in this process until it is back');
  }

  #markRecovered(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#options.log?.info({}, 'rate limits: Redis is back, counting in Redis again');
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  // A late rejection of the abandoned call must not become an unhandled rejection.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
