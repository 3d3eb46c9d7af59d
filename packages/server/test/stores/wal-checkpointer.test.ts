import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionRecord } from '../../src/core/session.js';
import type { RefreshTokenRecord } from '../../src/core/store.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { liveRefreshToken, storedSession, tempDir } from '../helpers.js';

/**
 * In WAL mode a commit goes to the log, and only a checkpoint writes the database file. SQLite's own
 * checkpoint runs inside the commit that crosses 1,000 log pages, on the event loop; a store in
 * service (256 operations in) hands it to a thread (`stores/wal-checkpointer.ts`). So a change
 * reaching the database file soon after a small commit is the thread's doing.
 */
describe('SqliteSessionStore: the log checkpointed on a thread of its own', () => {
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

  /** Refreshes one after another that make a store one in service: with its sign-in, 257 operations. */
  const inService = 256;
  const fileDigest = () => createHash('sha256').update(readFileSync(path)).digest('hex');
  const token = (sessionId: string) => liveRefreshToken(sessionId, t0);
  const sessionAt = (id: string) => storedSession(id, t0);

  /** A session, then `count` refreshes of it one after another: each is a batch of its own. */
  async function refreshOneByOne(count: number): Promise<{ session: SessionRecord; live: RefreshTokenRecord; refresh: () => Promise<void> }> {
    const session = sessionAt(`ses_${randomBytes(4).toString('hex')}`);
    let live = token(session.id);
    await store.createSession(session, live);
    const refresh = async () => {
      const successor = token(session.id);
      const at = t0 + 1_000;
      const rotated = await store.rotateRefreshToken({
        spentHash: live.hash,
        spentAt: at,
        sealedSuccessor: `sealed-${randomBytes(8).toString('hex')}`,
        successor,
        sessionId: session.id,
        lastRefreshedAt: at,
        idleExpiresAt: null,
        device: null,
        dpopJkt: null,
      });
      expect(rotated).not.toBeNull();
      live = successor;
    };
    for (let i = 0; i < count; i++) await refresh();
    return { session, live, refresh };
  }

  /** Resolves once `write` has reached the database file (not only the log), after what came before settled there. */
  async function expectCopiedSoon(write: () => Promise<unknown>): Promise<void> {
    // What the thread copies from now on: wait until a pass has found nothing new.
    let settled = fileDigest();
    await vi.waitFor(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const now = fileDigest();
        const same = now === settled;
        settled = now;
        expect(same).toBe(true);
      },
      { timeout: 10_000, interval: 0 },
    );
    await write();
    await vi.waitFor(() => expect(fileDigest()).not.toBe(settled), { timeout: 10_000, interval: 25 });
  }

  it('copies each commit into the database file soon after, once the store is in service', async () => {
    const { session, refresh } = await refreshOneByOne(inService);
    await expectCopiedSoon(refresh);
    expect((await store.getSession(session.id))?.refreshCount).toBe(inService + 1);
  });

  it('does so for a store that only signs people in and out, too', async () => {
    for (let i = 0; i < inService / 2; i++) {
      const session = sessionAt(`ses_in_${i}`);
      await store.createSession(session, token(session.id));
      await store.revokeSession(session.id, 'logout', t0 + 1_000);
    }
    const last = sessionAt('ses_last');
    await expectCopiedSoon(() => store.createSession(last, token(last.id)));
    expect(await store.getSession(last.id)).toEqual(last);
  });

  it('leaves checkpoints to SQLite in a store opened for a moment: a small commit stays in the log', async () => {
    const { session, refresh } = await refreshOneByOne(10);
    const before = fileDigest();
    await refresh();
    // Several of the thread's passes (50 ms each) would have run meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fileDigest()).toBe(before);
    expect((await store.getSession(session.id))?.refreshCount).toBe(11);
  });

  it('keeps the log bounded under steady refreshes: it goes back to its start, not on to the end of the disk', async () => {
    const sessions = await Promise.all(Array.from({ length: 8 }, () => refreshOneByOne(8)));
    // 1,000 commits back to back, 8 refreshes each: ~8,000 log pages (31 MiB) were the log never
    // to start afresh. The thread's passes alone never let it: a commit always lands during one.
    for (let round = 0; round < 1000; round++) await Promise.all(sessions.map(({ refresh }) => refresh()));
    const walBytes = statSync(`${path}-wal`).size;
    expect(walBytes).toBeLessThan(16 * 2 ** 20);
    expect((await store.getSession(sessions[0]!.session.id))?.refreshCount).toBe(1008);
  });

  it('cuts the log file back after a burst of writes (an import, a purge) once the log starts afresh', async () => {
    const { refresh } = await refreshOneByOne(inService);
    // One import of 60,000 sessions: one transaction, its every page in the log (~55 MiB).
    const imported = Array.from({ length: 60_000 }, (_, i) => {
      const id = `ses_import_${i}`;
      return {
        session: { ...sessionAt(id), metadata: { note: 'x'.repeat(400) } },
        refreshToken: token(id),
      };
    });
    await store.importSessions(imported);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(32 * 2 ** 20);
    // The import's own checkpoint, or the thread's, copies it; the next writes start the log afresh.
    await vi.waitFor(
      async () => {
        await refresh();
        expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(32 * 2 ** 20);
      },
      { timeout: 10_000, interval: 20 },
    );
  });

  it('keeps every commit across a close and a reopen, the thread stopped first', async () => {
    const { session } = await refreshOneByOne(100);
    await store.close();
    store = new SqliteSessionStore(path);
    expect((await store.getSession(session.id))?.refreshCount).toBe(100);
  });
});
