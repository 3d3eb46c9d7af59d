import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import type { SessionRecord } from '../../src/core/session.js';
import type { RefreshTokenRecord, RotateRefreshToken } from '../../src/core/store.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { repoRoot } from '../cli/harness.js';
import { liveRefreshToken, storedSession, tempDir } from '../helpers.js';

/**
 * Group commit (stores/group-commit.ts): rotations submitted in one event-loop turn share one
 * transaction. Each must still be decided alone, fail alone, and be durable before it is answered;
 * the batch as a whole commits entirely or not at all.
 */
describe('SqliteSessionStore: rotations committed in groups', () => {
  const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
  let temp: ReturnType<typeof tempDir>;
  let path: string;
  let store: SqliteSessionStore;

  beforeEach(() => {
    temp = tempDir();
    path = join(temp.dir, 'tessera.db');
    store = new SqliteSessionStore(path);
  });
  afterEach(async () => {
    await store.close();
    temp.cleanup();
  });

  const session = (id: string) => storedSession(id, t0);
  const token = (sessionId: string, hash?: string) => liveRefreshToken(sessionId, t0, hash);
  const rotation = (sessionId: string, spentHash: string, successorHash?: string): RotateRefreshToken => ({
    spentHash,
    spentAt: t0 + 1_000,
    sealedSuccessor: `sealed-${randomBytes(8).toString('hex')}`,
    successor: token(sessionId, successorHash),
    sessionId,
    lastRefreshedAt: t0 + 1_000,
    idleExpiresAt: null,
    device: null,
    dpopJkt: null,
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

  it('lets exactly one of many rotations of the same token in one batch win; the others lose the race and change nothing', async () => {
    const [{ session: s, token: tk }] = (await createSessions(1)) as [{ session: SessionRecord; token: RefreshTokenRecord }];
    const rotations = Array.from({ length: 20 }, () => rotation(s.id, tk.hash));
    // Submitted in one turn: one batch.
    const results = await Promise.all(rotations.map((each) => store.rotateRefreshToken(each)));
    const winners = results.flatMap((result, i) => (result ? [i] : []));
    expect(winners).toHaveLength(1);
    const winner = rotations[winners[0]!]!;
    expect(results[winners[0]!]).toMatchObject({ id: s.id, refreshCount: 1, version: 2 });
    expect((await store.findRefreshToken(tk.hash))?.token).toMatchObject({ spentAt: t0 + 1_000, sealedSuccessor: winner.sealedSuccessor });
    expect((await store.findRefreshToken(winner.successor.hash))?.token.spentAt).toBeNull();
    for (const loser of rotations.filter((each) => each !== winner)) expect(await store.findRefreshToken(loser.successor.hash)).toBeNull();
    expect((await store.getSession(s.id))?.refreshCount).toBe(1);
  });

  it('fails one rotation of a batch alone (a constraint), rolling back all it did; the others commit', async () => {
    const made = await createSessions(3);
    const [a, b, c] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    // b's successor reuses a live token's hash: the primary key refuses its INSERT, after its spend and renewal ran.
    const attempts = [rotation(a.session.id, a.token.hash), rotation(b.session.id, b.token.hash, c.token.hash), rotation(c.session.id, c.token.hash)];
    const settled = await Promise.allSettled(attempts.map((each) => store.rotateRefreshToken(each)));
    expect(settled.map((each) => each.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).not.toBeInstanceOf(TesseraError);
    expect((await store.getSession(a.session.id))?.refreshCount).toBe(1);
    expect((await store.getSession(c.session.id))?.refreshCount).toBe(1);
    // b is as before: its token live, its session not renewed.
    expect(await store.getSession(b.session.id)).toEqual(b.session);
    expect((await store.findRefreshToken(b.token.hash))?.token).toEqual(b.token);
    // …and can still be rotated.
    expect(await store.rotateRefreshToken(rotation(b.session.id, b.token.hash))).toMatchObject({ refreshCount: 1 });
  });

  it('answers null for a rotation that lost to a revocation inside a batch, with its spend undone', async () => {
    const made = await createSessions(2);
    const [live, revoked] = made as [(typeof made)[0], (typeof made)[0]];
    const pending = [
      store.rotateRefreshToken(rotation(live.session.id, live.token.hash)),
      store.rotateRefreshToken(rotation(revoked.session.id, revoked.token.hash)),
    ];
    // Runs now, before the batch (next turn): the queued rotation finds the session revoked.
    await store.revokeSession(revoked.session.id, 'admin', t0 + 500);
    const [first, second] = await Promise.all(pending);
    expect(first).toMatchObject({ id: live.session.id, refreshCount: 1 });
    expect(second).toBeNull();
    expect((await store.findRefreshToken(revoked.token.hash))?.token.spentAt).toBeNull();
  });

  it('rotates an unread token only while it is live, of its session, and the session active; merges the device as deviceSeen', async () => {
    const made = await createSessions(4);
    const [live, revoked, expired, other] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0], (typeof made)[0]];
    await store.revokeSession(revoked.session.id, 'admin', t0 + 500);
    const unread = (of: (typeof made)[0], sessionId: string, now: number) => ({
      ...rotation(sessionId, of.token.hash),
      now,
      seen: { userAgent: null, browser: null, os: null, ip: '203.0.113.9' },
    });
    const results = await Promise.all([
      store.rotateUnreadRefreshToken(unread(live, live.session.id, t0 + 1_000)),
      store.rotateUnreadRefreshToken(unread(revoked, revoked.session.id, t0 + 1_000)),
      store.rotateUnreadRefreshToken(unread(expired, expired.session.id, expired.session.expiresAt)),
      store.rotateUnreadRefreshToken(unread(other, live.session.id, t0 + 1_000)),
    ]);
    expect(results.map((result) => result?.refreshCount ?? null)).toEqual([1, null, null, null]);
    expect(results[0]?.device).toEqual({ userAgent: null, browser: null, os: null, ip: '203.0.113.9' });
    for (const refused of [revoked, expired, other]) expect((await store.findRefreshToken(refused.token.hash))?.token.spentAt).toBeNull();
  });

  it('commits before it answers: another connection to the file sees every answered rotation', async () => {
    const made = await createSessions(5);
    await Promise.all(made.map(({ session: s, token: tk }) => store.rotateRefreshToken(rotation(s.id, tk.hash))));
    const other = new Database(path, { readonly: true });
    try {
      const spent = other.prepare('SELECT COUNT(*) AS n FROM refresh_tokens WHERE spent_at IS NOT NULL').get() as { n: number };
      expect(spent.n).toBe(5);
    } finally {
      other.close();
    }
  });

  it('splits more rotations than one batch holds over several, every one answered', async () => {
    const made = await createSessions(600);
    const results = await Promise.all(made.map(({ session: s, token: tk }) => store.rotateRefreshToken(rotation(s.id, tk.hash))));
    expect(results.every((result) => result?.refreshCount === 1)).toBe(true);
  });

  it('commits and answers the rotations still queued when the store closes', async () => {
    const made = await createSessions(3);
    const pending = made.map(({ session: s, token: tk }) => store.rotateRefreshToken(rotation(s.id, tk.hash)));
    await store.close();
    expect((await Promise.all(pending)).map((each) => each?.refreshCount)).toEqual([1, 1, 1]);
    store = new SqliteSessionStore(path);
    for (const { token: tk } of made) expect((await store.findRefreshToken(tk.hash))?.token.spentAt).toBe(t0 + 1_000);
  });

  it('answers service_unavailable to a rotation submitted after the store closed', async () => {
    const [{ session: s, token: tk }] = (await createSessions(1)) as [{ session: SessionRecord; token: RefreshTokenRecord }];
    await store.close();
    await expect(store.rotateRefreshToken(rotation(s.id, tk.hash))).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('keeps all or none of a batch when the process dies in the middle of it', async () => {
    const made = await createSessions(6);
    const hashes = made.map(({ token: tk }) => tk.hash);
    const sessionIds = made.map(({ session: s }) => s.id);
    await store.close();
    // The child runs the built store and is killed (SIGKILL, no cleanup) inside the batch's
    // transaction, before the 4th rotation's first statement: three rotations fully written.
    const child = spawn(process.execPath, ['--input-type=module', '-e', crashingChild], {
      env: {
        ...process.env,
        STORE_MODULE: pathToFileURL(join(repoRoot, 'packages/server/dist/stores/sqlite.js')).href,
        DB_PATH: path,
        WORK: JSON.stringify({ hashes, sessionIds, at: t0 + 1_000 }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    expect(exit, output).toEqual({ code: null, signal: 'SIGKILL' });
    expect(output).toContain('statements run in the batch: 9');

    store = new SqliteSessionStore(path);
    for (const { session: s, token: tk } of made) {
      expect((await store.findRefreshToken(tk.hash))?.token.spentAt).toBeNull();
      expect((await store.getSession(s.id))?.refreshCount).toBe(0);
    }
  });
});

/**
 * Opens the store, submits one rotation per session in one turn, and kills itself with SIGKILL just
 * before the 10th statement of the batch (each rotation runs three: spend, renew, insert), so three
 * rotations are fully written, uncommitted.
 */
const crashingChild = `
import Database from 'better-sqlite3';
const { SqliteSessionStore } = await import(process.env.STORE_MODULE);
const { hashes, sessionIds, at } = JSON.parse(process.env.WORK);
const store = new SqliteSessionStore(process.env.DB_PATH);
const Statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1'));
let armed = false;
let counted = 0;
for (const method of ['run', 'get']) {
  const original = Statement[method];
  Statement[method] = function (...args) {
    // The rotations' own statements (UPDATE, UPDATE … RETURNING, INSERT), not BEGIN, SAVEPOINT or RELEASE.
    const ownStatement = /^(UPDATE|INSERT)/.test(this.source);
    if (this.source.startsWith('UPDATE refresh_tokens SET spent_at')) armed = true;
    if (armed && ownStatement && ++counted === 10) {
      process.stdout.write('statements run in the batch: ' + (counted - 1) + '\\n');
      process.kill(process.pid, 'SIGKILL');
    }
    return original.apply(this, args);
  };
}
await Promise.all(hashes.map((hash, i) => store.rotateRefreshToken({
  spentHash: hash, spentAt: at, sealedSuccessor: 'sealed', sessionId: sessionIds[i], lastRefreshedAt: at, idleExpiresAt: null, device: null, dpopJkt: null,
  successor: { hash: 'successor-' + i, sessionId: sessionIds[i], issuedAt: at, spentAt: null, sealedSuccessor: null },
})));
process.stdout.write('finished without dying\\n');
`;
