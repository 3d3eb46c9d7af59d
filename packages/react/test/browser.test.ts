// @tessera/react in a real browser (Debian chromium via playwright-core), rendered by react-dom, against
// the real server. The server has no CORS, so one node:http origin serves the page and its bundle and
// forwards /v1/* to the Tessera server.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, startServer, testApiKey, type TestServer } from '../../server/test/helpers.js';
import type { TokenGrant } from '@tessera/client';
import { forward } from '../../client/test/same-origin-proxy.js';

const chromiumPath = '/usr/bin/chromium';

/** One origin: `/` loads the bundled test app, `/v1/*` goes to the Tessera server. */
async function startOrigin(upstream: string, bundle: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://origin').pathname;
      if (path === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>tessera react</title><script type="module" src="/app.js"></script>');
        return;
      }
      if (path === '/app.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
        return;
      }
      if (path === '/favicon.ico') {
        response.writeHead(204).end();
        return;
      }
      if (!path.startsWith('/v1/')) {
        response.writeHead(404).end();
        return;
      }
      await forward(upstream, request, response);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function signIn(url: string): Promise<TokenGrant> {
  const created = await call(`${url}/v1/sessions`, { body: { user_id: 'alice', flow: 'short' }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body as TokenGrant;
}

interface PageState {
  statuses: string[];
  tokens: string[];
  signInClicks: number;
}

const pageState = (page: Page) =>
  page.evaluate(() => {
    const { statuses, tokens, signInClicks } = (globalThis as unknown as { app: PageState }).app;
    return { statuses: [...statuses], tokens: [...tokens], signInClicks };
  });

let bundleDir: string;
let bundle: string;
let browser: Browser;
let server: TestServer;
let origin: { url: string; close(): Promise<void> };
let page: Page;
let consoleErrors: string[];

beforeAll(async () => {
  // Fail, not skip: CI installs chromium (.ci/run).
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium`);
  bundleDir = mkdtempSync(join(tmpdir(), 'tessera-react-bundle-'));
  await build({
    entryPoints: [fileURLToPath(new URL('./browser-page.tsx', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"development"' },
    outfile: join(bundleDir, 'app.js'),
    logLevel: 'silent',
  });
  bundle = readFileSync(join(bundleDir, 'app.js'), 'utf8');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--headless', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

beforeEach(async () => {
  // Two-second access tokens on the real clock: the page refreshes about once a second.
  server = await startServer({ clock: { now: () => Date.now() }, config: { flows: { short: { access_token_ttl: 2 } } } });
  origin = await startOrigin(server.url, bundle);
  page = await browser.newPage();
  consoleErrors = [];
  // The refresh answered 401 (the session is over) is expected; Chromium logs it as a failed resource.
  const expected = /Failed to load resource: .* 401 \(Unauthorized\)/;
  page.on('console', (message) => message.type() === 'error' && !expected.test(message.text()) && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(`${origin.url}/?leeway=1`);
  await page.waitForSelector('#status');
});

afterEach(async () => {
  await page?.close();
  await origin?.close();
  await server?.close();
});

/** Signs alice in on the page and waits until it has rendered a refreshed token. */
async function signInAndSeeRefresh(): Promise<TokenGrant> {
  expect(await page.textContent('#status')).toBe('signed_out');
  const grant = await signIn(server.url);
  await page.evaluate((tokens) => (globalThis as unknown as { app: { setSession(grant: unknown): void } }).app.setSession(tokens), grant);
  await page.waitForFunction((first) => {
    const token = document.querySelector('#token')?.textContent;
    return Boolean(token) && token !== first;
  }, grant.access_token);
  expect(await page.textContent('#status')).toMatch(/^(active|refreshing)$/);
  expect(await page.textContent('#session-id')).toBe(grant.session?.id);
  return grant;
}

async function expectEndedNotice(words: string): Promise<void> {
  await page.waitForSelector('[role=alert]', { timeout: 5000 });
  expect(await page.textContent('#status')).toBe('ended');
  expect(await page.textContent('[role=alert] p')).toBe(words);
  expect(await page.textContent('#token')).toBe('');
  await page.click('[role=alert] button');
  const state = await pageState(page);
  expect(state.signInClicks).toBe(1);
  expect(consoleErrors).toEqual([]);
}

describe('@tessera/react in Chromium', () => {
  it('goes active, refreshes, and after an admin revoke shows "An administrator ended your session."', async () => {
    const grant = await signInAndSeeRefresh();
    const revoked = await call(`${server.url}/v1/sessions/${grant.session?.id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBe(200);
    await expectEndedNotice('An administrator ended your session.');
    const state = await pageState(page);
    expect(state.statuses[0]).toBe('signed_out');
    expect(state.statuses).toContain('active');
    expect(state.statuses).toContain('refreshing');
    expect(state.statuses.at(-1)).toBe('ended');
    // On a loaded machine the grant's 2-second token may already be due when the hook first reads it.
    expect(state.tokens.filter((token) => token !== grant.access_token).length).toBeGreaterThanOrEqual(1);
    expect(new Set(state.tokens).size).toBe(state.tokens.length);
  });

  it('after a sign-out elsewhere shows "You signed out on another device."', async () => {
    await signInAndSeeRefresh();
    const elsewhere = await signIn(server.url);
    const answer = await call(`${server.url}/v1/session/logout-others`, { method: 'POST', token: elsewhere.access_token });
    expect(answer.status).toBe(200);
    await expectEndedNotice('You signed out on another device.');
  });
});
