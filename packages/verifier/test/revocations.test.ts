// A resource server's verifier with `revocations`: it keeps a read of Tessera's revocation feed open
// and refuses a revoked session's still-unexpired access token within about a second, on any node.
// End to end on the system timers, but for the once-a-second re-read of an impatient feed, whose wait is
// timed on a ManualClock given to the verifier as its scheduler.
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupDirs, dataDir, killAll, serve } from '../../server/test/cli/harness.js';
import { call, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';
import { type Clock, ManualClock, type Scheduler } from '../src/clock.js';
import { TesseraError } from '../src/errors.js';
import { createVerifier, type RevocationListOptions, tesseraFastify, type Verifier } from '../src/index.js';

const issuer = 'http://tessera.test';
const realClock: Clock = { now: () => Date.now() };

let servers: TestServer[] = [];
let verifiers: Verifier[] = [];

afterEach(async () => {
  await Promise.all(verifiers.map((verifier) => verifier.close()));
  await Promise.all(servers.map((server) => server.close()));
  verifiers = [];
  servers = [];
  await killAll();
  cleanupDirs();
});

async function startTessera(clock: Clock = realClock): Promise<TestServer> {
  const server = await startServer({ clock });
  servers.push(server);
  return server;
}

type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

function verifierFor(
  server: { url: string; clock: Clock },
  revocations: Partial<RevocationListOptions> = {},
  fetcher: Fetcher = fetch,
  scheduler?: Scheduler,
): Verifier {
  const verifier = createVerifier({
    issuer,
    audience: 'tessera',
    clock: server.clock,
    ...(scheduler ? { scheduler } : {}),
    jwksCooldown: 0,
    fetch: (url, init) => fetcher(url.replace(issuer, server.url), init),
    revocations: { apiKey: testApiKey, ...revocations },
  });
  verifiers.push(verifier);
  return verifier;
}

async function createSession(url: string, user = 'alice', key = testApiKey) {
  const created = await call(`${url}/v1/sessions`, { body: { user_id: user }, token: key });
  expect(created.status, created.text).toBe(201);
  return created.body as { access_token: string; session: { id: string } };
}

/** What `verify` does with `token`: the subject, or the error code and details. */
async function outcome(verifier: Verifier, token: string): Promise<{ sub?: string; code?: string; details?: unknown }> {
  try {
    return { sub: (await verifier.verify(token)).sub };
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    return { code: error.code, details: error.details };
  }
}

/** Calls `verify` every 20 ms until it refuses; the milliseconds that took. */
async function msUntilRefused(verifier: Verifier, token: string, limitMs = 5000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if ((await outcome(verifier, token)).code) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Number.POSITIVE_INFINITY;
}

describe('a verifier with revocations', () => {
  it('refuses a revoked session within a second, with its reason, and keeps accepting the others', async () => {
    const server = await startTessera();
    const verifier = verifierFor(server);
    const [mine, other] = [await createSession(server.url), await createSession(server.url)];
    expect(await outcome(verifier, mine.access_token)).toEqual({ sub: 'alice' });

    const revoked = await call(`${server.url}/v1/sessions/${mine.session.id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBe(200);
    expect(await msUntilRefused(verifier, mine.access_token)).toBeLessThan(1000);
    expect(await outcome(verifier, mine.access_token)).toEqual({
      code: 'session_revoked',
      details: [{ reason: 'admin', revoked_at: revoked.body.revoked_at }],
    });
    expect(await outcome(verifier, other.access_token)).toEqual({ sub: 'alice' });

    // A logout is told as a logout.
    expect((await call(`${server.url}/v1/session/logout`, { method: 'POST', token: other.access_token })).status).toBe(200);
    expect(await msUntilRefused(verifier, other.access_token)).toBeLessThan(1000);
    expect(await outcome(verifier, other.access_token)).toMatchObject({ code: 'session_revoked', details: [{ reason: 'logout' }] });
  });

  it('knows of revocations made before it started', async () => {
    const server = await startTessera();
    const session = await createSession(server.url);
    expect((await call(`${server.url}/v1/sessions/${session.session.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    // The very first verification waits for the first read of the feed.
    const verifier = verifierFor(server);
    expect(await outcome(verifier, session.access_token)).toMatchObject({ code: 'session_revoked', details: [{ reason: 'admin' }] });
  });

  it('an expired token of a session it knows to be revoked: session_revoked, not token_expired (refreshing cannot help)', async () => {
    const server = await startTessera(new ManualClock(Date.UTC(2026, 0, 1, 9)));
    const verifier = verifierFor(server);
    const [revoked, live] = [await createSession(server.url), await createSession(server.url)];
    expect(await outcome(verifier, revoked.access_token)).toEqual({ sub: 'alice' }); // the feed has been read
    server.clock.advance(300);
    const revocation = await call(`${server.url}/v1/sessions/${revoked.session.id}`, { method: 'DELETE', token: testApiKey });
    expect(await msUntilRefused(verifier, revoked.access_token)).toBeLessThan(1000);

    // Past exp and the 5 s clock tolerance; the revocation is still known (its tokens all expire by 300 + 900 s).
    server.clock.advance(606);
    expect(await outcome(verifier, revoked.access_token)).toEqual({
      code: 'session_revoked',
      details: [{ reason: 'admin', revoked_at: revocation.body.revoked_at }],
    });
    expect(await outcome(verifier, live.access_token)).toMatchObject({ code: 'token_expired' });
  });

  it('hears a revocation made on another node (another process on the same store) within a second', async () => {
    const dir = dataDir();
    const key = 'tsk_verifier_cross_node_0123456789abcdef';
    const args = ['--port', '0', '--host', '127.0.0.1', '--data', dir, '--api-key', key, '--issuer', issuer];
    const [a, b] = [await serve(args), await serve(args)];
    const verifier = verifierFor({ url: a.url, clock: realClock }, { apiKey: key });
    const session = await createSession(b.url, 'bob', key);
    expect(await outcome(verifier, session.access_token)).toEqual({ sub: 'bob' });

    // Node B answers once the revocation is committed; from then, node A's feed has a second.
    expect((await call(`${b.url}/v1/users/bob/sessions`, { method: 'DELETE', token: key })).status).toBe(200);
    expect(await msUntilRefused(verifier, session.access_token)).toBeLessThan(1000);
    expect(await outcome(verifier, session.access_token)).toMatchObject({ code: 'session_revoked', details: [{ reason: 'admin' }] });
  }, 30_000);

  it('feed unreachable: accepts on signature and expiry by default, or refuses with service_unavailable when told to', async () => {
    const server = await startTessera();
    const session = await createSession(server.url);
    const errors: unknown[] = [];
    // The JWKS is reachable; the feed (on its own URL) is not.
    const lenient = verifierFor(server, { url: 'http://127.0.0.1:9', onError: (error) => errors.push(error) });
    const strict = verifierFor(server, { url: 'http://127.0.0.1:9', whenUnreachable: 'refuse' });

    const started = Date.now();
    expect(await outcome(lenient, session.access_token)).toEqual({ sub: 'alice' });
    // The first verification waited for the first read to fail, not for a timeout.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(await outcome(strict, session.access_token)).toMatchObject({ code: 'service_unavailable' });
    // Still quick on the next call: nothing waits for the feed once it has failed.
    const again = Date.now();
    expect(await outcome(lenient, session.access_token)).toEqual({ sub: 'alice' });
    expect(Date.now() - again).toBeLessThan(200);
  });

  it('a feed that stops answering: the known revocations are kept; after maxStaleness, `refuse` refuses', async () => {
    const server = await startTessera(new ManualClock(Date.UTC(2026, 0, 1, 9)));
    const revoked = await createSession(server.url);
    const active = await createSession(server.url);
    expect((await call(`${server.url}/v1/sessions/${revoked.session.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);

    let broken = false;
    // A proxy in front of the feed that starts answering with its own HTML page.
    const fetcher: Fetcher = (url, init) =>
      broken && url.includes('/v1/revocations') ? Promise.resolve(new Response('<html>Bad gateway</html>', { status: 200 })) : fetch(url, init);
    const errors: unknown[] = [];
    const verifier = verifierFor(server, { whenUnreachable: 'refuse', maxStaleness: 60, onError: (error) => errors.push(error) }, fetcher);
    expect(await outcome(verifier, revoked.access_token)).toMatchObject({ code: 'session_revoked' });
    expect(await outcome(verifier, active.access_token)).toEqual({ sub: 'alice' });

    broken = true;
    // The read open now ends (a revocation wakes it) and the next ones get the proxy's page.
    await createSession(server.url).then((other) => call(`${server.url}/v1/sessions/${other.session.id}`, { method: 'DELETE', token: testApiKey }));
    await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(String(errors[0])).toContain('not a page of revocations');
    expect(await outcome(verifier, revoked.access_token)).toMatchObject({ code: 'session_revoked' });
    expect(await outcome(verifier, active.access_token)).toEqual({ sub: 'alice' });

    server.clock.advance(61);
    expect(await outcome(verifier, active.access_token)).toMatchObject({ code: 'service_unavailable' });
    // Still revoked is still revoked: the reason beats the outage.
    expect(await outcome(verifier, revoked.access_token)).toMatchObject({ code: 'session_revoked' });
  });

  it('a feed that answers at once with nothing (not waiting) is read once a second, not in a loop', async () => {
    const server = await startTessera();
    let reads = 0;
    const impatient: Fetcher = (url, init) => {
      if (!url.includes('/v1/revocations')) return fetch(url, init);
      reads += 1;
      return Promise.resolve(Response.json({ revocations: [], cursor: '1.0.0', server_time: new Date().toISOString() }));
    };
    // The verifier's waits, on a clock this test moves; each one's length is noted.
    const timers = new ManualClock();
    const waits: number[] = [];
    const scheduler: Scheduler = {
      setTimer: (ms, run) => {
        waits.push(ms);
        return timers.setTimer(ms, run);
      },
      setRepeating: (ms, run) => timers.setRepeating(ms, run),
    };
    const secondWaits = () => waits.filter((ms) => ms === 1000).length;
    const verifier = verifierFor(server, {}, impatient, scheduler);
    const session = await createSession(server.url);
    expect(await outcome(verifier, session.access_token)).toEqual({ sub: 'alice' });
    // The first read, then a waiting one answered at once with nothing: the next waits a second.
    await expect.poll(secondWaits).toBe(1);
    expect(reads).toBe(2);
    timers.advance(0.999);
    await expect.poll(() => timers.pendingTimers).toBeGreaterThanOrEqual(1);
    expect(reads).toBe(2);
    timers.advance(0.001);
    await expect.poll(secondWaits).toBe(2);
    expect(reads).toBe(3);
    timers.advance(1);
    await expect.poll(secondWaits).toBe(3);
    expect(reads).toBe(4);
  });

  it('close() ends the open read at once; tesseraFastify closes the verifier it made', async () => {
    const server = await startTessera();
    const verifier = verifierFor(server);
    const session = await createSession(server.url);
    expect(await outcome(verifier, session.access_token)).toEqual({ sub: 'alice' });
    let started = Date.now();
    await verifier.close();
    expect(Date.now() - started).toBeLessThan(500);

    const app = Fastify();
    await app.register(async (api) => {
      await api.register(tesseraFastify, {
        issuer,
        audience: 'tessera',
        clock: server.clock,
        fetch: (url, init) => fetch(url.replace(issuer, server.url), init),
        revocations: { apiKey: testApiKey },
      });
      api.get('/me', async (request) => ({ user: request.tessera!.sub }));
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    expect((await call(`${url}/me`, { token: session.access_token })).body).toEqual({ user: 'alice' });
    expect((await call(`${server.url}/v1/sessions/${session.session.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    await expect.poll(async () => (await call(`${url}/me`, { token: session.access_token })).body.error, { timeout: 2000 }).toBe('session_revoked');
    started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(500);
  });
});
