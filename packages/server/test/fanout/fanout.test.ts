// Fan-out between nodes over real stores, Redis and LISTEN connections. Most tests measure delivery on the
// wall clock end to end (channel delivery, reconnects, the 500 ms poll on SQLite), with margins for a busy
// machine. Three are on manual time, where the wait itself is the point: the publish-only process (no timer
// at all), the 5 s safety poll (not before, then at once), which took 1.2 s and 5.4 s of sleeping, and the
// LISTEN connection's 250 ms reconnect backoff.
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type Scheduler, systemClock } from '../../src/core/clock.js';
import type { Log } from '../../src/core/log.js';
import type { SessionEvent } from '../../src/core/sessions.js';
import type { SessionStore } from '../../src/core/store.js';
import { connectRedis } from '../../src/shared-redis.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { eventually } from '../cli/harness.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, onDatabase, redisUrl, type TestDatabase, throughPort, uniqueRedisPrefix } from '../services.js';
import { TcpProxy } from '../tcp-proxy.js';

/** A log that keeps what it was told, so tests can see that trouble was reported. */
function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const record = (_fields: Record<string, unknown>, message: string) => void lines.push(message);
  return { lines, info: record, warn: record, error: record };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Node {
  tessera: Tessera;
  /** Revocations this node's listeners heard, with when. */
  heard: { event: Extract<SessionEvent, { type: 'revoked' }>; at: number }[];
  log: ReturnType<typeof recordingLog>;
}

/**
 * A node on the system clock, or on `manual` (as clock and scheduler: its polls run when the test
 * advances it). Stores, Redis and LISTEN connections are real either way.
 */
async function startNode(store: SessionStore, redis?: Redis, manual?: ManualClock, scheduler: Scheduler | undefined = manual): Promise<Node> {
  const log = recordingLog();
  const time = manual ? { clock: manual, scheduler } : { clock: systemClock };
  const tessera = await createTessera({
    store,
    ...time,
    apiKey: 'tsk_fanout_key_0123456789abcdefghijklmn',
    issuer: 'http://tessera.test',
    log,
    ...(redis ? { redis } : {}),
  });
  const heard: Node['heard'] = [];
  tessera.sessions.onSessionEvent((event) => {
    if (event.type === 'revoked') heard.push({ event, at: Date.now() });
  });
  cleanups.push(() => tessera.close());
  return { tessera, heard, log };
}

function redisClient(url: string, prefix: string, log: Log = recordingLog()): Redis {
  const redis = connectRedis(url, prefix, log);
  cleanups.push(() => redis.disconnect());
  return redis;
}

/**
 * Revokes `count` sessions on `from` and returns how long each took to reach `to`'s listeners: one
 * at a time, or `together` (all at once, each timed from its own revocation), for a node that hears
 * them at a 500 ms poll, where one at a time would wait out a poll each.
 */
async function revocationDelays(from: Node, to: Node, count: number, options: { together?: boolean } = {}): Promise<number[]> {
  const revokeAndTime = async (i: number): Promise<number> => {
    const grant = await from.tessera.sessions.createSession({ userId: `user-${i}` });
    // The other node has it cached as active.
    expect((await to.tessera.sessions.authenticate(grant.accessToken)).session.id).toBe(grant.session.id);
    const revokedAt = Date.now();
    await from.tessera.sessions.revokeSession(grant.session.id, 'admin');
    await eventually(async () => to.heard.some((entry) => entry.event.session.id === grant.session.id), 3_000, 5);
    const entry = to.heard.find((heard) => heard.event.session.id === grant.session.id)!;
    expect(entry.event.session.revokedReason).toBe('admin');
    expect(entry.event.elsewhere).toBe(true);
    // And the other node no longer serves it as active.
    await expect(to.tessera.sessions.authenticate(grant.accessToken)).rejects.toMatchObject({ code: 'session_revoked' });
    return entry.at - revokedAt;
  };
  const indexes = Array.from({ length: count }, (_, i) => i);
  if (options.together) return Promise.all(indexes.map(revokeAndTime));
  const delays: number[] = [];
  for (const i of indexes) delays.push(await revokeAndTime(i));
  return delays;
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1]!;

