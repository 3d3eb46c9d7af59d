// `tessera purge`, run in process on a real SQLite file, and once as a real process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { hashRefreshToken } from '../../src/core/refresh-tokens.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { startCore } from '../helpers.js';
import { cleanupDirs, dataDir, runTessera } from './harness.js';
import { runInProcess } from './in-process.js';

const day = 86_400_000;
let data: string;
let tokens: { ended: string; live: string; spent: string };
let ids: { ended: string; live: string };

beforeAll(async () => {
  data = dataDir();
  // The CLI runs on the system clock: history from 40 days ago, a session revoked then, one still live.
  const core = await startCore({ dir: data, clock: new ManualClock(Date.now() - 40 * day) });
  const { sessions } = core.tessera;
  const ended = await sessions.createSession({ userId: 'alice' });
  const endedNext = await sessions.refreshSession(ended.refreshToken);
  await sessions.revokeSession(ended.session.id, 'admin');
  core.clock.set(Date.now() - 60_000);
  const live = await sessions.createSession({ userId: 'bob' });
  const liveNext = await sessions.refreshSession(live.refreshToken);
  await core.tessera.close();
  tokens = { ended: endedNext.refreshToken, live: liveNext.refreshToken, spent: live.refreshToken };
  ids = { ended: ended.session.id, live: live.session.id };
});
afterAll(() => cleanupDirs());

async function inStore<T>(read: (store: SqliteSessionStore) => Promise<T>): Promise<T> {
  const store = new SqliteSessionStore(`${data}/tessera.db`);
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

describe('tessera purge', () => {
  it('--dry-run counts what would go and removes nothing', async () => {
    const run = await runInProcess(['purge', '--dry-run', '--data', data]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Would clear 2 sealed successor\(s\) of tokens spent before \d{4}-\d\d-\d\dT[\d:.]+Z\.$/);
    expect(lines[1]).toMatch(/^Would delete 1 session\(s\) and 2 refresh token\(s\) ended before \d{4}-.*Z\.$/);
    expect(await inStore((store) => store.getSession(ids.ended))).not.toBeNull();
  });

  it('removes the ended session and the spent successors, prints what it removed, and keeps the live session working', async () => {
    const run = await runInProcess(['purge', '--json', '--data', data]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ dry_run: false, sealed_successors: 2, ended_session_tokens: 2, ended_sessions: 1 });
    await inStore(async (store) => {
      expect(await store.getSession(ids.ended)).toBeNull();
      expect(await store.findRefreshToken(hashRefreshToken(tokens.ended))).toBeNull();
      expect((await store.findRefreshToken(hashRefreshToken(tokens.live)))?.token.spentAt).toBeNull();
      expect((await store.findRefreshToken(hashRefreshToken(tokens.spent)))?.token).toMatchObject({ sealedSuccessor: null });
      expect((await store.getSession(ids.live))?.revokedAt).toBeNull();
    });
    const again = await runInProcess(['purge', '--data', data]);
    expect(again.stdout).toMatch(/^Cleared 0 sealed successor\(s\).*\nDeleted 0 session\(s\) and 0 refresh token\(s\)/);
  });

  it('runs as a real process', async () => {
    const run = await runTessera(['purge', '--dry-run', '--data', data]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Would clear 0 sealed successor\(s\)/);
  });
});
