// The server as a container image (container/): built with podman from the packed tarballs, run as
// one node on its embedded store in a volume, then as two nodes on one PostgreSQL and one Redis.
// Containers that cannot be built or run here fail this file; it never skips.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, call } from '../../server/test/helpers.js';
import { testPort } from '../../server/test/ports.js';
import { createTestDatabase, redisUrl, type TestDatabase, uniqueRedisPrefix } from '../../server/test/services.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const suffix = randomBytes(4).toString('hex');
const image = `localhost/tessera-server:test-${suffix}`;
const key = `tsk_container_${'c'.repeat(40)}`;

// podman's settings for these machines (runc, ulimits; see the file), and no npm_* variables of
// `npm test` steering the npm that build.sh runs.
const podmanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_'))),
  CONTAINERS_CONF: join(root, 'container/ci-containers.conf'),
  ...extra,
});

const podman = (args: string[]) => run('podman', args, { env: podmanEnv(), maxBuffer: 16 * 1024 * 1024 });

/** Polls /healthz until it answers 200; a container that stops or never answers fails with its log. */
async function untilHealthy(url: string, container: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    const { stdout: state } = await podman(['inspect', '--format', '{{.State.Status}}', container]);
    if (Date.now() > until || state.trim() !== 'running') {
      const { stdout, stderr } = await podman(['logs', container]).catch((error: Error) => ({ stdout: '', stderr: error.message }));
      throw new Error(`${container} (${state.trim()}) did not answer /healthz:\n${stdout}${stderr}`);
    }
    await new Promise((wait) => setTimeout(wait, 250));
  }
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((wait) => setTimeout(wait, 50));
  }
}

const createSession = (url: string, userId: string) => call(`${url}/v1/sessions`, { body: { user_id: userId }, token: key });
const refresh = (url: string, refreshToken: string) => call(`${url}/v1/token/refresh`, { body: { refresh_token: refreshToken } });
const currentSession = (url: string, accessToken: string) => call(`${url}/v1/session`, { token: accessToken });

function expectGrant(answer: Answer, status: number): { session: { id: string }; access_token: string; refresh_token: string } {
  expect(answer.status, answer.text).toBe(status);
  return answer.body;
}

beforeAll(async () => {
  // The first build on a machine also makes the Debian base with debootstrap (about 5 min here);
  // later ones reuse it and take about 2 min.
  await run(join(root, 'container/build.sh'), [image], { env: podmanEnv(), timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024 });
}, 21 * 60_000);

afterAll(async () => {
  await podman(['rmi', '--force', image]).catch(() => undefined);
});

describe('one container on its embedded store', () => {
  const name = `tessera-test-${suffix}`;
  const volume = `tessera-test-${suffix}`;
  let url = '';

  const start = async () => {
    const port = await testPort();
    url = `http://127.0.0.1:${port}`;
    await podman([
      'run',
      '--detach',
      '--name',
      name,
      '--publish',
      `127.0.0.1:${port}:4000`,
      '--volume',
      `${volume}:/var/lib/tessera`,
      '--env',
      `TESSERA_API_KEY=${key}`,
      image,
    ]);
    await untilHealthy(url, name);
  };

  afterAll(async () => {
    await podman(['rm', '--force', '--ignore', name]).catch(() => undefined);
    await podman(['volume', 'rm', '--force', volume]).catch(() => undefined);
  });

  it('answers /healthz, creates and refreshes a session as a non-root user, keeps it in its volume across a restart', { timeout: 240_000 }, async () => {
    await start();
    const { stdout: uid } = await podman(['exec', name, 'id', '-u']);
    expect(uid.trim()).toBe('10001');

    const created = expectGrant(await createSession(url, 'alice'), 201);
    const refreshed = expectGrant(await refresh(url, created.refresh_token), 200);
    expect(refreshed.session.id).toBe(created.session.id);
    expect(refreshed.refresh_token).not.toBe(created.refresh_token);
    expect((await currentSession(url, refreshed.access_token)).status).toBe(200);
    const { stdout: store } = await podman(['exec', name, 'ls', '/var/lib/tessera/.tessera']);
    expect(store.split('\n')).toContain('tessera.db');

    // SIGTERM from `podman stop`: the server finishes and exits 0, well before podman's SIGKILL.
    await podman(['stop', '--time', '30', name]);
    const { stdout: exitCode } = await podman(['inspect', '--format', '{{.State.ExitCode}}', name]);
    expect(exitCode.trim()).toBe('0');
    await podman(['rm', name]);

    // A new container on the same volume: the session, its rotation and the signing key are still there.
    await start();
    const again = expectGrant(await refresh(url, refreshed.refresh_token), 200);
    expect(again.session.id).toBe(created.session.id);
    expect((await currentSession(url, again.access_token)).status).toBe(200);
  });
});

