// The store purge keeps the store bounded without changing a rule: the one-successor rule, the grace
// window's replay and reuse detection hold exactly as before it ran.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { TesseraError } from '../../src/core/errors.js';
import { ExpirySweeper } from '../../src/core/expiry-sweeper.js';
import { hashRefreshToken } from '../../src/core/refresh-tokens.js';
import type { SessionStore } from '../../src/core/store.js';
import { StorePurge, storePurgeLease } from '../../src/core/store-purge.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { startCore, type TestTessera } from '../helpers.js';
import { createTestDatabase } from '../services.js';

const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const day = 86_400_000;
let core: TestTessera | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

async function start(config: unknown = {}): Promise<TestTessera> {
  core = await startCore({ clock: new ManualClock(t0), config });
  return core;
}

function purgeOf(c: TestTessera, store: SessionStore = c.store, scheduler?: ManualClock): StorePurge {
  const { config } = c.tessera;
  return new StorePurge({
    store,
    clock: c.clock,
    ...(scheduler ? { scheduler } : {}),
    flows: config.flows,
    retentionDays: config.retention.endedSessionsDays,
    intervalMs: config.retention.purgeInterval * 1000,
  });
}

/** The store, counting calls of `method` (the purge's first statement of each run, unless another is named). */
function countingClears(store: SessionStore, count: () => void, method: keyof SessionStore = 'clearSealedSuccessors'): SessionStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      if (property !== method) return value.bind(target);
      return (...args: unknown[]) => {
        count();
        return value.apply(target, args);
      };
    },
  });
}

async function refusal(work: Promise<unknown>): Promise<TesseraError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TesseraError);
  return error as TesseraError;
}

