// `tessera audit` and who the CLI records as the actor of what it changes, run in process on a real SQLite file.
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { startCore } from '../helpers.js';
import { cleanupDirs, dataDir } from './harness.js';
import { runInProcess } from './in-process.js';

const operator = `cli:${userInfo().username}`;
let data: string;
let sessionIds: string[];

beforeAll(async () => {
  data = dataDir();
  // A node's store with history: sessions the backend started with its key named `backend`.
  // Now, not the suite's 2026-01-01: the CLI runs on the system clock, and must find these sessions active.
  const core = await startCore({ dir: data, clock: new ManualClock(Date.now() - 60_000) });
  sessionIds = [];
  for (const user of ['alice', 'alice', 'bob']) {
    core.clock.advance(1);
    const grant = await core.tessera.sessions.createSession({ userId: user, actor: { type: 'api_key', id: 'backend' } });
    sessionIds.push(grant.session.id);
  }
  await core.tessera.close();
  // What an operator then does at the CLI.
  for (const args of [
    ['api-keys', 'create', '--name', 'ci'],
    ['keys', 'rotate'],
    ['sessions', 'revoke', sessionIds[0]!],
    ['api-keys', 'revoke', 'ci'],
  ]) {
    const run = await runInProcess([...args, '--data', data]);
    expect(run.code, run.stderr).toBe(0);
  }
});
afterAll(() => cleanupDirs());

describe('tessera audit', () => {
  it('prints one line per event, newest first (time, type, user, session, actor, reason), then the end', async () => {
    const run = await runInProcess(['audit', '--data', data]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('(end)');
    const events = lines.slice(0, -1).map((line) => line.split(/ {2,}/));
    for (const [at] of events) expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const times = events.map(([at]) => at!);
    expect(times).toEqual([...times].sort().reverse());
    const rows = events.map(([, type, user, session, actor, reason]) => [type, user, session, actor, reason]);
    // Everything the operator did is the operator's; the backend's sessions are its key's.
    expect(rows).toEqual(
      expect.arrayContaining([
        ['api_key.revoked', '-', '-', operator, '-'],
        ['session.revoked', 'alice', sessionIds[0], operator, 'admin'],
        ['signing_key.rotated', '-', '-', operator, '-'],
        ['api_key.created', '-', '-', operator, '-'],
        ['session.created', 'bob', sessionIds[2], 'api_key:backend', '-'],
        ['signing_key.rotated', '-', '-', 'system:tessera', '-'],
      ]),
    );
  });

  it('filters by user, session and type, and prints the API page with --json', async () => {
    const byUser = JSON.parse((await runInProcess(['audit', '--user', 'alice', '--json', '--data', data])).stdout);
    expect(Object.keys(byUser)).toEqual(['events', 'next_cursor']);
    expect(byUser.events.map((e: any) => e.type).sort()).toEqual(['session.created', 'session.created', 'session.revoked']);
    expect(Object.keys(byUser.events[0])).toEqual(['id', 'type', 'at', 'user_id', 'session_id', 'actor', 'reason', 'details']);
    const bySession = JSON.parse((await runInProcess(['audit', '--session', sessionIds[0]!, '--type', 'session.revoked', '--json', '--data', data])).stdout);
    expect(bySession.events).toEqual([
      expect.objectContaining({ session_id: sessionIds[0], actor: { type: 'cli', id: userInfo().username }, reason: 'admin' }),
    ]);
    const keys = JSON.parse((await runInProcess(['audit', '--type', 'api_key.created', '--json', '--data', data])).stdout);
    expect(keys.events.map((e: any) => e.details)).toEqual(expect.arrayContaining([{ name: 'ci', origin: 'created' }]));
  });

  it('pages with --limit and the printed next cursor: every event once', async () => {
    const all = JSON.parse((await runInProcess(['audit', '--limit', '200', '--json', '--data', data])).stdout).events.map((e: any) => e.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const run = await runInProcess(['audit', '--limit', '2', ...(cursor ? ['--cursor', cursor] : []), '--data', data]);
      expect(run.code, run.stderr).toBe(0);
      const last = run.stdout.trimEnd().split('\n').at(-1)!;
      const json = JSON.parse((await runInProcess(['audit', '--limit', '2', ...(cursor ? ['--cursor', cursor] : []), '--json', '--data', data])).stdout);
      seen.push(...json.events.map((e: any) => e.id));
      if (last === '(end)') break;
      expect(last).toMatch(/^next: --cursor \S+$/);
      cursor = last.replace('next: --cursor ', '');
      expect(cursor).toBe(json.next_cursor);
    }
    expect(seen).toEqual(all);
    expect(all.length).toBeGreaterThan(6);
  });

  it.each([
    [['--type', 'session.exploded'], /not an event type/],
    [['--limit', '0'], /--limit/],
    [['--limit', '201'], /--limit/],
    [['--cursor', 'garbage!'], /^tessera: The cursor is not a cursor from an earlier answer of this listing\.\n$/],
  ])('refuses %j with exit 2 and one line', async (args, message) => {
    const run = await runInProcess(['audit', ...args, '--data', data]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });
});
