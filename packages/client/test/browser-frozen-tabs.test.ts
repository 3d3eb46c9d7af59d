// Tabs that freeze, close or crash, in a real browser (Debian chromium via playwright-core), against the
// real server: split from browser.test.ts so the two suites run side by side.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FastForwardClock } from '../../server/src/core/clock.js';
import { launchChromium } from '../../server/test/chromium.js';
import { call, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';
import { bundleForBrowser } from './browser-bundle.js';
import {
  concurrentTokens,
  dueIn,
  heard,
  leeway,
  type Origin,
  openClient,
  passTime,
  passTimeIn,
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

/** Removes `BroadcastChannel` and Web Locks from every page of `context`: the lease and storage-event fallback. */
async function withoutLocksAndChannel(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    Reflect.deleteProperty(globalThis, 'BroadcastChannel');
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
  });
}

async function stateOf(page: Page): Promise<string> {
  return page.evaluate(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state);
}

/** The session's status on the server, read with the management API. */
async function sessionStatus(sessionId: string): Promise<{ status: string; revoked_reason: string | null }> {
  const read = await call(`${server!.url}/v1/sessions/${sessionId}`, { token: testApiKey });
  return read.body as { status: string; revoked_reason: string | null };
}

/** The session is active on the server, and every page holds it, unrevoked, with a token the server accepts. */
async function expectAliveIn(sessionId: string, pages: readonly Page[]): Promise<void> {
  expect(await sessionStatus(sessionId)).toMatchObject({ status: 'active' });
  for (const page of pages) {
    expect(await heard(page)).not.toContainEqual(expect.objectContaining({ name: 'revoked' }));
    expect(await stateOf(page)).not.toBe('ended');
    const token = (await concurrentTokens(page, 1))[0];
    expect((await call(`${server!.url}/v1/session`, { token })).status).toBe(200);
  }
}

/**
 * Freezes `page` until the returned function is called: no script runs, timers and messages wait.
 * `Page.setWebLifecycleState` freezes only hidden pages, and headless pages are never hidden, so the
 * page's script is paused in the debugger instead, which holds it the same way (its locks stay held).
 * Its clock cannot be moved while it sleeps: thawed, it jumps by `seconds`, the time the server and
 * the other pages went through meanwhile, as a frozen tab finds the time moved on when it wakes.
 */
async function freeze(context: BrowserContext, page: Page): Promise<(seconds?: number) => Promise<void>> {
  const cdp = await context.newCDPSession(page);
  const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()));
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  // The pause takes hold at the next script that runs: one runs now, so the page is held on return.
  void cdp.send('Runtime.evaluate', { expression: 'void 0' }).catch(() => {});
  await paused;
  return async (seconds = 0) => {
    const resumed = cdp.send('Debugger.resume');
    // Sent right behind the resume, as `passTimeIn` moves a page: its late timers fire on the moved clock.
    const moved =
      seconds > 0 ? cdp.send('Runtime.evaluate', { expression: `globalThis.__pwClock.controller.fastForward(${seconds * 1000})`, awaitPromise: true }) : null;
    await resumed;
    expect((await moved)?.exceptionDetails).toBeUndefined();
    await cdp.send('Debugger.disable');
    await cdp.detach();
  };
}

/** The server on `clock`, its time and its timers; each test installs the context's clock at `clock.now()` before its first page. */
async function startOnClock(clock: FastForwardClock, config: Record<string, unknown> = {}): Promise<TestServer> {
  return startServer({ clock, scheduler: clock, config });
}

/**
 * Two tabs of one session on the server's `clock`: the first in the background, the second visible,
 * whose scheduled refresh (once time has passed to its due time) has reached the proxy and is held
 * there, under the second tab's lock, until `release()`.
 */
async function twoTabsRefreshHeldAtProxy(context: BrowserContext, clock: FastForwardClock) {
  await startHidden(context);
  await context.clock.install({ time: clock.now() });
  const [first, second] = [await context.newPage(), await context.newPage()];
  await openClient(first, origin!.url, { leeway });
  await openClient(second, origin!.url, { leeway });
  await setPageVisible(second, true);
  const grant = await signIn(server!.url);
  const release = origin!.holdRefreshes();
  await startTokenCalls(second, 0, grant);
  await first.waitForFunction(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state !== 'signed_out');
  await passTime(context, clock, dueIn);
  await expect.poll(() => origin!.arrivedRefreshes(), { timeout: 10_000 }).toBe(1);
  return { first, second, sessionId: grant.session!.id, release };
}

