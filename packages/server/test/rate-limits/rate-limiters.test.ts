import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { FallbackRateLimiter } from '../../src/rate-limits/fallback-rate-limiter.js';
import { MemoryRateLimiter } from '../../src/rate-limits/memory-rate-limiter.js';
import type { RateLimiter } from '../../src/rate-limits/rate-limiter.js';
import { RedisRateLimiter, relativeKeyPrefix } from '../../src/rate-limits/redis-rate-limiter.js';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const clients: Redis[] = [];
afterAll(() => {
  for (const client of clients) client.disconnect();
});

function redisClient(): Redis {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}

/** Both limiters keep the same promises: one contract, run against each. */
const limiters: [string, (clock: ManualClock) => RateLimiter][] = [
  ['in process', (clock) => new MemoryRateLimiter({ clock })],
  ['Redis', (clock) => new RedisRateLimiter({ redis: redisClient(), clock, keyPrefix: `tessera-test:${randomUUID()}:` })],
];

describe.each(limiters)('rate limiter contract: %s', (_name, makeLimiter) => {
  const rule = { limit: 3, window: 60 };

  it('allows up to the limit in a window, then refuses with the seconds left in the window', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 15));
    const limiter = makeLimiter(clock);
    const counts = [];
    for (let index = 0; index < 5; index++) counts.push(await limiter.hit('a', rule));
    expect(counts.map((decision) => decision.allowed)).toEqual([true, true, true, false, false]);
    expect(counts.map((decision) => decision.count)).toEqual([1, 2, 3, 4, 5]);
    expect(counts[3]!.retryAfter).toBe(45);
    clock.advance(44.5);
    expect((await limiter.hit('a', rule)).retryAfter).toBe(1);
  });

  it('starts afresh in the next window, and keys and rules count apart', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const limiter = makeLimiter(clock);
    for (let index = 0; index < 3; index++) await limiter.hit('a', rule);
    expect((await limiter.hit('a', rule)).allowed).toBe(false);
    expect((await limiter.hit('b', rule)).allowed).toBe(true);
    expect((await limiter.hit('a', { limit: 3, window: 10 })).allowed).toBe(true);
    clock.advance(60);
    expect(await limiter.hit('a', rule)).toEqual({ allowed: true, count: 1, retryAfter: 60 });
  });

  it('counts concurrent hits exactly', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const limiter = makeLimiter(clock);
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.hit('burst', { limit: 20, window: 60 })));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(20);
    expect(decisions.map((decision) => decision.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
  });
});

describe('in-process limiter memory', () => {
  it('holds at most maxKeys counters under a flood of distinct keys, evicting expired ones first', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const limiter = new MemoryRateLimiter({ clock, maxKeys: 100 });
    for (let index = 0; index < 1000; index++) await limiter.hit(`k${index}`, { limit: 5, window: 60 });
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect((await limiter.hit('k999', { limit: 5, window: 60 })).count).toBe(2);
  });
});

describe('Redis key prefixes', () => {
  it('do not stack: the client prefix is not added twice, a prefix of its own goes under it', () => {
    expect(relativeKeyPrefix('tessera:ratelimit:', 'tessera:')).toBe('ratelimit:');
    expect(relativeKeyPrefix('tessera:ratelimit:', '')).toBe('tessera:ratelimit:');
    expect(relativeKeyPrefix('app1:', 'tessera:')).toBe('app1:');
  });
});

