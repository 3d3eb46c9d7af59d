// @tessera/react in a real browser (Debian chromium via playwright-core), rendered by react-dom, against
// the real server. The server has no CORS, so one node:http origin serves the page and its bundle and
// forwards /v1/* to the Tessera server.

import type { TokenGrant } from '@tessera/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../../client/test/browser-bundle.js';
import { forward, type ListeningOrigin, listenOrigin } from '../../client/test/same-origin-proxy.js';
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
  const created = await call(`${url}/v1/sessions`, { body: { user_id: 'alice', flow: 'short' }, token: testApiKey });
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
let server: TestServer;
let origin: ListeningOrigin;
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
  // The client first finds out whether a session exists (memory or storage read, other tabs asked).
  await page.waitForFunction(() => document.querySelector('#status')?.textContent !== 'loading');
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
    expect(state.statuses.slice(0, 2)).toEqual(['loading', 'signed_out']);
    expect(collapsed(state.guarded)).toEqual(['loading', 'signed-out', 'signed-in', 'signed-out']);
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

  it('reloaded with a stored session, renders the loading state, then the signed-in children, never the signed-out ones', async () => {
    await page.goto(`${origin.url}/?leeway=1&storage=local-refresh`);
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
