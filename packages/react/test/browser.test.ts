// @tessera/react in a real browser (Debian chromium via playwright-core), rendered by react-dom, against
// the real server. The server has no CORS, so one node:http origin serves the page and its bundle and
// forwards /v1/* to the Tessera server.

import type { TokenGrant } from '@tessera/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../../client/test/browser-bundle.js';
import { forward, type ListeningOrigin, listenOrigin } from '../../client/test/same-origin-proxy.js';
import { FastForwardClock } from '../../server/src/core/clock.js';
import { launchChromium } from '../../server/test/chromium.js';
import { call, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';

/** One origin: `/` loads the bundled test app, `/v1/*` goes to the Tessera server. */
async function startOrigin(upstream: string, bundle: string): Promise<ListeningOrigin> {
  return listenOrigin(async (path, request, response) => {
    if (path === '/') {
      response
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><title>tessera react</title><script type="module" src="/app.js"></script>');
    } else if (path === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else if (path === '/favicon.ico') {
      response.writeHead(204).end();
    } else if (path.startsWith('/v1/')) {
      await forward(upstream, request, response);
    } else {
      response.writeHead(404).end();
    }
  });
}

async function signIn(url: string): Promise<TokenGrant> {
  const created = await call(`${url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body as TokenGrant;
}

interface PageState {
  statuses: string[];
  guarded: string[];
  tokens: string[];
  signInClicks: number;
}

const pageState = (page: Page) =>
  page.evaluate(() => {
    const { statuses, guarded, tokens, signInClicks } = (globalThis as unknown as { app: PageState }).app;
    return { statuses: [...statuses], guarded: [...guarded], tokens: [...tokens], signInClicks };
  });

/** `[a, a, b, a]` → `[a, b, a]`: what was shown, in order, without the re-renders. */
const collapsed = (names: string[]) => names.filter((name, index) => name !== names[index - 1]);

let bundle: string;
let browser: Browser;
let clock: FastForwardClock;
let server: TestServer;
let origin: ListeningOrigin;
let context: BrowserContext;
let page: Page;
let consoleErrors: string[];

beforeAll(async () => {
  bundle = await bundleForBrowser(new URL('./browser-page.tsx', import.meta.url));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  // The default flow's 15-minute tokens, on a clock the server and the page share and the test
  // moves: the page (leeway 60 s, the default) refreshes when the test jumps to the due time.
  clock = new FastForwardClock();
  server = await startServer({ clock, scheduler: clock });
  origin = await startOrigin(server.url, bundle);
  context = await browser.newContext();
  await context.clock.install({ time: clock.now() });
  page = await context.newPage();
  consoleErrors = [];
  // The refresh answered 401 (the session is over) is expected; Chromium logs it as a failed resource.
  const expected = /Failed to load resource: .* 401 \(Unauthorized\)/;
  page.on('console', (message) => message.type() === 'error' && !expected.test(message.text()) && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(`${origin.url}/`);
  await page.waitForSelector('#status');
});

afterEach(async () => {
  await context?.close();
  await origin?.close();
  await server?.close();
});

/** Signs alice in on the page and waits until it has rendered a refreshed token. */
async function signInAndSeeRefresh(): Promise<TokenGrant> {
  // The client first finds out whether a session exists (memory or storage read, other tabs asked).
  await page.waitForFunction(() => document.querySelector('#status')?.textContent !== 'loading');
  expect(await page.textContent('#status')).toBe('signed_out');
  const grant = await signIn(server.url);
  await page.evaluate((tokens) => (globalThis as unknown as { app: { setSession(grant: unknown): void } }).app.setSession(tokens), grant);
  await page.waitForFunction((first) => document.querySelector('#token')?.textContent === first, grant.access_token);
  await passToDueTime();
  await page.waitForFunction((first) => {
    const token = document.querySelector('#token')?.textContent;
    return Boolean(token) && token !== first;
  }, grant.access_token);
  expect(await page.textContent('#status')).toMatch(/^(active|refreshing)$/);
  expect(await page.textContent('#session-id')).toBe(grant.session?.id);
  return grant;
}

/** Fourteen minutes on, on the server and in the page: the token is due, a minute before its exp. */
async function passToDueTime(): Promise<void> {
  clock.fastForward(845);
  await context.clock.fastForward(845_000);
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
    // The page hears of it at its next refresh.
    await passToDueTime();
    await expectEndedNotice('An administrator ended your session.');
    const state = await pageState(page);
    expect(state.statuses.slice(0, 2)).toEqual(['loading', 'signed_out']);
    expect(collapsed(state.guarded)).toEqual(['loading', 'signed-out', 'signed-in', 'signed-out']);
    expect(state.statuses).toContain('active');
    expect(state.statuses).toContain('refreshing');
    expect(state.statuses.at(-1)).toBe('ended');
    expect(state.tokens.filter((token) => token !== grant.access_token)).toHaveLength(1);
    expect(new Set(state.tokens).size).toBe(state.tokens.length);
  });

  it('after a sign-out elsewhere shows "You signed out on another device."', async () => {
    await signInAndSeeRefresh();
    const elsewhere = await signIn(server.url);
    const answer = await call(`${server.url}/v1/session/logout-others`, { method: 'POST', token: elsewhere.access_token });
    expect(answer.status).toBe(200);
    await passToDueTime();
    await expectEndedNotice('You signed out on another device.');
  });

  it('reloaded with a stored session, renders the loading state, then the signed-in children, never the signed-out ones', async () => {
    await page.goto(`${origin.url}/?storage=local-refresh`);
    const grant = await signInAndSeeRefresh();
    await page.reload();
    await page.waitForSelector('#signed-in');
    const state = await pageState(page);
    // Every render of the reloaded page, from its first: a sign-in form here would have flashed.
    expect(collapsed(state.guarded)).toEqual(['loading', 'signed-in']);
    expect(state.statuses[0]).toBe('loading');
    expect(state.statuses[1]).toMatch(/^(active|refreshing)$/);
    expect(state.statuses).not.toContain('signed_out');
    expect(await page.textContent('#session-id')).toBe(grant.session?.id);
    expect(await page.locator('#signed-out').count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  });
});
