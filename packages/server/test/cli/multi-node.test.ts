import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '../../src/verifier/index.js';
import { type Answer, call } from '../helpers.js';
import { createTestDatabase, postgresUrl, redisUrl, type TestDatabase, throughPort, uniqueRedisPrefix } from '../services.js';
import { TcpProxy } from '../tcp-proxy.js';
import { cleanupDirs, dataDir, eventually, jwtHeader, killAll, runTessera, type ServeHandle, serve, sleep } from './harness.js';

/**
 * Several real `tessera serve` processes on one PostgreSQL database, with and without Redis: what a
 * deployment behind a load balancer sees.
 */
const key = 'tsk_multi_node_key_0123456789abcdefghij';

/** Behind one load balancer every node names the same public URL as its issuer. */
const issuer = 'https://auth.example.test';

async function startNode(databaseUrl: string, extra: string[] = []): Promise<ServeHandle> {
  const args = ['--port', '0', '--host', '127.0.0.1', '--data', dataDir(), '--api-key', key, '--issuer', issuer];
  // Two nodes starting together on a machine running other suites can take a while.
  return serve([...args, '--database-url', databaseUrl, ...extra], {}, 45_000);
}

async function createSession(node: ServeHandle, userId: string): Promise<any> {
  const created = await call(`${node.url}/v1/sessions`, { body: { user_id: userId }, token: key });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

const refresh = (node: ServeHandle, refreshToken: string) => call(`${node.url}/v1/token/refresh`, { body: { refresh_token: refreshToken } });

/** How many remote revocations a node's listeners have heard, from its metrics. */
async function heardRevocations(node: ServeHandle): Promise<number> {
  const metrics = await call(`${node.url}/metrics`);
  return [...metrics.text.matchAll(/^tessera_revocations_heard_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
  await database?.drop();
});

/** Two nodes on the test database for the tests of one describe, started together; a test may kill one. */
function twoNodes(extra: () => string[] = () => []): { a: () => ServeHandle; b: () => ServeHandle } {
  let a: ServeHandle;
  let b: ServeHandle;
  beforeAll(async () => {
    const args = extra();
    [a, b] = await Promise.all([startNode(database.url, args), startNode(database.url, args)]);
  }, 120_000);
  afterAll(async () => {
    for (const node of [a, b]) if (node && !node.hasExited()) node.process.kill('SIGTERM');
    await Promise.all([a?.exited, b?.exited]);
  });
  return { a: () => a, b: () => b };
}

/** What two nodes behind one load balancer must agree on, whatever carries the fan-out. */
function fanoutTests(nodes: { a: () => ServeHandle; b: () => ServeHandle }): void {
  it('revoke on one: the other reports session_revoked within 1 s (every one of 10), and its listeners heard it', { timeout: 60_000 }, async () => {
    const [a, b] = [nodes.a(), nodes.b()];
    const heardBefore = await heardRevocations(b);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const grant = await createSession(a, `alice-${i}`);
      // Node B has the session cached as active.
      expect((await call(`${b.url}/v1/session`, { token: grant.access_token })).status).toBe(200);
      const revoked = await call(`${a.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: key });
      expect(revoked.status).toBeLessThan(300);
      let last: Answer | undefined;
      delays.push(
        await eventually(
          async () => {
            last = await call(`${b.url}/v1/session`, { token: grant.access_token });
            return last.status !== 200;
          },
          3_000,
          20,
        ),
      );
      expect(last!.status).toBe(401);
      expect(last!.body.error).toBe('session_revoked');
      expect(last!.body.details[0].reason).toBe('admin');
    }
    expect(Math.max(...delays)).toBeLessThan(1_000);
    // Delivered to B's onSessionEvent listeners (what the realtime sockets subscribe to), once each.
    await eventually(async () => (await heardRevocations(b)) - heardBefore === 10, 2_000);
  });

  it("a resource server's verifier reading node B's revocation feed refuses a session revoked on node A within 1 s (every one of 10)", {
    timeout: 60_000,
  }, async () => {
    const [a, b] = [nodes.a(), nodes.b()];
    const verifier = createVerifier({
      issuer,
      audience: 'tessera',
      fetch: (url, init) => fetch(url.replace(issuer, b.url), init),
      revocations: { apiKey: key },
    });
    try {
      const delays: number[] = [];
      for (let i = 0; i < 10; i++) {
        const grant = await createSession(a, `vera-${i}`);
        expect((await verifier.verify(grant.access_token)).sub).toBe(`vera-${i}`);
        expect((await call(`${a.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: key })).status).toBeLessThan(300);
        let code: string | undefined;
        delays.push(
          await eventually(
            async () => {
              code = await verifier.verify(grant.access_token).then(
                () => undefined,
                (error: { code?: string }) => error.code,
              );
              return code !== undefined;
            },
            3_000,
            10,
          ),
        );
        expect(code).toBe('session_revoked');
      }
      expect(Math.max(...delays)).toBeLessThan(1_000);
    } finally {
      await verifier.close();
    }
  });

  it('concurrent refreshes of one token split across both nodes: one successor, the same answer to all', { timeout: 60_000 }, async () => {
    const [a, b] = [nodes.a(), nodes.b()];
    for (let round = 0; round < 3; round++) {
      const grant = await createSession(a, `bob-${round}`);
      const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => refresh(i % 2 === 0 ? a : b, grant.refresh_token)));
      for (const answer of answers) expect(answer.status, answer.text).toBe(200);
      expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
      expect(new Set(answers.map((answer) => answer.body.access_token)).size).toBe(1);
      // The successor is live on both nodes, and single-use in its turn.
      const successor = answers[0]!.body.refresh_token as string;
      const next = await refresh(b, successor);
      expect(next.status).toBe(200);
      expect(next.body.refresh_token).not.toBe(successor);
      expect((await call(`${a.url}/v1/session`, { token: next.body.access_token })).status).toBe(200);
    }
  });
}

