// A user's every session revoked on one node reaches the others in a few batched messages, not one
// message (and one store read) per session. Real PostgreSQL, Redis and LISTEN connections; delivery is
// timed on the wall clock with a margin for a busy machine.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { type FanoutMessage, fanoutMessageBytes, parseFanoutMessage, revocationMessages } from '../../src/core/fanout-channel.js';
import type { Log } from '../../src/core/log.js';
import type { SessionEvent, TokenGrant } from '../../src/core/sessions.js';
import { connectRedis } from '../../src/shared-redis.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { eventually } from '../cli/harness.js';
import { createTestDatabase, onDatabase, redisUrl, type TestDatabase, uniqueRedisPrefix } from '../services.js';

const quietLog: Log = { info: () => {}, warn: () => {}, error: () => {} };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const note = (i: number) => ({ sessionId: `ses_${String(i).padStart(26, '0')}`, version: i % 7 });

describe('revocation messages', () => {
  it('one revocation keeps the format every node reads; many go in batches under the NOTIFY payload limit', () => {
    expect(revocationMessages([note(1)])).toEqual([{ type: 'session_revoked', ...note(1) }]);
    const notes = Array.from({ length: 1000 }, (_, i) => note(i));
    const messages = revocationMessages(notes);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.length).toBeLessThan(10);
    for (const message of messages) {
      expect(message.type).toBe('sessions_revoked');
      expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(fanoutMessageBytes);
    }
    // Every session once, in order, and each message reads back as it was sent.
    expect(messages.flatMap((message) => (message.type === 'sessions_revoked' ? message.sessions : []))).toEqual(notes);
    for (const message of messages) expect(parseFanoutMessage(JSON.stringify(message))).toEqual(message);
  });

  it('a batch with one bad entry is not read at all', () => {
    expect(parseFanoutMessage(JSON.stringify({ type: 'sessions_revoked', sessions: [note(1), { sessionId: 3, version: 1 }] }))).toBeNull();
    expect(parseFanoutMessage(JSON.stringify({ type: 'sessions_revoked', sessions: [note(1), null] }))).toBeNull();
    expect(parseFanoutMessage(JSON.stringify({ type: 'sessions_revoked', sessions: 'ses_x' }))).toBeNull();
  });
});

describe('a mass revocation between nodes on one PostgreSQL database', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function startNode(redis?: Redis): Promise<{ tessera: Tessera; heard: Map<string, number> }> {
    const tessera = await createTessera({
      store: await PostgresSessionStore.open({ connectionString: database.url }),
      clock: systemClock,
      apiKey: 'tsk_fanout_key_0123456789abcdefghijklmn',
      issuer: 'http://tessera.test',
      log: quietLog,
      ...(redis ? { redis } : {}),
    });
    const heard = new Map<string, number>();
    tessera.sessions.onSessionEvent((event: SessionEvent) => {
      if (event.type === 'revoked' && event.elsewhere) heard.set(event.session.id, Date.now());
    });
    cleanups.push(() => tessera.close());
    return { tessera, heard };
  }

  /** Signs `userId` in `count` times on `node`, 50 at a time. */
  async function signIns(tessera: Tessera, userId: string, count: number): Promise<TokenGrant[]> {
    const grants: TokenGrant[] = [];
    for (let i = 0; i < count; i += 50) {
      grants.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => tessera.sessions.createSession({ userId })))));
    }
    return grants;
  }

  /**
   * Revokes the user's sessions on `a`; every one reaches `b`'s listeners, and `b` refuses their tokens.
   * Returns the ms from `a`'s commit to `b` hearing the last one.
   */
  async function revokeAllAndHear(a: Tessera, b: { tessera: Tessera; heard: Map<string, number> }, grants: TokenGrant[]): Promise<number> {
    // `b` has a few of them cached as active.
    for (const grant of grants.slice(0, 10)) await b.tessera.sessions.authenticate(grant.accessToken);
    const revoked = await a.sessions.revokeUserSessions(grants[0]!.session.userId, 'admin');
    // From the commit: how long the revocation of that many sessions itself takes is the bench's to say.
    const committed = Date.now();
    expect(revoked).toHaveLength(grants.length);
    await eventually(async () => grants.every((grant) => b.heard.has(grant.session.id)), 5_000, 5);
    const last = Math.max(...grants.map((grant) => b.heard.get(grant.session.id)!)) - committed;
    for (const grant of grants.slice(0, 10))
      await expect(b.tessera.sessions.authenticate(grant.accessToken)).rejects.toMatchObject({ code: 'session_revoked' });
    expect(b.heard.size).toBe(grants.length);
    return last;
  }

  it('over Redis: 300 sessions revoked at once reach the other node in 3 messages, within a second', async () => {
    const prefix = uniqueRedisPrefix();
    const redisOf = () => {
      const redis = connectRedis(redisUrl, prefix, quietLog);
      cleanups.push(() => redis.disconnect());
      return redis;
    };
    const a = await startNode(redisOf());
    const b = await startNode(redisOf());
    await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
    const wire: FanoutMessage[] = [];
    const listener = redisOf().duplicate();
    cleanups.push(() => listener.disconnect());
    listener.on('message', (_channel: string, text: string) => wire.push(parseFanoutMessage(text)!));
    await listener.subscribe(`${prefix}fanout`);

    const grants = await signIns(a.tessera, 'mass-redis', 300);
    const last = await revokeAllAndHear(a.tessera, b, grants);
    expect(last).toBeLessThan(1_000);
    expect(wire.map((message) => message.type)).toEqual(['sessions_revoked', 'sessions_revoked', 'sessions_revoked']);
    expect(new Set(wire.flatMap((message) => (message.type === 'sessions_revoked' ? message.sessions.map((each) => each.sessionId) : []))).size).toBe(300);
  });

  it('over Redis: the batches of 1,000 sessions are read from the store together, not one look per message', async () => {
    const prefix = uniqueRedisPrefix();
    const redisOf = () => {
      const redis = connectRedis(redisUrl, prefix, quietLog);
      cleanups.push(() => redis.disconnect());
      return redis;
    };
    const a = await startNode(redisOf());
    const b = await startNode(redisOf());
    await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
    const grants = await signIns(a.tessera, 'mass-looks', 1000);
    const messages = revocationMessages(grants.map((grant) => ({ sessionId: grant.session.id, version: grant.session.version })));
    expect(messages.length).toBeGreaterThanOrEqual(6);
    const looks = vi.spyOn(b.tessera.store, 'listRevokedSince');
    const last = await revokeAllAndHear(a.tessera, b, grants);
    expect(last).toBeLessThan(2_000);
    // The first message's look, then one for every message heard meanwhile (and at most one safety poll).
    expect(looks.mock.calls.length).toBeLessThanOrEqual(3);
  }, 30_000);

  it('over LISTEN/NOTIFY: 300 sessions revoked at once reach the other node within a second, in a few notifications', async () => {
    const a = await startNode();
    const b = await startNode();
    await eventually(async () => a.tessera.fanout.connected && b.tessera.fanout.connected, 5_000);
    const payloads: string[] = [];
    await onDatabase(database.url, async (client) => {
      client.on('notification', (notification) => payloads.push(notification.payload ?? ''));
      await client.query('LISTEN tessera_fanout');
      const grants = await signIns(a.tessera, 'mass-pg', 300);
      const last = await revokeAllAndHear(a.tessera, b, grants);
      expect(last).toBeLessThan(1_000);
    });
    expect(payloads).toHaveLength(3);
    expect(payloads.every((payload) => parseFanoutMessage(payload)?.type === 'sessions_revoked')).toBe(true);
  });
});