describe('fan-out on SQLite: another process on the same file', () => {
  it('hears revocations made by another process within a second, through onSessionEvent', async () => {
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const a = await startNode(new SqliteSessionStore(join(temp.dir, 'tessera.db')));
    const b = await startNode(new SqliteSessionStore(join(temp.dir, 'tessera.db')));
    const delays = await revocationDelays(a, b, 5, { together: true });
    expect(p99(delays)).toBeLessThan(1_000);
    // Each revocation is heard once, and never echoed back to where it was made.
    expect(b.heard).toHaveLength(5);
    expect(a.heard.every((entry) => entry.event.elsewhere === undefined)).toBe(true);
    expect(a.heard).toHaveLength(5);
  });

  it('a publish-only process (a CLI command) does not poll or hear anything', async () => {
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const clock = new ManualClock();
    const a = await startNode(new SqliteSessionStore(join(temp.dir, 'tessera.db')), undefined, clock);
    const listening = await startNode(new SqliteSessionStore(join(temp.dir, 'tessera.db')), undefined, clock);
    const quietClock = new ManualClock();
    const quiet = await createTessera({ store: new SqliteSessionStore(join(temp.dir, 'tessera.db')), clock: quietClock, scheduler: quietClock, listen: false });
    cleanups.push(() => quiet.close());
    // No poll, no API-key re-read: nothing set to run later at all.
    expect(quietClock.pendingTimers).toBe(0);
    const heard: SessionEvent[] = [];
    quiet.sessions.onSessionEvent((event) => heard.push(event));
    const grant = await a.tessera.sessions.createSession({ userId: 'alice' });
    await a.tessera.sessions.revokeSession(grant.session.id, 'logout');
    // A listening node on the same file hears it at its next poll: there was something to hear.
    await clock.advanceAsync(0.5);
    await eventually(async () => listening.heard.length === 1, 5_000);
    await quietClock.advanceAsync(60);
    expect(heard).toEqual([]);
    expect(quietClock.pendingTimers).toBe(0);
  });
});

