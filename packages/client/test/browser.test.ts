// The client in a real browser (Debian chromium via playwright-core): real Web Locks, BroadcastChannel,
// fetch and timers, against the real server. The server has no CORS, so one node:http origin serves
// the page and the bundled client and forwards /v1/* to the Tessera server, counting refreshes.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FastForwardClock, ManualClock } from '../../server/src/core/clock.js';
import { launchChromium } from '../../server/test/chromium.js';
import { call, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';
import type { TokenGrant } from '../src/index.js';
import { bundleForBrowser } from './browser-bundle.js';
import {
  concurrentTokens,
  dueIn,
  heard,
  heldTokenRunOut,
  leeway,
  type Origin,
  openClient,
  passTime,
  refreshedAtLeast,
  refreshPath,
  setPageVisible,
  signIn,
  startHidden,
  startOrigin,
  startTokenCalls,
} from './browser-harness.js';

let bundle: string;
let browser: Browser;
let server: TestServer | null = null;
let origin: Origin | null = null;

beforeAll(async () => {
  bundle = await bundleForBrowser(new URL('../src/index.ts', import.meta.url));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await origin?.close();
  origin = null;
  await server?.close();
  server = null;
});

describe('the client in chromium', () => {
  it.each([
    ['Web Locks and BroadcastChannel', false],
    ['a localStorage lease and storage events (no Web Locks, no BroadcastChannel)', true],
  ])('two tabs of one origin, 20 concurrent getAccessToken() each on a due token: one refresh, one new token, with %s', async (_, legacy) => {
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
      await startHidden(context);
      if (legacy) {
        await context.addInitScript(() => {
          Reflect.deleteProperty(globalThis, 'BroadcastChannel');
          Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
        });
      }
      const [first, second] = [await context.newPage(), await context.newPage()];
      await openClient(first, origin.url, 60);
      await openClient(second, origin.url, 60);
      const features = await first.evaluate(() => ({ channel: typeof BroadcastChannel, locks: typeof navigator.locks }));
      expect(features).toEqual(legacy ? { channel: 'undefined', locks: 'undefined' } : { channel: 'function', locks: 'object' });

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

  it.each([
    ['ahead', 10],
    ['behind', -10],
  ])('a page whose clock is 10 minutes %s refreshes on time on server time, never loops and never sends an expired token', async (_, minutes) => {
    // 5-minute tokens, shorter than the page's error: a client on the device clock would loop (ahead)
    // or sit on an expired token for ten minutes (behind).
    const clock = new FastForwardClock();
    server = await startServer({ clock, scheduler: clock, config: { flows: { short: { access_token_ttl: 300 } } } });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url, 'short');

    const context = await browser.newContext();
    try {
      // The page's clock is the server's, moved with it, ten minutes off.
      await context.clock.install({ time: clock.now() + minutes * 60 * 1000 });
      const page = await context.newPage();
      await openClient(page, origin.url, leeway);
      const shift = (await page.evaluate(() => Date.now())) - clock.now();
      expect(Math.abs(shift - minutes * 60 * 1000)).toBeLessThan(5000);

      const tokens = await concurrentTokens(page, 5, grant);
      expect(tokens).toEqual([grant.access_token]);
      // Leeway 60 s: each token is refreshed 4 minutes after it was issued, on the server's clock;
      // not before (ahead, a device-clock client would have refreshed already, and again and again).
      await passTime(context, clock, 200);
      await page.waitForTimeout(300);
      expect(origin.count(refreshPath)).toBe(0);
      await passTime(context, clock, 45);
      await page.waitForFunction(refreshedAtLeast, 1, { timeout: 10_000 });
      await passTime(context, clock, 245);
      await page.waitForFunction(refreshedAtLeast, 2, { timeout: 10_000 });
      // Once per token, never in a loop.
      await page.waitForTimeout(1000);
      expect(origin.count(refreshPath)).toBe(2);

      const current = (await concurrentTokens(page, 1))[0];
      const checked = await call(`${server.url}/v1/session`, { token: current });
      expect(checked.status).toBe(200);
      expect(await heard(page)).not.toContainEqual(expect.objectContaining({ name: 'error' }));
    } finally {
      await context.close();
    }
  });

  it('a hidden page made visible after its token expired refreshes before its next API call', async () => {
    const clock = new FastForwardClock();
    server = await startServer({ clock, scheduler: clock });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url);

    const context = await browser.newContext();
    try {
      await startHidden(context);
      await context.clock.install({ time: clock.now() });
      const page = await context.newPage();
      await openClient(page, origin.url, leeway);
      await concurrentTokens(page, 1, grant);
      // Hidden for a quarter of an hour: no refresh keeps the session alive in the background, so the
      // token it holds runs out (a refresh in the background would push its exp on).
      await passTime(context, clock, 905);
      await heldTokenRunOut(page);
      const before = origin.paths().length;
      expect((await call(`${server.url}/v1/session`, { token: grant.access_token })).body).toMatchObject({ error: 'token_expired' });

      await setPageVisible(page, true);
      await page.waitForFunction(() => ((globalThis as Record<string, unknown>).heard as { name: string }[]).some((each) => each.name === 'refreshed'));
      const status = await page.evaluate(async () => {
        const client = (globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient;
        return (await client.fetch('/v1/session')).status;
      });
      expect(status).toBe(200);
      // The refresh on waking comes first; any later one is the scheduler's, never the API call's retry.
      const after = origin.paths().slice(before);
      expect(after[0]).toBe(refreshPath);
      expect(after.at(-1)).toBe('/v1/session');
      expect(after.filter((path) => path === '/v1/session')).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  // Issue 12: a tab opened later with storage that keeps no refresh token could not refresh, and
  // while the first tab was hidden nothing happened at all (0 refreshes, no callback).
  it('a tab opened after the token ran out, while the only tab holding the refresh token is hidden, lives: the hidden tab refreshes for it', async () => {
    const clock = new FastForwardClock();
    server = await startServer({ clock, scheduler: clock });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url);

    const context = await browser.newContext();
    try {
      await startHidden(context);
      await context.clock.install({ time: clock.now() });
      const first = await context.newPage();
      await openClient(first, origin.url, { leeway, storage: 'local' });
      await concurrentTokens(first, 1, grant);
      // Hidden, the holder does not keep the session alive on its own: its token runs out.
      await passTime(context, clock, 905);
      await heldTokenRunOut(first);
      const before = origin.count(refreshPath);
      const refreshedBefore = (await heard(first)).filter((each) => each.name === 'refreshed').length;

      // A new tab reads the spent access token back from localStorage, without a refresh token.
      const second = await context.newPage();
      await openClient(second, origin.url, { leeway, storage: 'local' });
      const [token] = await concurrentTokens(second, 1);
      expect(token).not.toBe(grant.access_token);
      expect((await call(`${server.url}/v1/session`, { token })).status).toBe(200);
      expect(origin.count(refreshPath) - before).toBe(1);
      expect(await heard(second)).not.toContainEqual(expect.objectContaining({ name: 'error' }));
      // The holder, hidden, made that refresh (it tells the other tabs first, then takes the tokens itself).
      await first.waitForFunction(
        (seen) => ((globalThis as Record<string, unknown>).heard as { name: string }[]).filter((each) => each.name === 'refreshed').length > seen,
        refreshedBefore,
      );
      expect(origin.count(refreshPath) - before).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('a revocation from elsewhere reaches onSessionRevoked with its reason, once in each tab', async () => {
    server = await startServer();
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url);
    const elsewhere = await signIn(server.url);

    const context = await browser.newContext();
    try {
      const [first, second] = [await context.newPage(), await context.newPage()];
      await openClient(first, origin.url, 60);
      await openClient(second, origin.url, 60);
      await concurrentTokens(first, 1, grant);
      await second.waitForFunction(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state === 'active');

      // The user signs out everywhere else from another device.
      const others = await call(`${server.url}/v1/session/logout-others`, { method: 'POST', token: elsewhere.access_token });
      expect(others.status).toBe(200);

      const status = await first.evaluate(async () => {
        const client = (globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient;
        return (await client.fetch('/v1/session')).status;
      });
      expect(status).toBe(401);
      await second.waitForFunction(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state === 'ended');
      for (const page of [first, second]) {
        expect(await heard(page)).toEqual([
          { name: 'revoked', detail: 'signed_out_elsewhere' },
          { name: 'closed', detail: 'session_revoked' },
        ]);
        expect(await page.evaluate(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state)).toBe('ended');
      }
      // Revoked by an admin: the reason says so.
      const third = await context.newPage();
      const again = await signIn(server.url);
      await openClient(third, origin.url, 60);
      await first.close();
      await second.close();
      await concurrentTokens(third, 1, again);
      expect((await call(`${server.url}/v1/sessions/${again.session?.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
      await third.evaluate(async () => {
        const client = (globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient;
        await client.fetch('/v1/session');
      });
      expect(await heard(third)).toEqual([
        { name: 'revoked', detail: 'admin' },
        { name: 'closed', detail: 'session_revoked' },
      ]);
    } finally {
      await context.close();
    }
  });

  it('the server out of reach for a while: silent_auth_failed once, retries, then recovery without a sign-out', async () => {
    const clock = new FastForwardClock();
    server = await startServer({ clock, scheduler: clock });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url);

    const context = await browser.newContext();
    try {
      await context.clock.install({ time: clock.now() });
      const page = await context.newPage();
      await openClient(page, origin.url, { leeway, retry: { initialDelay: 0.2, maxDelay: 0.5 } });
      await concurrentTokens(page, 1, grant);
      origin.setDown(true);
      // The token comes due with the server out of reach: the refresh and its retries fail.
      await passTime(context, clock, dueIn);
      await expect.poll(() => origin!.refused(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      await page.waitForTimeout(1000);
      expect(await heard(page)).toEqual([{ name: 'error', detail: 'silent_auth_failed' }]);
      // Retried with backoff (0.2 s, then up to 0.5 s, with jitter), not once and not in a tight loop.
      expect(origin.refused()).toBeLessThan(30);
      expect(await page.evaluate(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state)).not.toBe('ended');
      // Past the token's exp, a caller gets the failure, not the expired token.
      await passTime(context, clock, 60);
      const failure = await page.evaluate(async () => {
        const client = (globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient;
        return client.getAccessToken().then(
          () => null,
          (error: { code?: string }) => error.code ?? 'unknown',
        );
      });
      expect(failure).toBe('silent_auth_failed');

      origin.setDown(false);
      await page.waitForFunction(refreshedAtLeast, 1, { timeout: 5000 });
      const token = (await concurrentTokens(page, 1))[0];
      expect((await call(`${server.url}/v1/session`, { token })).status).toBe(200);
      const names = (await heard(page)).map((each) => each.name);
      expect(names).not.toContain('closed');
      expect(names.filter((name) => name === 'error')).toHaveLength(1);
      // Recovery is one refresh, not a burst of the retries that piled up while the server was away:
      // the next is due 14 minutes on.
      await page.waitForTimeout(1000);
      expect(origin.count(refreshPath)).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('worker mode: hidden pages share one session in a SharedWorker that keeps it fresh in the background', async () => {
    server = await startServer({ clock: { now: () => Date.now() }, config: { flows: { short: { access_token_ttl: 2 } } } });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url, 'short');

    const context = await browser.newContext();
    try {
      await startHidden(context);
      const pages = [await context.newPage(), await context.newPage()];
      for (const page of pages) {
        await page.goto(`${origin.url}/`);
        await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
        await page.waitForFunction(() => 'tesseraLib' in globalThis);
        await page.evaluate(() => {
          const scope = globalThis as Record<string, unknown>;
          const { connectSessionWorker } = scope.tesseraLib as typeof import('../src/index.js');
          const heard: string[] = [];
          scope.heard = heard;
          const worker = new SharedWorker('/session-worker.js?leeway=1', { type: 'module' });
          scope.tessera = connectSessionWorker(worker.port as unknown as import('../src/index.js').MessagePortLike, {
            handler: { onSessionRefreshed: (event) => heard.push(`refreshed:${event.accessToken}`), onSessionClosed: (cause) => heard.push(`closed:${cause}`) },
          });
        });
      }
      const [first, second] = pages as [Page, Page];
      await first.evaluate((grant) => ((globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient).setSession(grant), grant);
      // The second page never set a session: its ten calls share one token of the first page's
      // session, from the worker. (The grant's own token, or on a busy machine that let its 1 s lead
      // pass, the worker's first refresh of it: the same session either way.)
      const shared = await concurrentTokens(second, 10);
      expect(shared).toHaveLength(1);
      expect(sessionIdOf(shared[0]!)).toBe(grant.session!.id);

      // Both pages are hidden; the worker is not a page and refreshes each 2 s token 1 s before its
      // exp (whole seconds on the server's clock): about once a second, never in a loop.
      const before = origin.count(refreshPath);
      await first.waitForTimeout(3000);
      const refreshes = origin.count(refreshPath) - before;
      expect(refreshes).toBeGreaterThanOrEqual(2);
      expect(refreshes).toBeLessThanOrEqual(6);
      const [fromFirst, fromSecond] = await Promise.all([concurrentTokens(first, 20), concurrentTokens(second, 20)]);
      expect(fromFirst).toHaveLength(1);
      expect(fromSecond).toHaveLength(1);
      // The worker refreshes about once a second, so one may land between the two pages' reads: the
      // pages may hold consecutive tokens, but both are live tokens of the one session.
      const checked = await Promise.all([fromFirst[0], fromSecond[0]].map((token) => call(`${server!.url}/v1/session`, { token })));
      expect(checked.map((answer) => answer.status)).toEqual([200, 200]);
      expect(checked.map((answer) => answer.body.session.id)).toEqual([grant.session!.id, grant.session!.id]);
      // Every refresh the worker made was told to both pages, once (the worker keeps refreshing each
      // second: the newest may still be on its way to a page as this reads).
      for (const page of pages) {
        const madeBefore = origin.count(refreshPath);
        const events = (await page.evaluate(() => (globalThis as Record<string, unknown>).heard)) as string[];
        const madeAfter = origin.count(refreshPath);
        const told = events.filter((event) => event.startsWith('refreshed:'));
        expect(new Set(told).size).toBe(told.length);
        expect(told.length).toBeGreaterThanOrEqual(madeBefore - 1);
        expect(told.length).toBeLessThanOrEqual(madeAfter);
      }
    } finally {
      await context.close();
    }
  });

  it('cookie mode, cross-origin with CORS: the SDK moves the refresh token into the HttpOnly cookie, refreshes from it and keeps none', async () => {
    origin = await startOrigin('http://127.0.0.1:9', bundle);
    // Secure cookies need HTTPS outside localhost; the attribute is checked over HTTP in the server's cookie tests.
    const clock = new FastForwardClock();
    server = await startServer({
      clock,
      scheduler: clock,
      config: { cors: { origins: [origin.url] }, cookie: { enabled: true, secure: false, refresh_token_in_body: false } },
    });
    const grant = await signIn(server.url);

    const context = await browser.newContext();
    try {
      await context.clock.install({ time: clock.now() });
      const page = await context.newPage();
      await page.goto(`${origin.url}/`);
      await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
      await page.waitForFunction(() => 'tesseraLib' in globalThis);
      await page.evaluate(
        ({ baseUrl, grant }) => {
          const scope = globalThis as Record<string, unknown>;
          const { createSessionClient, sessionStorageAdapter } = scope.tesseraLib as typeof import('../src/index.js');
          const bodies: string[] = [];
          const refreshed: string[] = [];
          Object.assign(scope, { bodies, refreshed });
          const client = createSessionClient({
            baseUrl,
            leeway: 60,
            refreshTokenInCookie: true,
            // Even allowed to persist a refresh token, the client has none to persist in cookie mode.
            storage: sessionStorageAdapter({ persistRefreshToken: true }),
            fetch: async (input, init) => {
              if (String(input).endsWith('/v1/token/refresh')) bodies.push(String(init?.body));
              return fetch(input, init);
            },
            handler: { onSessionRefreshed: (event) => refreshed.push(event.accessToken) },
          });
          scope.tessera = client;
          client.setSession(grant);
        },
        { baseUrl: server.url, grant },
      );
      // The first refresh, at once, moves the token into the cookie; the next ones, each when its
      // token is due, present only the cookie.
      for (let refreshes = 1; refreshes <= 3; refreshes++) {
        if (refreshes > 1) await passTime(context, clock, dueIn);
        await page.waitForFunction((count) => ((globalThis as Record<string, unknown>).refreshed as string[]).length >= count, refreshes, { timeout: 10_000 });
      }
      const bodies = (await page.evaluate(() => (globalThis as Record<string, unknown>).bodies)) as string[];
      expect(bodies[0]).toBe(JSON.stringify({ refresh_token: grant.refresh_token }));
      expect(bodies.slice(1).every((body) => body === '{}')).toBe(true);
      const cookies = await context.cookies(`${server.url}/v1/token/refresh`);
      expect(cookies).toEqual([expect.objectContaining({ name: 'tessera_refresh', httpOnly: true, sameSite: 'Strict' })]);
      expect(await page.evaluate(() => document.cookie)).toBe('');
      const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
      expect(stored).toContain('access');
      expect(stored).not.toContain('rt_');

      const token = (await concurrentTokens(page, 5))[0];
      expect((await call(`${server.url}/v1/session`, { token })).status).toBe(200);

      // Logout clears the cookie in the browser.
      await page.evaluate(() => ((globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient).logout());
      expect(await context.cookies(`${server.url}/v1/token/refresh`)).toEqual([]);
      expect((await call(`${server.url}/v1/session`, { token })).body).toMatchObject({ error: 'session_revoked', details: [{ reason: 'logout' }] });
    } finally {
      await context.close();
    }
  });
});

/** The session id (`sid`) an access token names, read from its payload (the server checks the signature elsewhere). */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid: string }).sid;
}