describe('tabs that freeze, close or crash never log each other out', () => {
  // Chromium drops the BroadcastChannel messages sent to a frozen page: with no refresh token in
  // shared storage, the tab learns its token is spent only from the fingerprints the others note.
  // (localStorage holding the refresh token, and the storage events of the fallback, reach it anyway.)
  it.each([
    ['Web Locks and BroadcastChannel', 'memory', false],
    ['Web Locks and BroadcastChannel', 'local', false],
    ['a localStorage lease and storage events', 'memory', true],
  ] as const)(
    'a tab frozen while another rotates the token past reuse_interval recovers without presenting a spent token (%s, %s storage)',
    async (_, storage, legacy) => {
      const clock = new FastForwardClock();
      server = await startOnClock(clock);
      origin = await startOrigin(server.url, bundle);
      const grant = await signIn(server.url);
      const sessionId = grant.session!.id;

      const context = await browser.newContext();
      try {
        if (legacy) await withoutLocksAndChannel(context);
        // The frozen tab is a background tab, as the ones browsers freeze are: it does not refresh on
        // its own, so it is not paused in the middle of a refresh, holding the lock (or lease) the
        // first tab needs. (Visible, it raced the first tab for each refresh and sometimes won just
        // before the pause: 0 refreshes in 7 s, seen under CI load.)
        await startHidden(context);
        await context.clock.install({ time: clock.now() });
        const [first, second] = [await context.newPage(), await context.newPage()];
        await openClient(first, origin.url, { leeway, storage });
        await openClient(second, origin.url, { leeway, storage });
        await setPageVisible(first, true);
        await concurrentTokens(first, 1, grant);
        await second.waitForFunction(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state === 'active');

        const thaw = await freeze(context, second);
        const before = origin.count(refreshPath);
        // The first tab rotates the token at each due time, three times, past reuse_interval many
        // times over; the frozen one hears none of it.
        for (let rotations = 1; rotations <= 3; rotations++) {
          await passTimeIn([first], clock, dueIn);
          // Rotated when the page has the answer: time moved while it is in flight would be lost to it.
          await first.waitForFunction(refreshedAtLeast, rotations, { timeout: 10_000 });
        }
        expect(origin.count(refreshPath) - before).toBeGreaterThanOrEqual(3);
        await thaw(3 * dueIn);
        // What the thawed tab does on its late timers reaches the server well within this.
        await second.waitForTimeout(1000);
        // What the tabs share in localStorage names spent tokens by fingerprint only, never a refresh token.
        expect(await first.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('rt_');

        await expectAliveIn(sessionId, [first, second]);
      } finally {
        await context.close();
      }
    },
  );

  // Web Locks only: a lease expires while its holder is frozen, and the tab that takes it over
  // presents the token the frozen one had sent (the price of surviving a holder that died).
  it('a tab frozen while its refresh is in flight, past reuse_interval and the request timeout, takes its answer and does not present the spent token again', async () => {
    const clock = new FastForwardClock();
    server = await startOnClock(clock);
    origin = await startOrigin(server.url, bundle);

    const context = await browser.newContext();
    try {
      const { first, second, sessionId, release } = await twoTabsRefreshHeldAtProxy(context, clock);
      // The second tab's refresh waits at the proxy, under the lock; the page freezes.
      const thaw = await freeze(context, second);
      // The server rotates the token; the answer waits for a page that sleeps past reuse_interval,
      // the 10 s request timeout and the tokens' exp.
      release();
      await expect.poll(() => origin!.count(refreshPath), { timeout: 10_000 }).toBe(1);
      // The first tab needs a token meanwhile: its copy is due, the frozen second holds the lock.
      const fromFirst = await startTokenCalls(first, 1);
      const asleep = 120;
      await passTimeIn([first], clock, asleep);
      await thaw(asleep);
      // The first tab waited for the lock and got the tokens the second brought back.
      expect(await fromFirst.collect()).toHaveLength(1);
      // A thawed tab that gave up on its answer would present the spent token again on its retry
      // (a second or so later): let that time pass too, and its request reach the server.
      await passTime(context, clock, 5);
      await second.waitForTimeout(1000);

      await expectAliveIn(sessionId, [first, second]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it.each([
    ['closed', 'Web Locks and BroadcastChannel', false],
    ['crashed', 'Web Locks and BroadcastChannel', false],
    ['crashed', 'a localStorage lease and storage events', true],
  ] as const)(
    'a tab %s while it holds the lock mid-refresh: the other takes over and the session lives (%s)',
    async (how, _, legacy) => {
      const clock = new FastForwardClock();
      server = await startOnClock(clock);
      origin = await startOrigin(server.url, bundle);

      const context = await browser.newContext();
      try {
        if (legacy) await withoutLocksAndChannel(context);
        const { first, second, sessionId, release } = await twoTabsRefreshHeldAtProxy(context, clock);
        // The second tab's refresh waits at the proxy, under the lock; then the tab goes away.
        if (how === 'closed') await second.close();
        else {
          // The renderer dies without answering.
          const crashed = new Promise<void>((resolve) => second.once('crash', () => resolve()));
          void (await context.newCDPSession(second)).send('Page.crash').catch(() => {});
          await crashed;
        }

        // The first tab needs a token: it takes the lock (or, once it expires, the lease) and presents the token.
        const fromFirst = await startTokenCalls(first, 1);
        // The lease a dead tab held runs out 10 s on (a lock is freed at once): past it, within
        // reuse_interval. Only the live page is moved: the context's clock evaluates in every page, a crashed one too.
        await passTimeIn([first], clock, 11);
        await expect.poll(() => origin!.arrivedRefreshes(), { timeout: 10_000 }).toBe(2);
        release();
        const tokens = await fromFirst.collect();
        expect(tokens).toHaveLength(1);
        expect((await call(`${server.url}/v1/session`, { token: tokens[0] })).status).toBe(200);
        expect(await sessionStatus(sessionId)).toMatchObject({ status: 'active' });
        expect(await heard(first)).not.toContainEqual(expect.objectContaining({ name: 'revoked' }));
      } finally {
        await context.close();
      }
    },
    60_000,
  );

  it('cookie mode: a tab frozen from the sign-in while another moves the token into the cookie and rotates it recovers without presenting the grant again', async () => {
    const clock = new FastForwardClock();
    origin = await startOrigin('http://127.0.0.1:9', bundle);
    server = await startOnClock(clock, {
      cors: { origins: [origin.url] },
      cookie: { enabled: true, secure: false, refresh_token_in_body: false },
    });
    const grant = await signIn(server.url);
    const sessionId = grant.session!.id;

    const context = await browser.newContext();
    try {
      // The second tab is in the background, as a tab the browser freezes is: it never refreshes on
      // its own, so it is not frozen in the middle of one, holding the lock the first tab needs.
      await startHidden(context);
      await context.clock.install({ time: clock.now() });
      const [first, second] = [await context.newPage(), await context.newPage()];
      await openClient(first, origin.url, { leeway, refreshTokenInCookie: true, baseUrl: server.url });
      await openClient(second, origin.url, { leeway, refreshTokenInCookie: true, baseUrl: server.url });
      await setPageVisible(first, true);
      await concurrentTokens(first, 1, grant);
      await second.waitForFunction(() => ((globalThis as Record<string, unknown>).tessera as { state: string }).state === 'active');

      // The second tab still holds the grant's refresh token, which the first presents once to move
      // it into the cookie; then the first rotates the cookie's token at each due time, three times.
      const thaw = await freeze(context, second);
      await first.waitForFunction(refreshedAtLeast, 1, { timeout: 10_000 });
      let asleep = 0;
      for (let refreshes = 2; refreshes <= 4; refreshes++) {
        await passTimeIn([first], clock, dueIn);
        asleep += dueIn;
        await first.waitForFunction(refreshedAtLeast, refreshes, { timeout: 10_000 });
      }
      await thaw(asleep);
      // What the thawed tab does on its late timers reaches the server well within this.
      await second.waitForTimeout(1000);

      await expectAliveIn(sessionId, [first, second]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("worker mode: a page frozen while its getAccessToken() waits on the worker's refresh gets the answer when thawed, and the session lives", async () => {
    server = await startServer({ clock: { now: () => Date.now() }, config: { flows: { short: { access_token_ttl: 2, reuse_interval: 2 } } } });
    origin = await startOrigin(server.url, bundle);

    const context = await browser.newContext();
    try {
      const pages = [await context.newPage(), await context.newPage()];
      for (const page of pages) {
        await page.goto(`${origin.url}/`);
        await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
        await page.waitForFunction(() => 'tesseraLib' in globalThis);
        await page.evaluate(() => {
          const scope = globalThis as Record<string, unknown>;
          const { connectSessionWorker } = scope.tesseraLib as typeof import('../src/index.js');
          const worker = new SharedWorker('/session-worker.js?leeway=1', { type: 'module' });
          scope.tessera = connectSessionWorker(worker.port as unknown as import('../src/index.js').MessagePortLike);
        });
      }
      const [first, second] = pages as [Page, Page];
      const grant = await signIn(server.url, 'short');
      const sessionId = grant.session!.id;
      const release = origin.holdRefreshes();
      await startTokenCalls(first, 0, grant);
      // The worker's refresh (about a second after issue) waits at the proxy; the second page asks for a token meanwhile.
      await expect.poll(() => origin!.arrivedRefreshes(), { timeout: 10_000 }).toBe(1);
      const pending = await startTokenCalls(second, 1);
      const thaw = await freeze(context, second);
      release();
      // The worker keeps refreshing while the page is frozen, past reuse_interval.
      await expect.poll(() => origin!.count(refreshPath), { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
      await thaw();
      const [token] = await pending.collect();
      expect(token).not.toBe(grant.access_token);
      const fresh = (await concurrentTokens(second, 1))[0];
      expect((await call(`${server.url}/v1/session`, { token: fresh })).status).toBe(200);
      expect(await sessionStatus(sessionId)).toMatchObject({ status: 'active' });
      // The worker refreshes each 2 s token about once a second in real time: a read may land inside one.
      expect(['active', 'refreshing']).toContain(await stateOf(second));
    } finally {
      await context.close();
    }
  }, 60_000);
});