describe('two containers on one PostgreSQL and one Redis (container/two-nodes.sh)', () => {
  const project = `tessera-test-${suffix}`;
  let database: TestDatabase;
  let a = '';
  let b = '';
  const twoNodes = (args: string[], extra: Record<string, string> = {}) =>
    run(join(root, 'container/two-nodes.sh'), args, { env: podmanEnv({ TESSERA_PROJECT: project, ...extra }), timeout: 120_000 });

  beforeAll(async () => {
    database = await createTestDatabase();
    const [portA, portB] = [await testPort(), await testPort()];
    a = `http://127.0.0.1:${portA}`;
    b = `http://127.0.0.1:${portB}`;
    await twoNodes(['up'], {
      TESSERA_IMAGE: image,
      TESSERA_API_KEY: key,
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      TESSERA_REDIS_PREFIX: uniqueRedisPrefix(),
      TESSERA_ISSUER: 'https://auth.example.test',
      TESSERA_HOST: '127.0.0.1',
      TESSERA_PORT_A: String(portA),
      TESSERA_PORT_B: String(portB),
    });
    await Promise.all([untilHealthy(a, `${project}-a`), untilHealthy(b, `${project}-b`)]);
  }, 240_000);

  afterAll(async () => {
    await twoNodes(['down', '--volumes']).catch(() => undefined);
    await database?.drop();
  }, 120_000);

  it('fans revocations out over Redis', async () => {
    for (const node of ['a', 'b']) {
      const { stdout } = await podman(['logs', `${project}-${node}`]);
      expect(stdout).toMatch(/"channel":"redis".*fanout: listening/);
    }
  });

  it('share sessions: created on A, refreshed on B, the successor live on A and refreshed there', { timeout: 60_000 }, async () => {
    const created = expectGrant(await createSession(a, 'bob'), 201);
    expect((await currentSession(b, created.access_token)).status).toBe(200);
    const refreshed = expectGrant(await refresh(b, created.refresh_token), 200);
    expect(refreshed.session.id).toBe(created.session.id);
    expect((await currentSession(a, refreshed.access_token)).status).toBe(200);
    const next = expectGrant(await refresh(a, refreshed.refresh_token), 200);
    expect(next.refresh_token).not.toBe(refreshed.refresh_token);
  });

  it('share a revocation: revoked on A, B reports session_revoked within 3 s and refuses its refresh', { timeout: 60_000 }, async () => {
    const created = expectGrant(await createSession(a, 'carol'), 201);
    // B has the session cached as active before A revokes it.
    expect((await currentSession(b, created.access_token)).status).toBe(200);
    expect((await call(`${a}/v1/sessions/${created.session.id}`, { method: 'DELETE', token: key })).status).toBeLessThan(300);
    let last: Answer | undefined;
    await eventually(async () => {
      last = await currentSession(b, created.access_token);
      return last.status !== 200;
    }, 3_000);
    expect(last!.status).toBe(401);
    expect(last!.body.error).toBe('session_revoked');
    expect(last!.body.details[0].reason).toBe('admin');
    const refused = await refresh(b, created.refresh_token);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('session_revoked');
  });
});