describe('store purge', () => {
  it('keeps the sealed successor through the grace window, so a concurrent retry still gets the identical pair', async () => {
    const c = await start();
    const { sessions } = c.tessera;
    const first = await sessions.createSession({ userId: 'alice' });
    const next = await sessions.refreshSession(first.refreshToken);
    const purge = purgeOf(c);
    // The reuse interval (10 s) and the clocks' allowance (10 s) have not passed: nothing is cleared.
    c.clock.advance(19);
    expect(await purge.purge()).toEqual({ sealedSuccessors: 0, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 });
    c.clock.set(t0 + 9_000);
    const retry = await sessions.refreshSession(first.refreshToken);
    expect(retry.refreshToken).toBe(next.refreshToken);
    expect(retry.accessToken).toBe(next.accessToken);
    // One successor: the retry issued nothing new, and the successor is still the one live token.
    expect((await c.store.getSession(first.session.id))?.refreshCount).toBe(1);
    expect((await c.store.findRefreshToken(hashRefreshToken(next.refreshToken)))?.token.spentAt).toBeNull();
  });

  it('forgets a remembered DPoP proof once its expiry has passed, and not before', async () => {
    const c = await start();
    expect(await c.store.rememberDpopProof('jti-of-a-proof', t0 + 65_000)).toBe(true);
    c.clock.advance(60);
    expect(await purgeOf(c).purge()).toMatchObject({ staleDpopProofs: 0 });
    c.clock.advance(6);
    expect(await purgeOf(c).countPurgeable()).toMatchObject({ staleDpopProofs: 1 });
    expect(await purgeOf(c).purge()).toMatchObject({ staleDpopProofs: 1 });
    expect(await purgeOf(c).countPurgeable()).toMatchObject({ staleDpopProofs: 0 });
  });

  it('a spent token replayed after the purge cleared its sealed successor still revokes the session for reuse', async () => {
    const c = await start();
    const { sessions } = c.tessera;
    const first = await sessions.createSession({ userId: 'alice' });
    await sessions.refreshSession(first.refreshToken);
    c.clock.advance(21);
    expect(await purgeOf(c).purge()).toEqual({ sealedSuccessors: 1, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 });
    const spent = await c.store.findRefreshToken(hashRefreshToken(first.refreshToken));
    expect(spent?.token).toMatchObject({ spentAt: t0, sealedSuccessor: null });

    const error = await refusal(sessions.refreshSession(first.refreshToken));
    expect(error.code).toBe('session_revoked');
    expect(error.details).toEqual([expect.objectContaining({ reason: 'reuse_detected' })]);
    expect((await c.store.getSession(first.session.id))?.revokedReason).toBe('reuse_detected');
    const events = await c.store.listAuditEvents({ sessionId: first.session.id, limit: 10 });
    expect(events.map((event) => event.type)).toContain('session.reuse_detected');
  });

  it("never touches a live session's live token, and keeps its spent tokens for reuse detection", async () => {
    const c = await start();
    const { sessions } = c.tessera;
    const grant = await sessions.createSession({ userId: 'alice' });
    const spentTokens = [grant.refreshToken];
    let current = grant;
    for (let i = 0; i < 3; i++) {
      c.clock.advance(60);
      current = await sessions.refreshSession(current.refreshToken);
      spentTokens.push(current.refreshToken);
    }
    spentTokens.pop();
    const liveBefore = await c.store.findRefreshToken(hashRefreshToken(current.refreshToken));
    // Days later (the session lives 14 days), far past any retention of spent successors.
    c.clock.advance(10 * 86_400);
    expect(await purgeOf(c).purge()).toEqual({ sealedSuccessors: 3, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 });
    expect(await c.store.findRefreshToken(hashRefreshToken(current.refreshToken))).toEqual(liveBefore);
    for (const token of spentTokens) expect((await c.store.findRefreshToken(hashRefreshToken(token)))?.token.spentAt).not.toBeNull();
    // The live token still refreshes; the oldest spent one is still known as reuse.
    const after = await sessions.refreshSession(current.refreshToken);
    expect(after.session.refreshCount).toBe(4);
    expect((await refusal(sessions.refreshSession(spentTokens[0]!))).code).toBe('session_revoked');
  });

  it('deletes ended sessions and their tokens after the retention, not before; a revoked one not before the revocation feed forgets it', async () => {
    // One day of retention, and access tokens of a day: the feed lists a revocation for a day and 10 s.
    const c = await start({ retention: { ended_sessions_days: 1 }, flows: { default: { access_token_ttl: 86_400, absolute_lifetime: 3600 } } });
    const { sessions } = c.tessera;
    const revoked = await sessions.createSession({ userId: 'alice' });
    await sessions.refreshSession(revoked.refreshToken);
    await sessions.revokeSession(revoked.session.id, 'admin');
    const expiring = await sessions.createSession({ userId: 'bob' });
    c.clock.advance(3600);
    const sweeper = new ExpirySweeper({ store: c.store, clock: c.clock, journal: c.tessera.journal, intervalMs: 30_000 });
    expect(await sweeper.sweep()).toBe(1);
    const purge = purgeOf(c);

    c.clock.set(t0 + day + 5_000);
    // The sealed successor is long past its window; the revoked session still within the feed's.
    expect(await purge.purge()).toEqual({ sealedSuccessors: 1, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 });
    expect(await c.store.getSession(revoked.session.id)).not.toBeNull();
    c.clock.set(t0 + day + 11_000);
    expect(await purge.purge()).toEqual({ sealedSuccessors: 0, endedSessionTokens: 2, endedSessions: 1, staleDpopProofs: 0 });
    expect(await c.store.getSession(revoked.session.id)).toBeNull();
    expect(await c.store.findRefreshToken(hashRefreshToken(revoked.refreshToken))).toBeNull();
    // Expired at t0 + 1 h, recorded then: a day later it goes too.
    expect(await c.store.getSession(expiring.session.id)).not.toBeNull();
    c.clock.set(t0 + 3600_000 + day + 11_000);
    expect(await purge.purge()).toEqual({ sealedSuccessors: 0, endedSessionTokens: 1, endedSessions: 1, staleDpopProofs: 0 });
    expect(await c.store.getSession(expiring.session.id)).toBeNull();
    // A presented token of a deleted session is simply unknown; the audit trail still tells its story.
    expect((await refusal(sessions.refreshSession(expiring.refreshToken))).code).toBe('session_not_found');
    const story = await c.store.listAuditEvents({ sessionId: revoked.session.id, limit: 10 });
    expect(story.map((event) => event.type).sort()).toEqual(['session.created', 'session.revoked']);
  });

  it('runs on one node at a time: the lease holder purges, another takes over once it stops', async () => {
    const c = await start({ retention: { purge_interval: 60 } });
    const { sessions } = c.tessera;
    const timers = new ManualClock(t0);
    const calls = [0, 0];
    const counted = (node: number) => countingClears(c.store, () => (calls[node]! += 1));
    const stops = [purgeOf(c, counted(0), timers).start(), purgeOf(c, counted(1), timers).start()];
    const grant = await sessions.createSession({ userId: 'alice' });
    await sessions.refreshSession(grant.refreshToken);
    c.clock.advance(60);
    await timers.advanceAsync(60);
    await timers.advanceAsync(60);
    expect(calls.filter((n) => n > 0)).toHaveLength(1);
    const leader = calls[0]! > 0 ? 0 : 1;
    expect((await c.store.findRefreshToken(hashRefreshToken(grant.refreshToken)))?.token.sealedSuccessor).toBeNull();
    // The leader stops (gives the lease up): the other node purges from its next run.
    stops[leader]!();
    await new Promise((resolve) => setImmediate(resolve));
    const before = calls[1 - leader]!;
    c.clock.advance(60);
    await timers.advanceAsync(60);
    expect(calls[1 - leader]).toBeGreaterThan(before);
    stops[1 - leader]!();
  });

  it('a leader that vanishes without giving the lease up is replaced once its lease runs out', async () => {
    const c = await start({ retention: { purge_interval: 60 } });
    // Another node took the lease at t0 for three intervals, then died.
    expect(await c.store.claimLease(storePurgeLease, 'purge_dead_node', t0, t0 + 180_000)).toBe(true);
    const timers = new ManualClock(t0);
    let ran = 0;
    const counting = countingClears(c.store, () => (ran += 1));
    const stop = purgeOf(c, counting, timers).start();
    for (let i = 0; i < 3; i++) {
      c.clock.advance(60);
      await timers.advanceAsync(60);
    }
    expect(ran).toBe(0);
    c.clock.advance(60);
    await timers.advanceAsync(60);
    expect(ran).toBe(1);
    stop();
  });
});

