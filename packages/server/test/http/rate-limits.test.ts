import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { clientSubject, secretSubject } from '../../src/http/rate-limits.js';
import { defaultRedisPrefix } from '../../src/shared-redis.js';
import { type Answer, call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const servers: TestServer[] = [];
const redisClients: Redis[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(() => {
  for (const client of redisClients) client.disconnect();
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const server = await startServer(options);
  servers.push(server);
  return server;
}

function refresh(server: TestServer, refreshToken: string, headers: Record<string, string> = {}): Promise<Answer> {
  return call(`${server.url}/v1/token/refresh`, { body: { refresh_token: refreshToken }, headers });
}

function expectRateLimited(answer: Answer, limit: string, retryAfter: number): void {
  expect(answer.status, answer.text).toBe(429);
  expect(answer.body.error).toBe('rate_limited');
  expect(answer.body.retry_after).toBe(retryAfter);
  expect(answer.headers.get('retry-after')).toBe(String(retryAfter));
  expect(answer.body.details).toEqual([expect.objectContaining({ limit })]);
  expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
}

describe('rate limits over HTTP, in process', () => {
  it('refresh per token: past the limit rate_limited with retry_after to the window end, then open again', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 20));
    const server = await start({ clock, config: { rate_limits: { refresh_per_token: { limit: 3, window: 60 } } } });
    for (let index = 0; index < 3; index++) expect((await refresh(server, 'rt_guess')).body.error).toBe('session_not_found');
    expectRateLimited(await refresh(server, 'rt_guess'), 'refresh_per_token', 40);
    // Another token from the same client is not affected.
    expect((await refresh(server, 'rt_other')).body.error).toBe('session_not_found');
    clock.advance(30);
    expectRateLimited(await refresh(server, 'rt_guess'), 'refresh_per_token', 10);
    clock.advance(10);
    expect((await refresh(server, 'rt_guess')).body.error).toBe('session_not_found');
  });

  it('refresh per token counts what a real client does: a real token refreshes, its successor has its own budget', async () => {
    const server = await start({ config: { rate_limits: { refresh_per_token: { limit: 2, window: 60 } } } });
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
    let token = created.body.refresh_token as string;
    for (let index = 0; index < 5; index++) {
      const answer = await refresh(server, token);
      expect(answer.status, answer.text).toBe(200);
      token = answer.body.refresh_token;
    }
  });

  it('refresh per client IP: many tokens from one address; others unaffected; X-Forwarded-For only counts behind trust_proxy', async () => {
    const config = { rate_limits: { refresh_per_ip: { limit: 4, window: 60 } } };
    const direct = await start({ config });
    // Not trusted: a spoofed X-Forwarded-For does not buy a fresh budget.
    for (let index = 0; index < 4; index++) await refresh(direct, `rt_${index}`, { 'x-forwarded-for': `203.0.113.${index}` });
    expectRateLimited(await refresh(direct, 'rt_next', { 'x-forwarded-for': '198.51.100.7' }), 'refresh_per_ip', 60);

    const proxied = await start({ config: { ...config, trust_proxy: true } });
    for (let index = 0; index < 4; index++) await refresh(proxied, `rt_${index}`, { 'x-forwarded-for': '203.0.113.9' });
    expectRateLimited(await refresh(proxied, 'rt_more', { 'x-forwarded-for': '203.0.113.9' }), 'refresh_per_ip', 60);
    expect((await refresh(proxied, 'rt_more', { 'x-forwarded-for': '203.0.113.10' })).body.error).toBe('session_not_found');
    // IPv6 counts by /64: rotating the interface id does not help.
    for (let index = 0; index < 4; index++) await refresh(proxied, `rt_${index}`, { 'x-forwarded-for': `2001:db8:1:2::${index + 1}` });
    expectRateLimited(await refresh(proxied, 'rt_more', { 'x-forwarded-for': '2001:db8:1:2:ffff::9' }), 'refresh_per_ip', 60);
  });

  it('the per-IP limit refuses before the body is read', async () => {
    const server = await start({ config: { rate_limits: { refresh_per_ip: { limit: 1, window: 60 } } } });
    await refresh(server, 'rt_first');
    const answer = await send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expectRateLimited(answer, 'refresh_per_ip', 60);
  });

  it('management per API key: every management route counts; a wrong key is api_key_invalid, not counted there', async () => {
    const server = await start({ config: { rate_limits: { management_per_key: { limit: 3, window: 60 } } } });
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey })).status).toBe(201);
    expect((await call(`${server.url}/v1/users/alice/sessions`, { token: testApiKey })).status).toBe(200);
    for (let index = 0; index < 5; index++)
      expect((await call(`${server.url}/v1/users/alice/sessions`, { token: 'tsk_wrong' })).body.error).toBe('api_key_invalid');
    expect((await call(`${server.url}/v1/users/alice/sessions`, { token: testApiKey })).status).toBe(200);
    expectRateLimited(await call(`${server.url}/v1/sessions`, { body: { user_id: 'bob' }, token: testApiKey }), 'management_per_key', 60);
    // End-user routes are not management calls.
    expect((await refresh(server, 'rt_x')).body.error).toBe('session_not_found');
  });

  it('/oauth/revoke per client IP: unauthenticated revocations are counted before the body is read', async () => {
    const server = await start({ config: { rate_limits: { revoke_per_ip: { limit: 3, window: 60 } } } });
    const revoke = (body: string) =>
      send(`${server.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    for (let index = 0; index < 3; index++) expect((await revoke(`token=rt_guess_${index}`)).status).toBe(200);
    const refused = await revoke('token=rt_guess_more');
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body.error).toBe('temporarily_unavailable');
    expect(refused.body.tessera_error).toBe('rate_limited');
    expect(refused.body.retry_after).toBe(60);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.body.details).toEqual([expect.objectContaining({ limit: 'revoke_per_ip' })]);
    expect((await revoke('%%%not a form')).status).toBe(429);
  });

  it("/oauth/introspect with the API key counts against that key's management limit", async () => {
    const server = await start({ config: { rate_limits: { management_per_key: { limit: 3, window: 60 } } } });
    const introspect = () =>
      send(`${server.url}/oauth/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${testApiKey}` },
        body: 'token=rt_unknown',
      });
    for (let index = 0; index < 2; index++) expect((await introspect()).body).toEqual({ active: false });
    expect((await call(`${server.url}/v1/users/alice/sessions`, { token: testApiKey })).status).toBe(200);
    const refused = await introspect();
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body.tessera_error).toBe('rate_limited');
    expect(refused.body.details).toEqual([expect.objectContaining({ limit: 'management_per_key' })]);
    expectRateLimited(await call(`${server.url}/v1/users/alice/sessions`, { token: testApiKey }), 'management_per_key', 60);
  });

  it('failed API-key attempts per client IP: past the limit even the right key waits, other addresses do not', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 30));
    const server = await start({ clock, config: { trust_proxy: true, rate_limits: { api_key_failures_per_ip: { limit: 3, window: 60 } } } });
    const from = (ip: string, token?: string) =>
      call(`${server.url}/v1/users/alice/sessions`, { headers: { 'x-forwarded-for': ip }, ...(token ? { token } : {}) });
    expect((await from('203.0.113.7', 'tsk_guess_1')).body.error).toBe('api_key_invalid');
    expect((await from('203.0.113.7')).body.error).toBe('api_key_invalid');
    expect((await from('203.0.113.7', 'tsk_guess_3')).body.error).toBe('api_key_invalid');
    // A success is not a failure: it does not count.
    expect((await from('203.0.113.7', testApiKey)).status).toBe(200);
    expectRateLimited(await from('203.0.113.7', 'tsk_guess_4'), 'api_key_failures_per_ip', 30);
    // Once over, a guess that happens to be right is refused too, so guessing learns nothing.
    expectRateLimited(await from('203.0.113.7', testApiKey), 'api_key_failures_per_ip', 30);
    expect((await from('203.0.113.8', testApiKey)).status).toBe(200);
    // The revocation feed and introspection share the budget.
    const feed = await call(`${server.url}/v1/revocations`, { headers: { 'x-forwarded-for': '203.0.113.7' }, token: 'tsk_guess_5' });
    expectRateLimited(feed, 'api_key_failures_per_ip', 30);
    clock.advance(30);
    expect((await from('203.0.113.7', testApiKey)).status).toBe(200);
  });

  it('a limit set to null is off', async () => {
    const server = await start({ config: { rate_limits: { refresh_per_token: null, refresh_per_ip: null } } });
    const answers = await Promise.all(Array.from({ length: 60 }, () => refresh(server, 'rt_same')));
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([401]));
  });

  it('metrics count rate-limited requests by limit', async () => {
    const server = await start({ config: { rate_limits: { refresh_per_token: { limit: 1, window: 60 } } } });
    await refresh(server, 'rt_a');
    await refresh(server, 'rt_a');
    await refresh(server, 'rt_a');
    const metrics = await send(`${server.url}/metrics`);
    expect(metrics.text).toContain('tessera_rate_limited_total{limit="refresh_per_token"} 2');
  });
});

describe('rate limits shared through Redis', () => {
  /** A connected client: until it is ready, the limiter counts in process (its fallback), per node. */
  async function redisClient(): Promise<Redis> {
    const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    redisClients.push(client);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    return client;
  }

  it('two nodes on one Redis share the per-token budget', async () => {
    const config = { rate_limits: { refresh_per_token: { limit: 4, window: 60 }, redis_key_prefix: `tessera-test:${randomUUID()}:` } };
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const nodeA = await start({ clock, config, redis: await redisClient() });
    const nodeB = await start({ clock, config, redis: await redisClient() });
    const statuses = [];
    for (const node of [nodeA, nodeB, nodeA, nodeB, nodeA, nodeB]) statuses.push((await refresh(node, 'rt_shared')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });

  it("counters sit under the README's default prefix, tessera:ratelimit:, not tessera:tessera:ratelimit:", async () => {
    // The client `tessera serve` opens: every command prefixed with the deployment's `tessera:`.
    const deployment = new Redis(redisUrl, { keyPrefix: defaultRedisPrefix, maxRetriesPerRequest: 1 });
    redisClients.push(deployment);
    await new Promise((resolve) => deployment.once('ready', resolve));
    const reader = await redisClient();
    const token = `rt_${randomUUID()}`;
    const server = await start({ redis: deployment });
    expect((await refresh(server, token)).status).toBe(401);

    const subject = secretSubject(token);
    const keys = await reader.keys(`*refresh_per_token:${subject}:*`);
    try {
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(new RegExp(`^tessera:ratelimit:refresh_per_token:${subject}:60:\\d+$`));
      expect(await reader.get(keys[0]!)).toBe('1');
    } finally {
      if (keys.length > 0) await reader.del(...keys);
    }
  });

  it('Redis unreachable: in-process limits, logged, never a 500 or a hang', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 200 });
    dead.on('error', () => {});
    redisClients.push(dead);
    const server = await start({ config: { rate_limits: { refresh_per_token: { limit: 2, window: 60 } } }, redis: dead });
    const started = performance.now();
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await refresh(server, 'rt_same')).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    expect(performance.now() - started).toBeLessThan(5000);
    const metrics = await send(`${server.url}/metrics`);
    expect(metrics.text).toMatch(/tessera_rate_limit_fallbacks_total [1-9]/);
  });
});

describe('client subjects', () => {
  it('IPv4 as is, IPv4-mapped unwrapped, IPv6 by /64 in one spelling', () => {
    expect(clientSubject('203.0.113.5')).toBe('203.0.113.5');
    expect(clientSubject('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(clientSubject('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientSubject('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientSubject('::1')).toBe('0:0:0:0::/64');
    expect(clientSubject('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientSubject('2001:db8::')).toBe('2001:db8:0:0::/64');
  });
});
