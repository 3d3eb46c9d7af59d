import type { FastifyBaseLogger } from 'fastify';
import type { RateLimitsConfig, RateRule } from '../config.js';
import type { Clock } from '../core/clock.js';
import { TesseraError } from '../core/errors.js';
import { FallbackRateLimiter } from '../rate-limits/fallback-rate-limiter.js';
import { MemoryRateLimiter } from '../rate-limits/memory-rate-limiter.js';
import type { RateLimiter } from '../rate-limits/rate-limiter.js';
import { RedisRateLimiter } from '../rate-limits/redis-rate-limiter.js';
import type { Tessera } from '../tessera.js';
import type { Metrics } from './metrics.js';

// Fastify-free, below both edges (the realtime gateway limits upgrades per client too); re-exported for existing imports.
export { clientSubject, secretSubject } from '../rate-limits/subjects.js';

/** The limits of the config file, by the name they have there. */
export type RateLimitName = 'refresh_per_token' | 'refresh_per_ip' | 'management_per_key' | 'revoke_per_ip' | 'api_key_failures_per_ip';

/** Limits that, once exceeded, refuse every attempt of the subject until the window ends (not just the counted ones). */
const blockingLimits: ReadonlySet<RateLimitName> = new Set(['api_key_failures_per_ip']);
/** Subjects blocked at once, at most; past it the oldest are forgotten (they still hit the shared counter). */
const maxBlockedSubjects = 10_000;

/**
 * The rate limits of the HTTP API: each route names what it limits and by what subject; a request
 * over a limit is `rate_limited` with `retry_after`.
 */
export class RequestRateLimits {
  readonly #limiter: RateLimiter;
  readonly #rules: Record<RateLimitName, RateRule | null>;
  readonly #metrics: Metrics;
  readonly #clock: Clock;
  /** `name:subject` of a blocking limit → when its window ends (epoch ms). */
  readonly #blockedUntil = new Map<string, number>();

  constructor(limiter: RateLimiter, config: RateLimitsConfig, metrics: Metrics, clock: Clock) {
    this.#limiter = limiter;
    this.#metrics = metrics;
    this.#clock = clock;
    this.#rules = {
      refresh_per_token: config.refreshPerToken,
      refresh_per_ip: config.refreshPerIp,
      management_per_key: config.managementPerKey,
      revoke_per_ip: config.revokePerIp,
      api_key_failures_per_ip: config.apiKeyFailuresPerIp,
    };
  }

  /** Throws `rate_limited` while `subject` is over a blocking limit, without counting anything. */
  refuseIfBlocked(name: RateLimitName, subject: string): void {
    const key = `${name}:${subject}`;
    const until = this.#blockedUntil.get(key);
    if (until === undefined) return;
    const now = this.#clock.now();
    if (until <= now) {
      this.#blockedUntil.delete(key);
      return;
    }
    this.#metrics.rateLimited.inc({ limit: name });
    throw this.#refusal(name, Math.max(1, Math.ceil((until - now) / 1000)));
  }

  /** Counts one request of `subject` under the limit `name`; throws `rate_limited` past it. */
  async enforce(name: RateLimitName, subject: string): Promise<void> {
    const rule = this.#rules[name];
    if (!rule) return;
    const decision = await this.#limiter.hit(`${name}:${subject}`, rule);
    if (decision.allowed) return;
    this.#metrics.rateLimited.inc({ limit: name });
    if (blockingLimits.has(name)) this.#block(`${name}:${subject}`, this.#clock.now() + decision.retryAfter * 1000);
    throw this.#refusal(name, decision.retryAfter);
  }

  #refusal(name: RateLimitName, retryAfter: number): TesseraError {
    const rule = this.#rules[name];
    return new TesseraError('rate_limited', {
      retryAfter,
      details: [{ limit: name, ...(rule ? { max_requests: rule.limit, window: rule.window } : {}) }],
    });
  }

  #block(key: string, until: number): void {
    if (this.#blockedUntil.size >= maxBlockedSubjects) {
      const oldest = this.#blockedUntil.keys().next().value;
      if (oldest !== undefined) this.#blockedUntil.delete(oldest);
    }
    this.#blockedUntil.delete(key);
    this.#blockedUntil.set(key, until);
  }
}

/** Redis-backed (with this process as fallback) when the node has Redis, in process otherwise. */
export function createRateLimiter(tessera: Tessera, log: FastifyBaseLogger, metrics: Metrics): RateLimiter {
  const local = new MemoryRateLimiter({ clock: tessera.clock });
  const redis = tessera.redis;
  if (!redis) return local;
  return new FallbackRateLimiter({
    primary: new RedisRateLimiter({ redis, clock: tessera.clock, keyPrefix: tessera.config.rateLimits.redisKeyPrefix }),
    fallback: local,
    // 'wait' is a lazy client not yet connected: the first command connects it.
    isPrimaryUsable: () => redis.status === 'ready' || redis.status === 'wait',
    log,
    onFallback: () => metrics.rateLimitFallbacks.inc(),
  });
}