describe('Redis limiter', () => {
  it('shares one count between nodes (two clients, two limiters)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const keyPrefix = `tessera-test:${randomUUID()}:`;
    const nodeA = new RedisRateLimiter({ redis: redisClient(), clock, keyPrefix });
    const nodeB = new RedisRateLimiter({ redis: redisClient(), clock, keyPrefix });
    const rule = { limit: 4, window: 60 };
    const decisions = [
      await nodeA.hit('k', rule),
      await nodeB.hit('k', rule),
      await nodeA.hit('k', rule),
      await nodeB.hit('k', rule),
      await nodeA.hit('k', rule),
    ];
    expect(decisions.map((decision) => decision.count)).toEqual([1, 2, 3, 4, 5]);
    expect(decisions.at(-1)!.allowed).toBe(false);
  });

  it('keys expire on their own shortly after their window, so Redis does not fill up', async () => {
    const redis = redisClient();
    const keyPrefix = `tessera-test:${randomUUID()}:`;
    const limiter = new RedisRateLimiter({ redis, clock: new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 50)), keyPrefix });
    await limiter.hit('k', { limit: 1, window: 60 });
    const [key] = await redis.keys(`${keyPrefix}*`);
    const ttl = await redis.pttl(key!);
    expect(ttl).toBeGreaterThan(9_000);
    expect(ttl).toBeLessThanOrEqual(11_000);
  });
});

describe('falling back when Redis is away', () => {
  const rule = { limit: 2, window: 60 };

  function logRecorder() {
    const lines: string[] = [];
    return {
      lines,
      log: { warn: (_: object, message: string) => lines.push(`warn: ${message}`), info: (_: object, message: string) => lines.push(`info: ${message}`) },
    };
  }

  it('a refused connection: answers from this process at once, logged once', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    clients.push(dead);
    const { lines, log } = logRecorder();
    let fallbacks = 0;
    const limiter = new FallbackRateLimiter({
      primary: new RedisRateLimiter({ redis: dead, clock, keyPrefix: 'unused:' }),
      fallback: new MemoryRateLimiter({ clock }),
      isPrimaryUsable: () => dead.status === 'ready' || dead.status === 'wait',
      log,
      onFallback: () => fallbacks++,
    });
    const started = performance.now();
    const decisions = [await limiter.hit('k', rule), await limiter.hit('k', rule), await limiter.hit('k', rule)];
    expect(performance.now() - started).toBeLessThan(2000);
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, false]);
    expect(limiter.degraded).toBe(true);
    expect(fallbacks).toBe(3);
    expect(lines).toEqual(['warn: rate limits: Redis unreachable, counting in this process until it is back']);
  });

  it('a Redis that accepts but never answers: the fallback answers after the timeout, then Redis is skipped for a while', async () => {
    const sockets: Socket[] = [];
    const blackHole: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const port = (blackHole.address() as { port: number }).port;
    const silent = new Redis({ host: '127.0.0.1', port, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    clients.push(silent);
    try {
      const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
      const { lines, log } = logRecorder();
      const limiter = new FallbackRateLimiter({
        primary: new RedisRateLimiter({ redis: silent, clock, keyPrefix: 'unused:' }),
        fallback: new MemoryRateLimiter({ clock }),
        timeoutMs: 200,
        retryAfterFailureMs: 60_000,
        log,
      });
      const first = performance.now();
      expect((await limiter.hit('k', rule)).allowed).toBe(true);
      expect(performance.now() - first).toBeGreaterThanOrEqual(150);
      const second = performance.now();
      expect((await limiter.hit('k', rule)).allowed).toBe(true);
      expect((await limiter.hit('k', rule)).allowed).toBe(false);
      expect(performance.now() - second).toBeLessThan(150);
      expect(lines).toHaveLength(1);
    } finally {
      silent.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });

  it('comes back to Redis once it answers again, and says so', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const redis = redisClient();
    let usable = false;
    const { lines, log } = logRecorder();
    const limiter = new FallbackRateLimiter({
      primary: new RedisRateLimiter({ redis, clock, keyPrefix: `tessera-test:${randomUUID()}:` }),
      fallback: new MemoryRateLimiter({ clock }),
      isPrimaryUsable: () => usable,
      log,
    });
    await limiter.hit('k', rule);
    expect(limiter.degraded).toBe(true);
    usable = true;
    expect((await limiter.hit('k', rule)).count).toBe(1);
    expect(limiter.degraded).toBe(false);
    expect(lines.map((line) => line.split(':')[0])).toEqual(['warn', 'info']);
  });
});
