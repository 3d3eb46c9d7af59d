// An `Upgrade` request is answered and closed whatever its path: the envelope, then the socket goes,
// on `tessera serve` and on an app's own server with the gateway attached.
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { attachRealtime } from '../../src/index.js';
import { type RunningServer, startServer as startNode } from '../../src/serve.js';
import { cleanupDirs, dataDir, killAll, serve } from '../cli/harness.js';
import { startCore, type TestTessera } from '../helpers.js';
import { rawRequest } from '../hostile/harness.js';
import { h2cUpgrade, openFds, type RawAnswer, rawExchange } from './raw-http.js';

const key = 'tsk_upgrade_edges_key_of_32_chars_or_more';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
});

async function node(config?: unknown): Promise<RunningServer> {
  const server = await startNode({
    port: 0,
    host: '127.0.0.1',
    dataDir: dataDir(),
    apiKey: key,
    logLevel: 'silent',
    ...(config ? { config: parseConfig(config) } : {}),
  });
  cleanups.push(() => server.close());
  return server;
}

const portOf = (url: string) => Number(new URL(url).port);

function expectEnvelopeAndClosed(answer: RawAnswer, status: number, code: string): void {
  answer.socket.destroy();
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.body.error).toBe(code);
  expect(answer.body.success).toBe(false);
  expect(answer.body.request_id).toBe(answer.headers['x-request-id']);
  expect(answer.closedByServer).toBe(true);
}

describe('an Upgrade to a path that is not the socket path', () => {
  it('tessera serve (in process): h2c to /healthz gets a 404 envelope and the connection closed', async () => {
    const server = await node();
    const answer = await rawExchange(portOf(server.url), h2cUpgrade('/healthz'));
    expectEnvelopeAndClosed(answer, 404, 'not_found');
    expect(answer.body.details).toEqual([{ path: '/healthz' }]);
  });

  it('once the sockets are closed (the first step of a shutdown), an upgrade is still answered, not held', async () => {
    const server = await node();
    await server.realtime.close();
    // Done at the whole answer: with no upgrade listener it is a plain request, and its connection stays alive.
    const answer = await rawRequest(portOf(server.url), h2cUpgrade('/healthz'), { deadlineMs: 3_000 });
    expect(answer.outcome, answer.raw).toBe('answered');
    expect(answer.status, answer.raw).toBeGreaterThan(0);
  });

  it('100 of them leave no descriptor behind on the server, even when the clients never close', async () => {
    const server = await node();
    const port = portOf(server.url);
    // Warm up: the first request opens lazily made descriptors (store, timers) that are no leak.
    (await rawExchange(port, h2cUpgrade('/healthz'))).socket.destroy();
    const baseline = openFds();
    const answers = await Promise.all(Array.from({ length: 100 }, () => rawExchange(port, h2cUpgrade('/healthz'))));
    expect(answers.filter((answer) => answer.status === 404 && answer.closedByServer)).toHaveLength(100);
    // Each client keeps its half open: 100 descriptors are ours; the server's 100 must be gone.
    await expect.poll(() => openFds(), { timeout: 5_000 }).toBeLessThanOrEqual(baseline + 100 + 10);
    for (const answer of answers) answer.socket.destroy();
    await expect.poll(() => openFds(), { timeout: 5_000 }).toBeLessThanOrEqual(baseline + 10);
  });

  it('are counted against sockets_per_ip while they are open', async () => {
    const server = await node({ rate_limits: { sockets_per_ip: 1 } });
    const port = portOf(server.url);
    // A socket that has not finished its handshake holds the one place: the refusal says so.
    const pending = await rawExchange(
      port,
      'GET /v1/realtime HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      500,
    );
    expect(pending.status).toBe(101);
    cleanups.push(() => void pending.socket.destroy());
    const refused = await rawExchange(port, h2cUpgrade('/healthz'));
    expectEnvelopeAndClosed(refused, 429, 'rate_limited');
  });

  it('tessera serve (a process): 100 of them are closed, its descriptors come back, and SIGTERM exits promptly', async () => {
    const server = await serve(['--port', '0', '--host', '127.0.0.1', '--data', dataDir(), '--api-key', key]);
    const port = portOf(server.url);
    const baseline = openFds(server.pid);
    const answers = await Promise.all(Array.from({ length: 100 }, () => rawExchange(port, h2cUpgrade('/healthz'))));
    expect(answers.filter((answer) => answer.status === 404 && answer.closedByServer)).toHaveLength(100);
    await expect.poll(() => openFds(server.pid), { timeout: 5_000 }).toBeLessThanOrEqual(baseline + 5);
    // Clients still connected (their half open) must not hold the shutdown.
    const signalled = Date.now();
    server.process.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000);
    for (const answer of answers) answer.socket.destroy();
  }, 30_000);

  it("an app's own server with the gateway attached: another path is answered 404 and closed", async () => {
    const core: TestTessera = await startCore();
    const app: Server = createServer((_request, response) => response.end('the app'));
    const realtime = attachRealtime(app, { tessera: core.tessera, path: '/chat' });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await realtime.close();
      await new Promise((resolve) => app.close(resolve));
      await core.close();
    });
    const address = app.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const baseline = openFds();
    const answers = await Promise.all(Array.from({ length: 50 }, () => rawExchange(port, h2cUpgrade('/elsewhere'))));
    for (const answer of answers.slice(0, 1)) expect(answer.body.error).toBe('not_found');
    expect(answers.filter((answer) => answer.status === 404 && answer.closedByServer)).toHaveLength(50);
    await expect.poll(() => openFds(), { timeout: 5_000 }).toBeLessThanOrEqual(baseline + 50 + 10);
    for (const answer of answers) answer.socket.destroy();
  });
});
