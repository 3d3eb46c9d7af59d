// The client in a real browser (Debian chromium via playwright-core): real Web Locks, BroadcastChannel,
// fetch and timers, against the real server. The server has no CORS, so one node:http origin serves
// the page and the bundled client and forwards /v1/* to the Tessera server, counting refreshes.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../server/src/core/clock.js';
import { call, startServer, testApiKey, type TestServer } from '../../server/test/helpers.js';
import type { TokenGrant } from '../src/index.js';

const chromiumPath = '/usr/bin/chromium';
const refreshPath = '/v1/token/refresh';

interface Origin {
  readonly url: string;
  /** How many requests reached the server, by path. */
  count(path: string): number;
  /** Holds refresh requests back until the returned function is called. */
  holdRefreshes(): () => void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One origin: `/` is an empty page, `/client.js` the bundled client, `/v1/*` goes to the Tessera server. */
async function startOrigin(upstream: string, bundle: string): Promise<Origin> {
  const seen: string[] = [];
  let refreshGate: Promise<void> = Promise.resolve();
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://origin').pathname;
      if (path === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>tessera</title>');
        return;
      }
      if (path === '/client.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
        return;
      }
      if (!path.startsWith('/v1/')) {
        response.writeHead(404).end();
        return;
      }
      if (path === refreshPath) await refreshGate;
      seen.push(path);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (value === undefined || ['host', 'connection', 'content-length', 'origin', 'referer'].includes(name)) continue;
        headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(await readBody(request));
      const answer = await fetch(upstream + (request.url ?? '/'), { method: request.method ?? 'GET', headers, body });
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!['content-encoding', 'transfer-encoding', 'content-length', 'connection', 'keep-alive'].includes(name)) out[name] = value;
      });
      response.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    count: (path) => seen.filter((each) => each === path).length,
    holdRefreshes() {
      let release = () => {};
      refreshGate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function signIn(url: string, flow?: string): Promise<TokenGrant> {
  const created = await call(`${url}/v1/sessions`, { body: flow ? { user_id: 'alice', flow } : { user_id: 'alice' }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body as TokenGrant;
}

/** Loads the client in `page` as `window.tessera`, with no session yet. */
async function openClient(page: Page, origin: string, leeway: number): Promise<void> {
  await page.goto(`${origin}/`);
  // A module script, not `import()` inside evaluate: vitest rewrites dynamic imports in test code.
  await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
  await page.waitForFunction(() => 'tesseraLib' in globalThis);
  await page.evaluate((leeway) => {
    const { createSessionClient } = (globalThis as Record<string, unknown>).tesseraLib as typeof import('../src/index.js');
    (globalThis as Record<string, unknown>).tessera = createSessionClient({ baseUrl: location.origin, leeway });
  }, leeway);
}

/**
 * In `page`: `setSession(grant)` when given, then, in the same task, `n` concurrent `getAccessToken()`
 * calls; `collect` then returns their distinct answers.
 */
async function startTokenCalls(page: Page, n: number, grant: TokenGrant | null = null): Promise<{ collect(): Promise<string[]> }> {
  await page.evaluate(
    ({ n, grant }) => {
      const client = (globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient;
      if (grant) client.setSession(grant);
      (globalThis as Record<string, unknown>).pending = Promise.all(Array.from({ length: n }, () => client.getAccessToken()));
    },
    { n, grant },
  );
  return {
    collect: () => page.evaluate(async () => [...new Set(await ((globalThis as Record<string, unknown>).pending as Promise<string[]>))]),
  };
}

async function concurrentTokens(page: Page, n: number, grant: TokenGrant | null = null): Promise<string[]> {
  return (await startTokenCalls(page, n, grant)).collect();
}

let bundleDir: string;
let bundle: string;
let browser: Browser;
let server: TestServer | null = null;
let origin: Origin | null = null;

beforeAll(async () => {
  // Fail, not skip: CI installs chromium (.ci/run).
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium`);
  bundleDir = mkdtempSync(join(tmpdir(), 'tessera-client-bundle-'));
  await build({
    entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(bundleDir, 'client.js'),
    logLevel: 'silent',
  });
  bundle = readFileSync(join(bundleDir, 'client.js'), 'utf8');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--headless', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

afterEach(async () => {
  await origin?.close();
  origin = null;
  await server?.close();
  server = null;
});

describe('the client in chromium', () => {
  it('two tabs of one origin, 20 concurrent getAccessToken() each on a due token: one refresh, one new token', async () => {
    const clock = new ManualClock(Date.now());
    server = await startServer({ clock, config: { flows: { short: { access_token_ttl: 5 } } } });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url, 'short');
    // The app's backend hands the grant over 4 s after it was issued, stamped with the server's time
    // then: the 5 s token is past exp − leeway (leeway is capped at half its life) on arrival.
    clock.advance(4);
    const late: TokenGrant = { ...grant, server_time: new Date(clock.now()).toISOString() };

    const context = await browser.newContext();
    try {
      // Two background tabs: the scheduler does not refresh a hidden page on its own, so the refresh
      // comes from the getAccessToken() calls, after both tabs hold the session.
      await context.addInitScript(() => {
        Object.defineProperty(Document.prototype, 'visibilityState', { get: () => 'hidden', configurable: true });
        Object.defineProperty(Document.prototype, 'hidden', { get: () => true, configurable: true });
      });
      const [first, second] = [await context.newPage(), await context.newPage()];
      await openClient(first, origin.url, 60);
      await openClient(second, origin.url, 60);

      // Both tabs hold the session before any refresh can answer: the race under test is the refresh, not setSession.
      const release = origin.holdRefreshes();
      await Promise.all([startTokenCalls(first, 0, late), startTokenCalls(second, 0, late)]);
      expect(origin.count(refreshPath)).toBe(0);
      const calls = await Promise.all([startTokenCalls(first, 20), startTokenCalls(second, 20)]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      const [fromFirst = [], fromSecond = []] = await Promise.all(calls.map((each) => each.collect()));
      expect(fromFirst).toHaveLength(1);
      expect(fromSecond).toEqual(fromFirst);
      expect(fromFirst[0]).not.toBe(grant.access_token);
      expect(origin.count(refreshPath)).toBe(1);

      const checked = await call(`${server.url}/v1/session`, { token: fromFirst[0] });
      expect(checked.status).toBe(200);
    } finally {
      await context.close();
    }
  });

  it('a page whose clock is 10 minutes ahead gets a valid token and does not loop on refreshes', async () => {
    server = await startServer({ clock: { now: () => Date.now() } });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url);

    const context = await browser.newContext();
    try {
      await context.addInitScript(() => {
        const realNow = Date.now.bind(Date);
        Date.now = () => realNow() + 10 * 60 * 1000;
      });
      const page = await context.newPage();
      await openClient(page, origin.url, 60);
      expect(await page.evaluate(() => Date.now() - performance.timeOrigin - performance.now())).toBeGreaterThan(9 * 60 * 1000);

      const tokens = await concurrentTokens(page, 5, grant);
      expect(tokens).toHaveLength(1);
      await page.waitForTimeout(3000);
      expect(origin.count(refreshPath)).toBeLessThanOrEqual(1);

      const current = (await concurrentTokens(page, 1))[0];
      const checked = await call(`${server.url}/v1/session`, { token: current });
      expect(checked.status).toBe(200);
    } finally {
      await context.close();
    }
  });
});
