import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, eventually, killAll, runTessera, type ServeHandle, serve } from './harness.js';
import { runInProcess } from './in-process.js';

const key = 'tsk_sessions_key_0123456789abcdefghijk';

// One server for the file: every test works on users of its own, so none sees another's sessions.
let data: string;
let server: ServeHandle;
beforeAll(async () => {
  data = dataDir();
  server = await serve(['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key]);
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
});

async function createSessions(users: string[]): Promise<any[]> {
  const grants = [];
  for (const user of users) {
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: user, metadata: { device: `${user}-phone` } }, token: key });
    expect(created.status).toBe(201);
    grants.push(created.body);
  }
  return grants;
}

/** Polls GET /v1/session until it is refused as revoked; returns the response and how long it took. */
async function waitForRevoked(accessToken: string) {
  let last: Awaited<ReturnType<typeof call>> | undefined;
  const elapsed = await eventually(async () => {
    last = await call(`${server.url}/v1/session`, { token: accessToken });
    return last.status !== 200;
  }, 3_000);
  return { response: last!, elapsed };
}

describe('tessera sessions list', () => {
  it("prints a user's active sessions as the API's JSON with --json", async () => {
    const grants = await createSessions(['alice', 'alice', 'bob']);
    const [listed, nobody] = await Promise.all([
      runTessera(['sessions', 'list', '--user', 'alice', '--json', '--data', data]),
      runTessera(['sessions', 'list', '--user', 'nobody', '--json', '--data', data]),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const parsed = JSON.parse(listed.stdout) as { sessions: { id: string; user_id: string; status: string; metadata: unknown }[] };
    expect(parsed.sessions.map((session) => session.id).sort()).toEqual([grants[0].session.id, grants[1].session.id].sort());
    for (const session of parsed.sessions) {
      expect(session.user_id).toBe('alice');
      expect(session.status).toBe('active');
      expect(session.metadata).toEqual({ device: 'alice-phone' });
    }
    expect(JSON.parse(nobody.stdout)).toEqual({ sessions: [], next_cursor: null, total: 0 });
  });

  it('with --all lists ended sessions too, newest first, with their reasons', async () => {
    const grants = await createSessions(['amy', 'amy']);
    const revoked = await call(`${server.url}/v1/sessions/${grants[0].session.id}`, { method: 'DELETE', token: key });
    expect(revoked.status).toBe(200);
    const [activeOnly, listed] = await Promise.all([
      runTessera(['sessions', 'list', '--user', 'amy', '--json', '--data', data]),
      runTessera(['sessions', 'list', '--user', 'amy', '--all', '--json', '--data', data]),
    ]);
    const active = JSON.parse(activeOnly.stdout) as { sessions: { id: string }[] };
    expect(active.sessions.map((session) => session.id)).toEqual([grants[1].session.id]);

    expect(listed.code, listed.stderr).toBe(0);
    const all = JSON.parse(listed.stdout) as {
      sessions: { id: string; status: string; revoked_reason: string | null; created_at: string }[];
      next_cursor: string | null;
      total: number;
    };
    // Newest first (two sessions made in the same millisecond may come either way).
    const created = all.sessions.map((session) => Date.parse(session.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(all.sessions.map(({ id, status, revoked_reason }) => ({ id, status, revoked_reason }))).toEqual(
      expect.arrayContaining([
        { id: grants[1].session.id, status: 'active', revoked_reason: null },
        { id: grants[0].session.id, status: 'revoked', revoked_reason: 'admin' },
      ]),
    );
    expect(all.sessions).toHaveLength(2);
    expect(all).toMatchObject({ next_cursor: null, total: 2 });
  });
});

describe('tessera sessions list, a page at a time', () => {
  // In this process (in-process.ts) against the running server's store: the command's real runs are above.
  const list = (args: string[]) => runInProcess(['sessions', 'list', ...args, '--data', data]);

  it('prints a table, the total and the command for the next page, which reads on from there', async () => {
    const grants = await createSessions(Array.from({ length: 7 }, () => 'paula'));
    await createSessions(['paula-other']);
    const viaApi = await call(`${server.url}/v1/users/paula/sessions?limit=200`, { token: key });
    const newestFirst: string[] = viaApi.body.sessions.map((session: { id: string }) => session.id);
    expect([...newestFirst].sort()).toEqual(grants.map((grant) => grant.session.id).sort());

    const first = await list(['--user', 'paula', '--limit', '3']);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATUS +FLOW +CREATED +LAST REFRESHED +REVOKED$/);
    expect(lines.slice(1, 4).map((line) => line.split(/ +/)[0])).toEqual(newestFirst.slice(0, 3));
    expect(lines[1]).toMatch(/ active +default +2\d{3}-/);
    expect(first.stdout).toContain('3 of 7 sessions of paula (active), newest first.');
    const cursor = /^next_cursor: (\S+)$/m.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const hint = /^Next page: (.+)$/m.exec(first.stdout)?.[1];
    expect(hint).toBe(`tessera sessions list --user paula --status active --limit 3 --cursor ${cursor}`);

    // The hint, as a shell would run it (with the same store option).
    const second = await runInProcess([...hint!.split(' ').slice(1), '--data', data]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('3 of 7 sessions of paula (active), newest first.');
    const last = await list(['--user', 'paula', '--limit', '3', '--cursor', /^next_cursor: (\S+)$/m.exec(second.stdout)![1]!, '--json']);
    const lastPage = JSON.parse(last.stdout);
    expect(lastPage).toMatchObject({ next_cursor: null, total: 7 });
    expect(lastPage.sessions.map((session: { id: string }) => session.id)).toEqual(newestFirst.slice(6));
    expect(
      second.stdout
        .split('\n')
        .slice(1, 4)
        .map((line) => line.split(/ +/)[0]),
    ).toEqual(newestFirst.slice(3, 6));
  });

  it('--all-pages follows the cursor to the end, in a table or as one JSON answer', async () => {
    await createSessions(Array.from({ length: 5 }, () => 'quinn'));
    const viaApi = await call(`${server.url}/v1/users/quinn/sessions`, { token: key });
    const json = await list(['--user', 'quinn', '--all-pages', '--limit', '2', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const all = JSON.parse(json.stdout);
    expect(all).toMatchObject({ next_cursor: null, total: 5 });
    expect(all.sessions).toEqual(viaApi.body.sessions);

    const table = await list(['--user', 'quinn', '--all-pages', '--limit', '2']);
    expect(table.stdout).toContain('5 sessions of quinn (active), newest first.');
    expect(table.stdout).not.toContain('next_cursor');
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(1 + 5 + 2);
  });

  it('filters by status and flow, and says when nothing matches', async () => {
    const [kept, ended] = await createSessions(['rhea', 'rhea']);
    expect((await call(`${server.url}/v1/sessions/${ended.session.id}`, { method: 'DELETE', token: key })).status).toBe(200);
    const revoked = JSON.parse((await list(['--user', 'rhea', '--status', 'revoked', '--json'])).stdout);
    expect(revoked.sessions.map((session: { id: string }) => session.id)).toEqual([ended.session.id]);
    expect(revoked.total).toBe(1);
    const table = await list(['--user', 'rhea', '--status', 'revoked']);
    expect(table.stdout).toMatch(new RegExp(`^${ended.session.id} +revoked +default .* \\(admin\\)$`, 'm'));
    expect(JSON.parse((await list(['--user', 'rhea', '--json'])).stdout).sessions[0].id).toBe(kept.session.id);
    expect((await list(['--user', 'rhea', '--flow', 'verification'])).stdout).toContain('No sessions of rhea (active, flow verification).');
  });

  it.each([
    [['--limit', '0'], 'limit must be a whole number from 1 to 200'],
    [['--limit', 'many'], 'limit must be a whole number from 1 to 200'],
    [['--status', 'gone'], 'status must be one of: active, expired, revoked, all'],
    [['--created-after', 'yesterday'], 'created_after must be an RFC 3339 date-time'],
    [['--cursor', 'not-a-cursor'], 'The cursor is not a cursor from an earlier answer'],
    [['--all', '--status', 'active'], '--all means --status all'],
  ])('refuses %j', async (flags, message) => {
    const refused = await list(['--user', 'sam', ...flags]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(message);
    expect(refused.stdout).toBe('');
  });

  it('refuses a cursor of other filters', async () => {
    await createSessions(['tess', 'tess', 'tess']);
    const first = await list(['--user', 'tess', '--limit', '1', '--json']);
    const { next_cursor: cursor } = JSON.parse(first.stdout);
    const refused = await list(['--user', 'tess', '--status', 'all', '--cursor', cursor]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('other filters');
  });
});

describe('tessera sessions revoke', () => {
  it('revokes one session by id (reason admin), and the running server refuses it within about 1 s', async () => {
    const [target, other] = await createSessions(['rita', 'rita']);
    // The server has the session cached as active.
    expect((await call(`${server.url}/v1/session`, { token: target.access_token })).status).toBe(200);

    const result = await runTessera(['sessions', 'revoke', target.session.id, '--data', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Revoked ${target.session.id}.`);

    const { response, elapsed } = await waitForRevoked(target.access_token);
    expect(elapsed).toBeLessThan(1_500);
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('session_revoked');
    expect(response.body.details[0].reason).toBe('admin');
    // The refresh token is dead too; the other session is untouched.
    const refresh = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: target.refresh_token } });
    expect(refresh.body.error).toBe('session_revoked');
    expect((await call(`${server.url}/v1/session`, { token: other.access_token })).status).toBe(200);

    // What the store holds now (listed in this process: the listing's real runs are above).
    const listed = JSON.parse((await runInProcess(['sessions', 'list', '--user', 'rita', '--json', '--data', data])).stdout);
    expect(listed.sessions.map((session: { id: string }) => session.id)).toEqual([other.session.id]);
    const viaApi = await call(`${server.url}/v1/sessions/${target.session.id}`, { token: key });
    expect(viaApi.body.revoked_reason).toBe('admin');
    expect(viaApi.body.status).toBe('revoked');
  });

  it('--user revokes every session of that user and no one else’s', async () => {
    const grants = await createSessions(['carol', 'carol', 'dave']);
    for (const grant of grants) expect((await call(`${server.url}/v1/session`, { token: grant.access_token })).status).toBe(200);

    const result = await runTessera(['sessions', 'revoke', '--user', 'carol', '--data', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Revoked 2 session(s) of carol.');

    for (const grant of grants.slice(0, 2)) {
      const { response, elapsed } = await waitForRevoked(grant.access_token);
      expect(elapsed).toBeLessThan(1_500);
      expect(response.body.error).toBe('session_revoked');
      expect(response.body.details[0].reason).toBe('admin');
    }
    expect((await call(`${server.url}/v1/session`, { token: grants[2].access_token })).status).toBe(200);
    expect(JSON.parse((await runInProcess(['sessions', 'list', '--user', 'carol', '--json', '--data', data])).stdout)).toEqual({
      sessions: [],
      next_cursor: null,
      total: 0,
    });
  });

  it('says so for a session that had already ended, and fails for an unknown id', async () => {
    const [grant] = await createSessions(['erin']);
    const id = grant.session.id as string;
    expect((await runTessera(['sessions', 'revoke', id, '--data', data])).code).toBe(0);
    // What it says in each case, in this process (in-process.ts).
    const again = await runInProcess(['sessions', 'revoke', id, '--data', data]);
    const unknown = await runInProcess(['sessions', 'revoke', 'ses_nosuchsession', '--data', data]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${id} had already ended (revoked).`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no session ses_nosuchsession');
  });
});

// Refused before any store is opened: run in this process (in-process.ts); the commands' real processes are above.
describe('arguments the sessions commands refuse', () => {
  it('list needs --user', async () => {
    const result = await runInProcess(['sessions', 'list', '--data', dataDir()]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--user');
  });

  it('revoke wants an id or --user, not neither', async () => {
    const neither = await runInProcess(['sessions', 'revoke', '--data', dataDir()]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give a session id or --user');
  });

  it('revoke wants an id or --user, not both', async () => {
    const both = await runInProcess(['sessions', 'revoke', 'ses_x', '--user', 'u', '--data', dataDir()]);
    expect(both.code).toBe(2);
  });
});
