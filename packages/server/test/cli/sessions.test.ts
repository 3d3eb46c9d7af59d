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
  it("prints a user's active sessions as JSON", async () => {
    const grants = await createSessions(['alice', 'alice', 'bob']);
    const [listed, nobody] = await Promise.all([
      runTessera(['sessions', 'list', '--user', 'alice', '--data', data]),
      runTessera(['sessions', 'list', '--user', 'nobody', '--data', data]),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const parsed = JSON.parse(listed.stdout) as { sessions: { id: string; user_id: string; status: string; metadata: unknown }[] };
    expect(parsed.sessions.map((session) => session.id).sort()).toEqual([grants[0].session.id, grants[1].session.id].sort());
    for (const session of parsed.sessions) {
      expect(session.user_id).toBe('alice');
      expect(session.status).toBe('active');
      expect(session.metadata).toEqual({ device: 'alice-phone' });
    }
    expect(JSON.parse(nobody.stdout)).toEqual({ sessions: [] });
  });

  it('with --all lists ended sessions too, newest first, with their reasons', async () => {
    const grants = await createSessions(['amy', 'amy']);
    const revoked = await call(`${server.url}/v1/sessions/${grants[0].session.id}`, { method: 'DELETE', token: key });
    expect(revoked.status).toBe(200);
    const [activeOnly, listed] = await Promise.all([
      runTessera(['sessions', 'list', '--user', 'amy', '--data', data]),
      runTessera(['sessions', 'list', '--user', 'amy', '--all', '--data', data]),
    ]);
    const active = JSON.parse(activeOnly.stdout) as { sessions: { id: string }[] };
    expect(active.sessions.map((session) => session.id)).toEqual([grants[1].session.id]);

    expect(listed.code, listed.stderr).toBe(0);
    const all = JSON.parse(listed.stdout) as {
      sessions: { id: string; status: string; revoked_reason: string | null; created_at: string }[];
      limit: number;
      has_more: boolean;
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
    expect(all).toMatchObject({ limit: 100, has_more: false });
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
    const listed = JSON.parse((await runInProcess(['sessions', 'list', '--user', 'rita', '--data', data])).stdout);
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
    expect(JSON.parse((await runInProcess(['sessions', 'list', '--user', 'carol', '--data', data])).stdout)).toEqual({ sessions: [] });
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