describe('fan-out between nodes on one PostgreSQL database', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  const openStore = () => PostgresSessionStore.open({ connectionString: database.url });

  it('LISTEN/NOTIFY: revocations reach the other node well within a second (p99), and are not echoed', async () => {
    const a = await startNode(await openStore());
    const b = await startNode(await openStore());
    await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
    const delays = await revocationDelays(a, b, 20);
    expect(p99(delays)).toBeLessThan(1_000);
    expect(b.heard).toHaveLength(20);
    expect(a.heard.filter((entry) => entry.event.elsewhere)).toHaveLength(0);
  });

  it('a key rotated on one node signs on the other at once, and its tokens verify everywhere', async () => {
    const a = await startNode(await openStore());
    const b = await startNode(await openStore());
    await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
    const before = await b.tessera.sessions.createSession({ userId: 'alice' });
    const rotated = await a.tessera.signingKeys.rotate();
    await eventually(async () => (await b.tessera.signingKeys.currentKey()).kid === rotated.kid, 2_000);
    const after = await b.tessera.sessions.createSession({ userId: 'alice' });
    expect(JSON.parse(Buffer.from(after.accessToken.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.kid);
    expect((await a.tessera.sessions.authenticate(after.accessToken)).session.id).toBe(after.session.id);
    // The old key still verifies what it signed.
    expect((await a.tessera.sessions.authenticate(before.accessToken)).session.id).toBe(before.session.id);
    expect(b.tessera.signingKeys.publicJwks().keys.map((key) => key.kid)).toContain(rotated.kid);
  });

  it('a node whose LISTEN connection is dropped reconnects, and misses no revocation meanwhile', async () => {
    const a = await startNode(await openStore());
    const b = await startNode(await openStore());
    await eventually(async () => b.tessera.fanout.connected, 5_000);
    const grants = await Promise.all([1, 2, 3].map((i) => a.tessera.sessions.createSession({ userId: `u${i}` })));
    for (const grant of grants) await b.tessera.sessions.authenticate(grant.accessToken);
    // The server drops both nodes' listening connections; revocations happen while they reconnect.
    await onDatabase(database.url, (client) =>
      client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tessera-fanout' AND datname = $1", [database.name]),
    );
    for (const grant of grants) await a.tessera.sessions.revokeSession(grant.session.id, 'admin');
    await eventually(async () => grants.every((grant) => b.heard.some((entry) => entry.event.session.id === grant.session.id)), 2_000);
    for (const grant of grants) await expect(b.tessera.sessions.authenticate(grant.accessToken)).rejects.toMatchObject({ code: 'session_revoked' });
    await eventually(async () => b.tessera.fanout.connected, 5_000);
    expect(b.log.lines.some((line) => line.includes('channel lost'))).toBe(true);
  });

  it('a dropped LISTEN connection is opened again after its backoff (250 ms, on the scheduler), not before', async () => {
    const clock = new ManualClock();
    // The node's one-shot waits, as asked of its scheduler.
    const waits: number[] = [];
    const scheduler: Scheduler = {
      setTimer: (ms, run) => {
        waits.push(ms);
        return clock.setTimer(ms, run);
      },
      setRepeating: (ms, run) => clock.setRepeating(ms, run),
    };
    const b = await startNode(await openStore(), undefined, clock, scheduler);
    await eventually(async () => b.tessera.fanout.connected, 5_000);
    // At start only the audit purge's first run, a minute on; the fan-out waits for nothing.
    expect(waits).toEqual([60_000]);
    waits.length = 0;
    await onDatabase(database.url, (client) =>
      client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tessera-fanout' AND datname = $1", [database.name]),
    );
    await eventually(async () => !b.tessera.fanout.connected, 5_000);
    await eventually(async () => waits.length === 1, 5_000);
    expect(waits).toEqual([250]);
    await clock.advanceAsync(0.249);
    expect(b.tessera.fanout.connected).toBe(false);
    clock.advance(0.001);
    await eventually(async () => b.tessera.fanout.connected, 5_000);
    expect(b.log.lines.filter((line) => line.includes('listening for changes'))).toHaveLength(2);
  });

  describe('with Redis', () => {
    it('revocations reach the other node over pub/sub well within a second (p99)', async () => {
      const prefix = uniqueRedisPrefix();
      const a = await startNode(await openStore(), redisClient(redisUrl, prefix));
      const b = await startNode(await openStore(), redisClient(redisUrl, prefix));
      await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
      const delays = await revocationDelays(a, b, 20);
      expect(p99(delays)).toBeLessThan(1_000);
      expect(b.heard).toHaveLength(20);
    });

    it('a node cut off from Redis falls back on the database, says so, and resubscribes when Redis is back', async () => {
      const prefix = uniqueRedisPrefix();
      const target = new URL(redisUrl);
      const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
      await proxy.start();
      cleanups.push(() => proxy.close());
      const a = await startNode(await openStore(), redisClient(redisUrl, prefix));
      const b = await startNode(await openStore(), redisClient(throughPort(redisUrl, proxy.port), prefix));
      await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);

      proxy.cut();
      await eventually(async () => !b.tessera.fanout.connected, 5_000);
      const delays = await revocationDelays(a, b, 3, { together: true });
      expect(p99(delays)).toBeLessThan(1_500);
      expect(b.log.lines.some((line) => line.includes('channel lost'))).toBe(true);

      proxy.restore();
      await eventually(async () => b.tessera.fanout.connected, 10_000);
      const after = await revocationDelays(a, b, 3);
      expect(p99(after)).toBeLessThan(1_000);
    });

    it('a node starts while Redis is down, serves correctly on the database alone, and subscribes once Redis answers', async () => {
      const prefix = uniqueRedisPrefix();
      const target = new URL(redisUrl);
      const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
      await proxy.start();
      cleanups.push(() => proxy.close());
      proxy.cut();
      const bLog = recordingLog();
      const a = await startNode(await openStore(), redisClient(redisUrl, prefix));
      const b = await startNode(await openStore(), redisClient(throughPort(redisUrl, proxy.port), prefix, bLog));
      expect(b.tessera.fanout.connected).toBe(false);
      await eventually(async () => bLog.lines.some((line) => line.includes('redis: unreachable')), 5_000);
      const delays = await revocationDelays(a, b, 2, { together: true });
      expect(p99(delays)).toBeLessThan(1_500);
      proxy.restore();
      await eventually(async () => b.tessera.fanout.connected, 15_000);
      expect(p99(await revocationDelays(a, b, 2))).toBeLessThan(1_000);
    });

    it('a publish lost on the way (Redis unreachable from the revoking node only) is caught up by the safety poll, 5 s on', async () => {
      // On manual time: the poll ticks run when the test moves the clock; Redis and the database are real.
      const clock = new ManualClock();
      // Two prefixes: both nodes are connected to Redis, but neither hears the other's channel.
      const a = await startNode(await openStore(), redisClient(redisUrl, uniqueRedisPrefix()), clock);
      const b = await startNode(await openStore(), redisClient(redisUrl, uniqueRedisPrefix()), clock);
      await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
      // The catch-up every (re)connect starts is over: from here on, only the safety poll reads the store.
      await b.tessera.fanout.catchUp();
      const polledAt = clock.now();
      const grant = await a.tessera.sessions.createSession({ userId: 'alice' });
      await a.tessera.sessions.revokeSession(grant.session.id, 'admin');
      const heardIt = () => b.heard.some((entry) => entry.event.session.id === grant.session.id);
      // The poll ticks every 500 ms, but with the channel up it reads the store only 5 s after the last read.
      await clock.advanceAsync(4.5);
      expect(clock.now() - polledAt).toBe(4_500);
      expect(heardIt()).toBe(false);
      await clock.advanceAsync(0.5);
      await eventually(async () => heardIt(), 5_000);
      expect(b.tessera.fanout.connected).toBe(true);
    });

    it('keeps deployments with different prefixes apart', async () => {
      const a = await startNode(await openStore(), redisClient(redisUrl, uniqueRedisPrefix()));
      const other = redisClient(redisUrl, uniqueRedisPrefix());
      const messages: string[] = [];
      const listener = other.duplicate();
      cleanups.push(() => listener.disconnect());
      await listener.psubscribe('tessera-test-*');
      listener.on('pmessage', (_pattern: string, channel: string) => messages.push(channel));
      await eventually(async () => a.tessera.fanout.connected, 5_000);
      const grant = await a.tessera.sessions.createSession({ userId: 'alice' });
      await a.tessera.sessions.revokeSession(grant.session.id, 'logout');
      await eventually(async () => messages.length > 0, 2_000);
      expect(new Set(messages)).toEqual(new Set([`${a.tessera.redis!.options.keyPrefix}fanout`]));
    });
  });
});
