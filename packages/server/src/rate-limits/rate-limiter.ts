/** At most `limit` requests per `window` seconds. */
export interface RateRule {
  readonly limit: number;
  readonly window: number;
}

/** The answer to one counted request. */
export interface RateDecision {
  /** Whether the request is inside the limit. */
  readonly allowed: boolean;
  /** Requests counted in the current window, this one included. */
  readonly count: number;
  /** Whole seconds until the window ends (at least 1): the `retry_after` of a refusal. */
  readonly retryAfter: number;
}

/**
 * Counts requests per key in fixed windows of `rule.window` seconds, aligned on the clock
 * (window n covers [n·w, (n+1)·w)). A fixed window lets at most twice the limit through around a
 * window edge; that is fine for abuse limits and keeps each check one atomic counter update.
 */
export interface RateLimiter {
  /** Counts one request under `key` and says whether it is inside `rule`. */
  hit(key: string, rule: RateRule): Promise<RateDecision>;
}

/** The window `now` falls in under `rule`: its number and when it ends (epoch ms). */
export function windowOf(now: number, rule: RateRule): { index: number; endsAt: number } {
  const length = rule.window * 1000;
  const index = Math.floor(now / length);
  return { index, endsAt: (index + 1) * length };
}

/** The decision for the `count`-th request of a window ending at `endsAt`. */
export function decide(count: number, rule: RateRule, now: number, endsAt: number): RateDecision {
  return { allowed: count <= rule.limit, count, retryAfter: Math.max(1, Math.ceil((endsAt - now) / 1000)) };
}