// The nodes of this describe serve every test in it, the CLI's too; the last one kills node A.
describe('two nodes on one database, fan-out over PostgreSQL LISTEN/NOTIFY', () => {
  const nodes = twoNodes();
  fanoutTests(nodes);

  it('the CLI: keys rotate: both nodes sign with the new key at once and verify each other; sessions revoke reaches them within 1 s', {
    timeout: 120_000,
  }, async () => {
    const [a, b] = [nodes.a(), nodes.b()];
    const heardBefore = { a: await heardRevocations(a), b: await heardRevocations(b) };
    const env = { DATABASE_URL: database.url };
    const rotated = await runTessera(['keys', 'rotate'], env, 30_000);
    expect(rotated.code, rotated.stderr).toBe(0);
    const kid = rotated.stdout.match(/New signing key (\S+)/)?.[1];
    expect(kid).toBeDefined();
    // Heard over NOTIFY: new tokens on A carry the new kid, and B (which reloaded too) accepts them.
    await eventually(async () => jwtHeader((await createSession(a, 'frank')).access_token)['kid'] === kid, 3_000, 100);
    const grant = await createSession(a, 'grace');
    expect((await call(`${b.url}/v1/session`, { token: grant.access_token })).status).toBe(200);
    const jwks = await call(`${b.url}/.well-known/jwks.json`);
    expect(jwks.body.keys.map((jwk: { kid: string }) => jwk.kid)).toContain(kid);

    const revoked = await runTessera(['sessions', 'revoke', grant.session.id], env, 30_000);
    expect(revoked.code, revoked.stderr).toBe(0);
    const delay = await eventually(async () => (await call(`${b.url}/v1/session`, { token: grant.access_token })).status === 401, 3_000, 20);
    expect(delay).toBeLessThan(1_000);
    await eventually(async () => (await heardRevocations(a)) > heardBefore.a && (await heardRevocations(b)) > heardBefore.b, 2_000);
  });

  it('a node killed mid-refresh loses no session: a retry on the surviving node inside reuse_interval gets the successor', { timeout: 120_000 }, async () => {
    const [a, b] = [nodes.a(), nodes.b()];
    const grants = await Promise.all(Array.from({ length: 30 }, (_, i) => createSession(b, `carol-${i}`)));
    // Five clients refresh their sessions on A, one after another; A is killed once five refreshes have
    // been answered, with others in flight and the rest not sent yet.
    const fromA: (Answer | null)[] = grants.map(() => null);
    let answered = 0;
    const client = async (first: number) => {
      for (let i = first; i < grants.length; i += 5) {
        fromA[i] = await refresh(a, grants[i].refresh_token).catch(() => null);
        if (fromA[i]?.status === 200 && ++answered === 5) a.process.kill('SIGKILL');
      }
    };
    await Promise.all([0, 1, 2, 3, 4].map(client));
    await a.exited;

    let answeredByA = 0;
    for (const [i, grant] of grants.entries()) {
      const retry = await refresh(b, grant.refresh_token);
      expect(retry.status, retry.text).toBe(200);
      const first = fromA[i];
      if (first?.status === 200) {
        answeredByA++;
        // A committed the rotation and answered: the retry is given that same successor.
        expect(retry.body.refresh_token).toBe(first.body.refresh_token);
      }
      // The session carries on, on B.
      const next = await refresh(b, retry.body.refresh_token);
      expect(next.status, next.text).toBe(200);
      expect((await call(`${b.url}/v1/session`, { token: next.body.access_token })).status).toBe(200);
    }
    // Both cases happened: refreshes A finished before it died, and refreshes it never finished.
    expect(answeredByA).toBeGreaterThanOrEqual(5);
    expect(answeredByA).toBeLessThan(grants.length);
  });
});

describe('two nodes on one database, fan-out over Redis pub/sub', () => {
  const prefix = uniqueRedisPrefix();
  fanoutTests(twoNodes(() => ['--redis-url', redisUrl, '--redis-prefix', prefix]));
});

describe('a node cut off from PostgreSQL', () => {
  it('answers service_unavailable with retry_after, never a 500 or a hang, and recovers by itself', { timeout: 120_000 }, async () => {
    const target = new URL(postgresUrl);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    try {
      const node = await startNode(throughPort(database.url, proxy.port));
      const grant = await createSession(node, 'dave');
      proxy.cut();
      // Past the session cache's second, every check needs the database.
      await sleep(1_100);
      const started = Date.now();
      const answers = await Promise.all([
        call(`${node.url}/v1/session`, { token: grant.access_token }),
        refresh(node, grant.refresh_token),
        call(`${node.url}/v1/sessions`, { body: { user_id: 'erin' }, token: key }),
        call(`${node.url}/readyz`),
      ]);
      expect(Date.now() - started).toBeLessThan(8_000);
      for (const answer of answers) {
        expect(answer.status, answer.text).toBe(503);
        expect(answer.body.error).toBe('service_unavailable');
        expect(answer.body.retry_after).toBeGreaterThan(0);
        expect(answer.headers.get('retry-after')).toBe(String(answer.body.retry_after));
      }

      proxy.restore();
      await eventually(async () => (await call(`${node.url}/readyz`)).status === 200, 15_000, 200);
      expect((await call(`${node.url}/v1/session`, { token: grant.access_token })).status).toBe(200);
      const refreshed = await refresh(node, grant.refresh_token);
      expect(refreshed.status, refreshed.text).toBe(200);
      node.process.kill('SIGTERM');
      await node.exited;
    } finally {
      await proxy.close();
    }
  });
});
