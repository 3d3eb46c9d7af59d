import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { decide, type RateDecision, type RateLimiter, type RateRule, windowOf } from './rate-limiter.js';

export interface RedisRateLimiterOptions {
  readonly redis: Redis;
  readonly clock: Clock;
  /**
   * What every counter's key starts with in Redis, so deployments (and tests) can share one Redis.
   * The client's own `keyPrefix` is not stacked on it when this already starts with it.
   */
  readonly keyPrefix: string;
}

// INCR and the expiry in one atomic step: a counter never outlives its window by a crash in between.
const incrementScript = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

/**
 * Fixed-window counters shared by every node through Redis. The window is named by the node's clock
 * (nodes run NTP), and each counter expires on its own shortly after its window ends.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #clock: Clock;
  readonly #keyPrefix: string;

  constructor(options: RedisRateLimiterOptions) {
    this.#redis = options.redis;
    this.#clock = options.clock;
    this.#keyPrefix = relativeKeyPrefix(options.keyPrefix, options.redis.options.keyPrefix ?? '');
  }

  async hit(key: string, rule: RateRule): Promise<RateDecision> {
    const now = this.#clock.now();
    const window = windowOf(now, rule);
    const redisKey = `${this.#keyPrefix}${key}:${rule.window}:${window.index}`;
    // A second past the window's end absorbs clock differences between nodes.
    const ttl = Math.max(1, window.endsAt - now) + 1000;
    const count = Number(await this.#redis.eval(incrementScript, 1, redisKey, ttl));
    if (!Number.isFinite(count)) throw new Error(`unexpected rate counter reply for ${redisKey}`);
    return decide(count, rule, now, window.endsAt);
  }
}

/**
 * The prefix to hand a client whose commands ioredis already prefixes with `clientPrefix`: keys came
 * out as `tessera:tessera:ratelimit:…` when both prefixes were stacked. A prefix that does not start
 * with the client's stays under it (the deployment's own prefix comes first).
 */
export function relativeKeyPrefix(keyPrefix: string, clientPrefix: string): string {
  return clientPrefix !== '' && keyPrefix.startsWith(clientPrefix) ? keyPrefix.slice(clientPrefix.length) : keyPrefix;
}
