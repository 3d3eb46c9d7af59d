import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import type { SessionRecord } from '../../src/core/session.js';
import type { RefreshTokenRecord, RotateUnreadRefreshToken } from '../../src/core/store.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { storedSession } from '../helpers.js';
import { createTestDatabase, onDatabase, type TestDatabase } from '../services.js';

/**
 * Group commit on PostgreSQL (`PipelinedGroupCommit`): refreshes that arrive while others commit
 * share one transaction, one WAL flush. Each is still decided as if it ran alone, after the ones
 * before it; one that fails, fails alone; and none is answered before its commit.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('PostgresSessionStore: refreshes committed in groups', () => {
  const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
  let store: PostgresSessionStore;

  beforeEach(async () => {
    store = await PostgresSessionStore.open({ connectionString: database.url });
    await onDatabase(database.url, (client) => client.query('TRUNCATE sessions, refresh_tokens CASCADE'));
  });
  afterEach(async () => {
    await store.close();
  });

  const session = (id: string) => storedSession(id, t0);
  const token = (sessionId: string, hash = randomBytes(32).toString('base64url')): RefreshTokenRecord => ({
    hash,
    sessionId,
    issuedAt: t0,
    spentAt: null,
    sealedSuccessor: null,
  });
  const unread = (sessionId: string, spentHash: string, successorHash?: string): RotateUnreadRefreshToken => ({
    spentHash,
    spentAt: t0 + 1_000,
    sealedSuccessor: `sealed-${randomBytes(8).toString('hex')}`,
    successor: token(sessionId, successorHash),
    sessionId,
    lastRefreshedAt: t0 + 1_000,
    idleExpiresAt: null,
    dpopJkt: null,
    now: t0 + 1_000,
    seen: null,
  });
  async function createSessions(count: number): Promise<{ session: SessionRecord; token: RefreshTokenRecord }[]> {
    const made = [];
    for (let i = 0; i < count; i++) {
      const s = session(`ses_${i}_${randomBytes(3).toString('hex')}`);
      const tk = token(s.id);
      await store.createSession(s, tk);
      made.push({ session: s, token: tk });
    }
    return made;
  }
  /** The transactions that wrote these rows: rows one transaction inserted share its `xmin`. */
  const writers = (hashes: string[]) =>
    onDatabase(database.url, async (client) => {
      const { rows } = await client.query<{ n: string }>('SELECT COUNT(DISTINCT xmin::text) AS n FROM refresh_tokens WHERE hash = ANY($1)', [hashes]);
      return Number(rows[0]!.n);
    });

  it('commits the refreshes of one moment in one transaction, and each is visible to another connection once answered', async () => {
    const made = await createSessions(30);
    const rotations = made.map(({ session: s, token: tk }) => unread(s.id, tk.hash));
    const results = await Promise.all(rotations.map((each) => store.rotateUnreadRefreshToken(each)));
    expect(results.map((result) => result?.refreshCount)).toEqual(made.map(() => 1));
    expect(await writers(rotations.map((each) => each.successor.hash))).toBe(1);
    const spent = await onDatabase(database.url, (client) => client.query('SELECT COUNT(*)::int AS n FROM refresh_tokens WHERE spent_at IS NOT NULL'));
    expect(spent.rows[0].n).toBe(30);
  });

  it('commits refreshes that read the token first (another node issued it) in groups too', async () => {
    const made = await createSessions(10);
    const rotations = made.map(({ session: s, token: tk }) => {
      const { now: _now, seen: _seen, ...rest } = unread(s.id, tk.hash);
      return { ...rest, device: null };
    });
    const results = await Promise.all(rotations.map((each) => store.rotateRefreshToken(each)));
    expect(results.map((result) => result?.refreshCount)).toEqual(made.map(() => 1));
    expect(await writers(rotations.map((each) => each.successor.hash))).toBe(1);
  });

  it('lets exactly one of many refreshes of the same token in one transaction win; the others change nothing', async () => {
    const [{ session: s, token: tk }] = (await createSessions(1)) as [{ session: SessionRecord; token: RefreshTokenRecord }];
    const rotations = Array.from({ length: 20 }, () => unread(s.id, tk.hash));
    const results = await Promise.all(rotations.map((each) => store.rotateUnreadRefreshToken(each)));
    const winners = results.flatMap((result, i) => (result ? [i] : []));
    expect(winners).toHaveLength(1);
    const winner = rotations[winners[0]!]!;
    expect(results[winners[0]!]).toMatchObject({ id: s.id, refreshCount: 1, version: 2 });
    expect((await store.findRefreshToken(tk.hash))?.token).toMatchObject({ spentAt: t0 + 1_000, sealedSuccessor: winner.sealedSuccessor });
    for (const loser of rotations.filter((each) => each !== winner)) expect(await store.findRefreshToken(loser.successor.hash)).toBeNull();
    expect((await store.getSession(s.id))?.refreshCount).toBe(1);
  });

  it('fails one refresh of a group alone (a constraint); the others commit', async () => {
    const made = await createSessions(3);
    const [a, b, c] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    // b's successor reuses c's hash: the primary key refuses it, which aborts the shared transaction.
    const attempts = [unread(a.session.id, a.token.hash), unread(b.session.id, b.token.hash, c.token.hash), unread(c.session.id, c.token.hash)];
    const settled = await Promise.allSettled(attempts.map((each) => store.rotateUnreadRefreshToken(each)));
    expect(settled.map((each) => each.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).not.toBeInstanceOf(TesseraError);
    expect((await store.getSession(a.session.id))?.refreshCount).toBe(1);
    expect((await store.getSession(c.session.id))?.refreshCount).toBe(1);
    expect(await store.getSession(b.session.id)).toEqual(b.session);
    expect(await store.rotateUnreadRefreshToken(unread(b.session.id, b.token.hash))).toMatchObject({ refreshCount: 1 });
  });

  it('splits more refreshes than a group holds over several, every one answered', async () => {
    const made = await createSessions(150);
    const results = await Promise.all(made.map(({ session: s, token: tk }) => store.rotateUnreadRefreshToken(unread(s.id, tk.hash))));
    expect(results.every((result) => result?.refreshCount === 1)).toBe(true);
  });

  it('answers service_unavailable to every refresh of a group when the store has closed', async () => {
    const made = await createSessions(3);
    await store.close();
    const settled = await Promise.allSettled(made.map(({ session: s, token: tk }) => store.rotateUnreadRefreshToken(unread(s.id, tk.hash))));
    for (const each of settled) {
      expect(each.status).toBe('rejected');
      expect((each as PromiseRejectedResult).reason).toMatchObject({ code: 'service_unavailable' });
    }
    store = await PostgresSessionStore.open({ connectionString: database.url });
  });
});

