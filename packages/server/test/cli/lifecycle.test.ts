import { existsSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { testPort } from '../ports.js';
import { cleanupDirs, dataDir, jwtHeader, killAll, type ServeHandle, serve, sleep, spawnTessera, stop } from './harness.js';
import { runInProcess } from './in-process.js';

// Every test has a node and a data folder of its own: they run side by side.
afterAll(async () => {
  await killAll();
  cleanupDirs();
});

const key = 'tsk_lifecycle_key_0123456789abcdefghij';
const serveArgs = (data: string, ...more: string[]) => ['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key, ...more];

/** Asserts the store closed cleanly: the WAL was checkpointed away and the file opens and checks out. */
function expectCleanStore(data: string): void {
  const wal = join(data, 'tessera.db-wal');
  expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
  const db = new Database(join(data, 'tessera.db'), { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    db.close();
  }
}

describe.concurrent('restart', () => {
  it('keeps sessions and signing keys: old access tokens still pass and refresh tokens refresh', async () => {
    const data = dataDir();
    // The same port on both starts, as in production: the default issuer names the port.
    const port = String(await testPort());
    const args = [...serveArgs(data), '--port', port];
    const first = await serve(args);
    const created = await call(`${first.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key });
    expect(created.status).toBe(201);
    const jwksBefore = (await call(`${first.url}/.well-known/jwks.json`)).body;
    expect((await stop(first)).code).toBe(0);
    expectCleanStore(data);

    const second = await serve(args);
    const jwksAfter = (await call(`${second.url}/.well-known/jwks.json`)).body;
    expect(jwksAfter).toEqual(jwksBefore);

    const whoami = await call(`${second.url}/v1/session`, { token: created.body.access_token });
    expect(whoami.status, whoami.text).toBe(200);
    expect(whoami.body.session.id).toBe(created.body.session.id);
    expect(whoami.body.session.status).toBe('active');

    const refreshed = await call(`${second.url}/v1/token/refresh`, { body: { refresh_token: created.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.session.id).toBe(created.body.session.id);
    expect(refreshed.body.refresh_token).not.toBe(created.body.refresh_token);
    // Still signed with the key from before the restart.
    expect(jwtHeader(refreshed.body.access_token).kid).toBe(jwtHeader(created.body.access_token).kid);
    expect((await call(`${second.url}/v1/session`, { token: refreshed.body.access_token })).status).toBe(200);
    await stop(second);
  });
});

/** A POST whose body is sent in two parts, so the request is in flight until `finish` is called. */
function slowCreate(url: string, userId: string) {
  const body = JSON.stringify({ user_id: userId });
  const cut = 5;
  let finishBody!: () => void;
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(
      `${url}/v1/sessions`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), authorization: `Bearer ${key}` },
      },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, cut));
    finishBody = () => req.end(body.slice(cut));
  });
  return { response, finish: () => finishBody() };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** SIGTERM with nothing in flight: exit 0 within 5 s, the store closed cleanly. */
async function expectPromptExit(server: ServeHandle, data: string): Promise<void> {
  const signalled = Date.now();
  server.process.kill('SIGTERM');
  const { code } = await server.exited;
  expect(code).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(5_000);
  expectCleanStore(data);
}

describe.concurrent('graceful shutdown', () => {
  it('SIGTERM lets every in-flight request finish, then exits 0 with the store closed cleanly', async () => {
    const data = dataDir();
    const server = await serve(serveArgs(data, '--log-level', 'info', '--log-requests', 'all'));
    const burst = Array.from({ length: 8 }, (_, index) => slowCreate(server.url, `slow-${index}`));
    // Every request has reached the server (its headers are parsed) before the signal.
    for (let seen = 0; seen < burst.length; ) {
      await server.waitFor(/"msg":"incoming request"/);
      seen = count(server.stdout(), '"msg":"incoming request"');
      if (seen < burst.length) await sleep(20);
    }
    server.process.kill('SIGTERM');
    await server.waitFor(/shutting down/);
    await sleep(300);
    expect(server.hasExited()).toBe(false);

    for (const slow of burst) slow.finish();
    const responses = await Promise.all(burst.map((slow) => slow.response));
    for (const [index, response] of responses.entries()) {
      expect(response.status).toBe(201);
      const parsed = JSON.parse(response.text) as { session: { user_id: string }; access_token: string };
      expect(parsed.session.user_id).toBe(`slow-${index}`);
      expect(parsed.access_token).toMatch(/^ey/);
    }
    const { code, signal } = await server.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expectCleanStore(data);

    // What the in-flight requests wrote was committed.
    const listed = await runInProcess(['sessions', 'list', '--user', 'slow-3', '--data', data, '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { sessions: unknown[] }).sessions).toHaveLength(1);
  });

  // Both on one node: either alone holding it up would hold up this shutdown too.
  it('neither an idle keep-alive connection nor one that never sends a request (Node would wait for its headers timeout) holds up shutdown', async () => {
    const data = dataDir();
    const server = await serve(serveArgs(data));
    // fetch keeps its connection open in the pool after these complete.
    for (let index = 0; index < 3; index++) {
      expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'idle' }, token: key })).status).toBe(201);
    }
    const silent = connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    try {
      await expectPromptExit(server, data);
    } finally {
      silent.destroy();
    }
  });

  it('SIGTERM sent the moment the listening line appears is already handled gracefully', async () => {
    const data = dataDir();
    const server = spawnTessera(['serve', ...serveArgs(data)]);
    server.process.stdout!.on('data', (chunk: Buffer | string) => {
      if (String(chunk).includes('Tessera is listening')) server.process.kill('SIGTERM');
    });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.stdout()).toContain('Tessera is listening');
    expectCleanStore(data);
  });

  it('SIGINT shuts down the same way', async () => {
    const data = dataDir();
    const server = await serve(serveArgs(data));
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'int' }, token: key })).status).toBe(201);
    server.process.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expectCleanStore(data);
  });

  it('requests arriving after SIGTERM are not accepted', async () => {
    const data = dataDir();
    const server = await serve(serveArgs(data, '--log-level', 'info', '--log-requests', 'all'));
    const held = slowCreate(server.url, 'holder');
    await server.waitFor(/"msg":"incoming request"/);
    server.process.kill('SIGTERM');
    await server.waitFor(/shutting down/);
    // The listening socket is closed: a new connection is refused, not queued forever.
    await expect(call(`${server.url}/healthz`)).rejects.toThrow();
    held.finish();
    expect((await held.response).status).toBe(201);
    expect((await server.exited).code).toBe(0);
  });
});
