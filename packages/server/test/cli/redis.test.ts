import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, killAll, serve } from './harness.js';

afterEach(async () => {
  await killAll();
  cleanupDirs();
});

const key = 'tsk_redis_key_0123456789abcdefghijklmno';
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function configFile(data: string, config: unknown): string {
  const path = join(data, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('tessera serve with REDIS_URL', () => {
  it('two processes share rate limits through Redis; an unreachable Redis falls back to this process, never a 500', async () => {
    const config = { rate_limits: { refresh_per_token: { limit: 3, window: 3600 }, redis_key_prefix: `tessera-test:${randomUUID()}:` } };
    const start = (env: Record<string, string>) => {
      const data = dataDir();
      return serve(['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key, '--config', configFile(data, config)], env);
    };
    // One after the other: three starts at once can take longer than the harness waits on a busy machine.
    const nodeA = await start({ REDIS_URL: redisUrl });
    const nodeB = await start({ REDIS_URL: redisUrl });
    const lonely = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
    const refresh = (url: string) => call(`${url}/v1/token/refresh`, { body: { refresh_token: 'rt_shared_guess' } });

    const statuses = [];
    for (const node of [nodeA, nodeB, nodeA, nodeB]) statuses.push((await refresh(node.url)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);

    const alone = [];
    for (let index = 0; index < 4; index++) alone.push((await refresh(lonely.url)).status);
    expect(alone).toEqual([401, 401, 401, 429]);
    // The child's log reaches this pipe a moment after its answers: wait for the line, do not read at once.
    await lonely.waitFor(/rate limits: Redis unreachable/, 10_000);
  });
});