describe('retention config', () => {
  it('defaults to 30 days and a purge a minute; takes both in range', () => {
    expect(parseConfig({}).retention).toEqual({ endedSessionsDays: 30, purgeInterval: 60 });
    expect(parseConfig({ retention: { ended_sessions_days: 3650, purge_interval: 10 } }).retention).toEqual({ endedSessionsDays: 3650, purgeInterval: 10 });
  });

  it.each([
    { ended_sessions_days: 0 },
    { ended_sessions_days: 3651 },
    { ended_sessions_days: 1.5 },
    { ended_sessions_days: '30' },
    { ended_sessions_days: null },
    { purge_interval: 9 },
    { purge_interval: 3601 },
    { sessions_days: 30 },
  ])('refuses retention %j', (retention) => {
    expect(() => parseConfig({ retention })).toThrow(ConfigError);
  });
});

describe('store purge on PostgreSQL, two nodes', () => {
  it('one node purges at a time; the other takes over when it stops', async () => {
    const database = await createTestDatabase();
    const stores = [await PostgresSessionStore.open({ connectionString: database.url }), await PostgresSessionStore.open({ connectionString: database.url })];
    try {
      const clock = new ManualClock(t0);
      const timers = new ManualClock(t0);
      const calls = [0, 0];
      const purges = stores.map(
        (store, node) =>
          new StorePurge({
            // Its last statement: a run has ended (and the next may start) when it is counted.
            store: countingClears(store, () => (calls[node]! += 1), 'purgeEndedSessions'),
            clock,
            scheduler: timers,
            flows: parseConfig({}).flows,
            retentionDays: 30,
            intervalMs: 60_000,
          }),
      );
      const stops = purges.map((purge) => purge.start());
      // A minute at a time, each after the runs due have had time to end (a run still going when the next
      // is due skips that one), until three runs have ended.
      const aMinuteOn = async () => {
        clock.advance(60);
        await timers.advanceAsync(60);
      };
      await eventually(async () => {
        await aMinuteOn();
        return calls[0]! + calls[1]! >= 3;
      });
      expect(calls.filter((n) => n > 0)).toHaveLength(1);
      const leader = calls[0]! > 0 ? 0 : 1;
      stops[leader]!();
      const before = calls[1 - leader]!;
      await eventually(async () => {
        await aMinuteOn();
        return calls[1 - leader]! > before;
      });
      stops[1 - leader]!();
    } finally {
      for (const store of stores) await store.close();
      await database.drop();
    }
  });
});

/** Polls `check` (every 20 ms, up to 5 s) until it holds. */
async function eventually(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('never happened');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