describe("PostgresSessionStore: DPoP proofs' jti taken in groups", () => {
  const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
  let store: PostgresSessionStore;

  beforeEach(async () => {
    store = await PostgresSessionStore.open({ connectionString: database.url });
    await onDatabase(database.url, (client) => client.query('TRUNCATE dpop_proofs'));
  });
  afterEach(async () => {
    await store.close();
  });

  /** The transactions that inserted these proofs' rows. */
  const writers = (jtis: string[]) =>
    onDatabase(database.url, async (client) => {
      const { rows } = await client.query<{ n: string }>('SELECT COUNT(DISTINCT xmin::text) AS n FROM dpop_proofs WHERE jti = ANY($1)', [jtis]);
      return Number(rows[0]!.n);
    });

  it('takes the proofs of one moment in one statement, each new one once, with its expiry', async () => {
    const jtis = Array.from({ length: 40 }, (_, i) => `jti-${i}-${randomBytes(4).toString('hex')}`);
    const taken = await Promise.all(jtis.map((jti, i) => store.rememberDpopProof(jti, t0 + i)));
    expect(taken).toEqual(jtis.map(() => true));
    expect(await writers(jtis)).toBe(1);
    const stored = await onDatabase(database.url, (client) => client.query('SELECT jti, expires_at FROM dpop_proofs ORDER BY expires_at'));
    expect(stored.rows.map((row: { jti: string; expires_at: string }) => [row.jti, Number(row.expires_at)])).toEqual(jtis.map((jti, i) => [jti, t0 + i]));
    // Each again, together: every one is a replay now.
    expect(await Promise.all(jtis.map((jti) => store.rememberDpopProof(jti, t0)))).toEqual(jtis.map(() => false));
  });

  it('a jti twice in one group is new the first time only; a jti from an earlier group is not new', async () => {
    expect(await store.rememberDpopProof('seen-before', t0)).toBe(true);
    const uses = ['a', 'b', 'a', 'seen-before', 'b', 'c'];
    expect(await Promise.all(uses.map((jti) => store.rememberDpopProof(jti, t0)))).toEqual([true, true, false, false, false, true]);
  });

  it('races two stores (two nodes) on the same jti: exactly one takes it', async () => {
    const other = await PostgresSessionStore.open({ connectionString: database.url });
    try {
      const jtis = Array.from({ length: 30 }, (_, i) => `raced-${i}`);
      const [mine, theirs] = await Promise.all([
        Promise.all(jtis.map((jti) => store.rememberDpopProof(jti, t0))),
        Promise.all(jtis.map((jti) => other.rememberDpopProof(jti, t0))),
      ]);
      expect(jtis.map((_, i) => Number(mine[i]) + Number(theirs[i]))).toEqual(jtis.map(() => 1));
    } finally {
      await other.close();
    }
  });

  it('answers service_unavailable to every proof of a group when the store has closed', async () => {
    await store.close();
    const settled = await Promise.allSettled(['x', 'y'].map((jti) => store.rememberDpopProof(jti, t0)));
    for (const each of settled) expect(each).toMatchObject({ status: 'rejected', reason: { code: 'service_unavailable' } });
    store = await PostgresSessionStore.open({ connectionString: database.url });
  });
});
