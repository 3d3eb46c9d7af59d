import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, eventually, killAll, runTessera, type ServeHandle, serve } from './harness.js';

afterEach(async () => {
  await killAll();
  cleanupDirs();
});

const key = 'tsk_sessions_key_0123456789abcdefghijk';

async function startWithSessions(users: string[]): Promise<{ data: string; server: ServeHandle; grants: any[] }> {
  const data = dataDir();
  const server = await serve(['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key]);
  const grants = [];
  for (const user of users) {
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: user, metadata: { device: `${user}-phone` } }, token: key });
    expect(created.status).toBe(201);
    grants.push(created.body);
  }
  return { data, server, grants };
}

/** Polls GET /v1/session until it is refused as revoked; returns the response and how long it took. */
async function waitForRevoked(server: ServeHandle, accessToken: string) {
  let last: Awaited<ReturnType<typeof call>> | undefined;
  const elapsed = await eventually(async () => {
    last = await call(`${server.url}/v1/session`, { token: accessToken });
    return last.status !== 200;
  }, 3_000);
  return { response: last!, elapsed };
}

describe('tessera sessions list', () => {
  it("prints a user's active sessions as JSON", async () => {
    const { data, grants } = await startWithSessions(['alice', 'alice', 'bob']);
    const listed = await runTessera(['sessions', 'list', '--user', 'alice', '--data', data]);
    expect(listed.code, listed.stderr).toBe(0);
    const parsed = JSON.parse(listed.stdout) as { sessions: { id: string; user_id: string; status: string; metadata: unknown }[] };
    expect(parsed.sessions.map((session) => session.id).sort()).toEqual([grants[0].session.id, grants[1].session.id].sort());
    for (const session of parsed.sessions) {
      expect(session.user_id).toBe('alice');
      expect(session.status).toBe('active');
      expect(session.metadata).toEqual({ device: 'alice-phone' });
    }
    const nobody = await runTessera(['sessions', 'list', '--user', 'nobody', '--data', data]);
    expect(JSON.parse(nobody.stdout)).toEqual({ sessions: [] });
  });

  it('with --all lists ended sessions too, newest first, with their reasons', async () => {
    const { data, server, grants } = await startWithSessions(['alice', 'alice']);
    const revoked = await call(`${server.url}/v1/sessions/${grants[0].session.id}`, { method: 'DELETE', token: key });
    expect(revoked.status).toBe(200);
    const active = JSON.parse((await runTessera(['sessions', 'list', '--user', 'alice', '--data', data])).stdout) as { sessions: { id: string }[] };
    expect(active.sessions.map((session) => session.id)).toEqual([grants[1].session.id]);

    const listed = await runTessera(['sessions', 'list', '--user', 'alice', '--all', '--data', data]);
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

  it('needs --user', async () => {
    const result = await runTessera(['sessions', 'list', '--data', dataDir()]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--user');
  });
});

describe('tessera sessions revoke', () => {
  it('revokes one session by id (reason admin), and the running server refuses it within about 1 s', async () => {
    const { data, server, grants } = await startWithSessions(['alice', 'alice']);
    const [target, other] = grants;
    // The server has the session cached as active.
    expect((await call(`${server.url}/v1/session`, { token: target.access_token })).status).toBe(200);

    const result = await runTessera(['sessions', 'revoke', target.session.id, '--data', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Revoked ${target.session.id}.`);

    const { response, elapsed } = await waitForRevoked(server, target.access_token);
    expect(elapsed).toBeLessThan(1_500);
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('session_revoked');
    expect(response.body.details[0].reason).toBe('admin');
    // The refresh token is dead too; the other session is untouched.
    const refresh = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: target.refresh_token } });
    expect(refresh.body.error).toBe('session_revoked');
    expect((await call(`${server.url}/v1/session`, { token: other.access_token })).status).toBe(200);

    const listed = JSON.parse((await runTessera(['sessions', 'list', '--user', 'alice', '--data', data])).stdout);
    expect(listed.sessions.map((session: { id: string }) => session.id)).toEqual([other.session.id]);
    const viaApi = await call(`${server.url}/v1/sessions/${target.session.id}`, { token: key });
    expect(viaApi.body.revoked_reason).toBe('admin');
    expect(viaApi.body.status).toBe('revoked');
  });

  it('--user revokes every session of that user and no one else’s', async () => {
    const { data, server, grants } = await startWithSessions(['carol', 'carol', 'dave']);
    for (const grant of grants) expect((await call(`${server.url}/v1/session`, { token: grant.access_token })).status).toBe(200);

    const result = await runTessera(['sessions', 'revoke', '--user', 'carol', '--data', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Revoked 2 session(s) of carol.');

    for (const grant of grants.slice(0, 2)) {
      const { response, elapsed } = await waitForRevoked(server, grant.access_token);
      expect(elapsed).toBeLessThan(1_500);
      expect(response.body.error).toBe('session_revoked');
      expect(response.body.details[0].reason).toBe('admin');
    }
    expect((await call(`${server.url}/v1/session`, { token: grants[2].access_token })).status).toBe(200);
    expect(JSON.parse((await runTessera(['sessions', 'list', '--user', 'carol', '--data', data])).stdout)).toEqual({ sessions: [] });
  });

  it('says so for a session that had already ended, and fails for an unknown id', async () => {
    const { data, grants } = await startWithSessions(['erin']);
    const id = grants[0].session.id as string;
    expect((await runTessera(['sessions', 'revoke', id, '--data', data])).code).toBe(0);
    const again = await runTessera(['sessions', 'revoke', id, '--data', data]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${id} had already ended (revoked).`);

    const unknown = await runTessera(['sessions', 'revoke', 'ses_nosuchsession', '--data', data]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no session ses_nosuchsession');
  });

  it('wants exactly one of an id or --user', async () => {
    const data = dataDir();
    const neither = await runTessera(['sessions', 'revoke', '--data', data]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give a session id or --user');
    const both = await runTessera(['sessions', 'revoke', 'ses_x', '--user', 'u', '--data', data]);
    expect(both.code).toBe(2);
  });
});
