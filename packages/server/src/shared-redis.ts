import { Redis } from 'ioredis';
import { ConfigError } from './config.js';
import type { Log } from './core/log.js';

/** Keys and channels of one deployment in a shared Redis start with this. */
export const defaultRedisPrefix = 'tessera:';

/**
 * Connects to the Redis at `url` (`REDIS_URL`) that the nodes share. Does not wait for it: a node
 * starts and stays correct without Redis, and uses it from when it answers. State changes are
 * logged once each, not on every reconnect attempt.
 */
export function connectRedis(url: string, prefix: string, log: Log): Redis {
  if (!/^rediss?:\/\//.test(url)) throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL.');
  const redis = new Redis(url, { keyPrefix: prefix, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  let up: boolean | undefined;
  redis.on('ready', () => {
    if (up !== true) log.info({ prefix }, 'redis: connected');
    up = true;
  });
  redis.on('error', (error: Error) => {
    if (up !== false) log.warn({ err: error }, 'redis: unreachable; falling back on the database and retrying');
    up = false;
  });
  return redis;
}
