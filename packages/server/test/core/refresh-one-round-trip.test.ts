import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { TesseraError } from '../../src/core/errors.js';
import type { SessionStore } from '../../src/core/store.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, onDatabase, type TestDatabase } from '../services.js';

/**
 * On PostgreSQL a refresh is one statement (`rotateUnreadRefreshToken`), whichever node issued the
 * token (it carries its session, sealed under the key the nodes share): no read first. Whatever it refuses (spent, revoked, expired) goes the way of a read, so the rules
 * hold as on SQLite: the grace window, reuse detection, the session's ends.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const refreshCalls = new Set(['findRefreshToken', 'rotateRefreshToken', 'rotateUnreadRefreshToken', 'getSession', 'revokeSession']);

/** The store, and the calls of it a refresh may make, in order; not the background work (signing-key reloads, revocation catch-up). */
function countingCalls(store: SessionStore): { counted: SessionStore; calls: string[] } {
  const calls: string[] = [];
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (refreshCalls.has(String(name))) calls.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { counted, calls };
}

describe('refresh on PostgreSQL: one round trip for a token of any node', () => {
  const opened: { tessera: Tessera }[] = [];
  afterEach(async () => {
    for (const { tessera } of opened.splice(0)) await tessera.close();
  });

  /** A node whose store counts the calls the core makes. */
  async function node(clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0)), config: unknown = { flows: { dash: { idle_timeout: 1800 } } }) {
    const { counted, calls } = countingCalls(await PostgresSessionStore.open({ connectionString: database.url }));
    const tessera = await createTessera({ store: counted, clock, config: parseConfig(config), apiKey: 'k'.repeat(40), issuer: 'http://tessera.test' });
    opened.push({ tessera });
    return { tessera, clock, calls };
  }

  it('refreshes with the one statement, chained, and records the device as a read would have', async () => {
    const { tessera, clock, calls } = await node();
    const created = await tessera.sessions.createSession({
      userId: 'alice',
      flow: 'dash',
      device: { userAgent: 'Agent/1', browser: 'Agent 1', os: 'Linux', ip: '203.0.113.1' },
    });
    clock.advance(60);
    calls.length = 0;
    const first = await tessera.sessions.refreshSession(created.refreshToken, { userAgent: null, browser: null, os: null, ip: '203.0.113.2' });
    expect(calls).toEqual(['rotateUnreadRefreshToken']);
    expect(first.session).toMatchObject({
      refreshCount: 1,
      lastRefreshedAt: clock.now(),
      idleExpiresAt: clock.now() + 1800_000,
      device: { userAgent: 'Agent/1', browser: 'Agent 1', os: 'Linux', ip: '203.0.113.2' },
    });
    clock.advance(60);
    calls.length = 0;
    const second = await tessera.sessions.refreshSession(first.refreshToken, { userAgent: 'Agent/2', browser: null, os: null, ip: null });
    expect(calls).toEqual(['rotateUnreadRefreshToken']);
    expect(second.session).toMatchObject({ refreshCount: 2, device: { userAgent: 'Agent/2', browser: null, os: null, ip: '203.0.113.2' } });
    expect(second.refreshTokenExpiresAt).toBe(clock.now() + 1800_000);
    expect(await tessera.store.getSession(created.session.id)).toEqual(second.session);
  });

  it('answers a retry of a spent token inside the grace window with the same pair, and revokes after it', async () => {
    const { tessera, clock } = await node();
    const created = await tessera.sessions.createSession({ userId: 'alice' });
    const results = await Promise.all(Array.from({ length: 10 }, () => tessera.sessions.refreshSession(created.refreshToken)));
    expect(new Set(results.map((grant) => grant.refreshToken)).size).toBe(1);
    const live = await onDatabase(database.url, (client) =>
      client.query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = $1 AND spent_at IS NULL', [created.session.id]),
    );
    expect(Number(live.rows[0].n)).toBe(1);
    clock.advance(11);
    const reuse = await tessera.sessions.refreshSession(created.refreshToken).catch((error: unknown) => error);
    expect(reuse).toBeInstanceOf(TesseraError);
    expect((reuse as TesseraError).code).toBe('session_revoked');
    expect((await tessera.store.getSession(created.session.id))?.revokedReason).toBe('reuse_detected');
  });

  it('refuses a token of a session revoked or expired since it was issued, with the code a read gives', async () => {
    const { tessera, clock, calls } = await node();
    const revoked = await tessera.sessions.createSession({ userId: 'alice' });
    const idle = await tessera.sessions.createSession({ userId: 'alice', flow: 'dash' });
    // Revoked by another node: the token still carries a session it cannot tell has ended.
    await onDatabase(database.url, (client) =>
      client.query("UPDATE sessions SET revoked_at = 1, revoked_reason = 'admin' WHERE id = $1", [revoked.session.id]),
    );
    calls.length = 0;
    await expect(tessera.sessions.refreshSession(revoked.refreshToken)).rejects.toMatchObject({ code: 'session_revoked' });
    expect(calls.slice(0, 2)).toEqual(['rotateUnreadRefreshToken', 'findRefreshToken']);
    clock.advance(1800);
    await expect(tessera.sessions.refreshSession(idle.refreshToken)).rejects.toMatchObject({ code: 'session_expired', details: [{ reason: 'idle' }] });
    const spent = await onDatabase(database.url, (client) =>
      client.query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE spent_at IS NOT NULL AND session_id IN ($1, $2)', [revoked.session.id, idle.session.id]),
    );
    expect(Number(spent.rows[0].n)).toBe(0);
  });

  it('rotates a token another node issued in the one statement too: the token carries its session', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const a = await node(clock);
    const b = await node(clock);
    const created = await a.tessera.sessions.createSession({ userId: 'alice' });
    b.calls.length = 0;
    const grant = await b.tessera.sessions.refreshSession(created.refreshToken);
    expect(b.calls).toEqual(['rotateUnreadRefreshToken']);
    // …and back on the first node, which has never seen the successor.
    a.calls.length = 0;
    const third = await a.tessera.sessions.refreshSession(grant.refreshToken);
    expect(a.calls).toEqual(['rotateUnreadRefreshToken']);
    expect(third.session).toMatchObject({ id: created.session.id, refreshCount: 2 });
    // The spent token, presented again on either node inside the grace window, gets the same pair.
    expect((await a.tessera.sessions.refreshSession(created.refreshToken)).refreshToken).toBe(grant.refreshToken);
  });

  it('reads first for a token too long to carry its session (a user id of 256 non-ASCII characters)', async () => {
    const { tessera, calls } = await node();
    const created = await tessera.sessions.createSession({ userId: '\u00e9'.repeat(256) });
    expect(created.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    calls.length = 0;
    const grant = await tessera.sessions.refreshSession(created.refreshToken);
    expect(calls).toEqual(['findRefreshToken', 'rotateRefreshToken']);
    expect(grant.session.userId).toBe('\u00e9'.repeat(256));
  });
});

describe('refresh on SQLite after a restart', () => {
  it('rotates the tokens issued before it with the one statement, as the node that issued them did', async () => {
    const { dir, cleanup } = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const open = async () => {
      const { counted, calls } = countingCalls(new SqliteSessionStore(join(dir, 'tessera.db')));
      return { tessera: await createTessera({ store: counted, clock, apiKey: 'k'.repeat(40), issuer: 'http://tessera.test' }), calls };
    };
    try {
      const before = await open();
      const created = await before.tessera.sessions.createSession({ userId: 'alice' });
      await before.tessera.close();
      const after = await open();
      const grant = await after.tessera.sessions.refreshSession(created.refreshToken);
      expect(after.calls).toEqual(['rotateUnreadRefreshToken']);
      expect(grant.session).toMatchObject({ id: created.session.id, userId: 'alice', refreshCount: 1 });
      await after.tessera.close();
    } finally {
      cleanup();
    }
  });
});
