// The journeys' shared ground: the example app (Tessera on a temp SQLite folder, the demo backend,
// the built page) started per test, one Chromium per file, a log of every refresh the browser sends,
// and the two outcomes a journey may end in (the session lives, or the notice is shown). Each
// journey file calls `useJourneys()` once. Screenshots of notices land in test-artifacts/journeys/.
//
// Time: Tessera, the demo backend and every tab share one clock that runs with the wall clock and
// that the journey moves forward (a `FastForwardClock` on the server, Playwright's clock in the
// browser), so tokens of half a minute run out in a second or two of the test, and a busy machine
// slows the journey down instead of letting tokens run out under it. A journey that freezes a tab
// cannot move the browser's clock (the frozen page would never answer) and runs on real time.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FastForwardClock } from '@tessera/server';
import { type Browser, type BrowserContext, type BrowserContextOptions, type CDPSession, chromium, type Page, type Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { chromiumArgs, findChromium, fullChromiumPaths, launchChromium } from '../../../server/test/chromium.js';
import { testPort } from '../../../server/test/ports.js';
import { type RunningExample, startExample } from '../../server/start.js';
import type { Outcome, StorageMode } from './outcomes.js';

/** How a journey file's time goes: moved forward by the journey, or the wall clock's own. */
export type JourneyTime = 'fast-forward' | 'real';

/** Access-token lifetime of the demo flow per kind of time: the page refreshes them at half-life (see `refreshLead`). */
const tokenTtls: Record<JourneyTime, number> = { 'fast-forward': 30, real: 4 };
/**
 * Seconds before expiry at which the page refreshes a token of `tokenTtl` seconds: at half its life
 * for the journeys' tokens, when its socket hears `token_expiring` (sent a minute before expiry,
 * capped at half the life), ahead of the client's own leeway of 10 s (also capped at half the life).
 */
export function refreshLead(tokenTtl: number): number {
  return Math.min(60, tokenTtl / 2);
}

/** Seconds the clock moves at each look at the page while a journey waits for something. */
const tickSeconds = 3;
/** A test's own time limit, under a busy CI. */
export const journeyTimeout = 60_000;

const artifacts = fileURLToPath(new URL('../../../../test-artifacts/journeys/', import.meta.url));
const builtPage = fileURLToPath(new URL('../../dist/web/index.html', import.meta.url));
const refreshPath = '/v1/token/refresh';
const refreshCookie = 'tessera_refresh';

/**
 * Console errors a journey may cause on purpose: Chromium logs each refused request (401, 400, a
 * connection refused while Tessera is down) and each socket that could not connect. Anything else,
 * and every uncaught exception, fails the test.
 */
const expectedConsoleErrors = [/^Failed to load resource: /, /^WebSocket connection to '.*' failed/, /net::ERR_/];

/** One refresh request the browser sent, as seen from the browser. */
export interface RefreshRecord {
  readonly page: Page | null;
  /** On the journey's clock, as are all the times here. */
  readonly sentAt: number;
  /** The refresh token it presented: the body's, else the cookie's; null until read, or when neither. */
  presented: string | null;
  /** The HTTP status, 'failed' (no answer: refused, cancelled), or null while in flight. */
  status: number | 'failed' | null;
  answeredAt: number | null;
}

/**
 * One call the page makes on its access token besides refreshing: the "Your sessions" card's list
 * (`GET /v1/session/sessions`), or the demo backend's own API (`GET /demo/my-sessions`).
 */
const apiPaths = new Set(['/v1/session/sessions', '/demo/my-sessions']);
/** One such call. */
interface ApiCall {
  readonly page: Page | null;
  readonly sentAt: number;
  status: number | 'failed' | null;
}

/** What the page shows, read from its DOM. */
export type Observation =
  | { readonly kind: 'notice'; readonly code: string | null }
  | { readonly kind: 'dashboard'; readonly sessionId: string | null; readonly tokenExpired: boolean }
  | { readonly kind: 'sign-in' }
  | { readonly kind: 'loading' };

export interface Journeys {
  readonly example: RunningExample;
  /** Access-token lifetime of the demo flow, in seconds. */
  readonly tokenTtl: number;
  /** The journey's time (ms since the epoch): Tessera's, and the tabs' unless a journey shifts their clock. */
  now(): number;
  /**
   * Lets `seconds` pass: the clock jumps forward in steps of a few seconds, each followed by the
   * refreshes it set off being answered; on real time, a sleep.
   */
  passTime(seconds: number): Promise<void>;
  /**
   * Polls `read` as `expect.poll` does, moving the clock a step before each look (on real time, only
   * the poll's own interval passes): the journey waits for what the page does as time goes on.
   */
  poll<T>(read: () => T | Promise<T>, options?: { timeout?: number; message?: string }): ReturnType<typeof expect.poll<T>>;
  /** The test's browser profile: tabs of one origin, sharing storage, cookies, locks and channels. */
  readonly context: BrowserContext;
  /** Every refresh request of every watched context, in order. */
  readonly refreshes: RefreshRecord[];
  /** A new tab of `context` (or `into`) on the example page in `mode`, watched for errors. */
  openTab(mode: StorageMode, into?: BrowserContext): Promise<Page>;
  /** Records refreshes and API calls of `context`, and fails the test on its pages' uncaught errors. */
  watch(context: BrowserContext): void;
  /** A browser profile kept in a folder: closed and launched again, it is the same browser after a restart. */
  launchPersistent(userDataDir: string): Promise<BrowserContext>;
  /** Another device: a browser profile of its own (e.g. with its own `userAgent`), watched, on the journey's clock. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Asserts `outcome` on `page` within a bounded time; `since`: when the journey's event happened. */
  expectOutcome(page: Page, outcome: Outcome, expected: { sessionId: string; since: number; name: string; timeout?: number }): Promise<void>;
  /** The session lives in `page`: see `Outcome`. */
  expectLives(page: Page, expected: { sessionId: string; since: number; timeout?: number }): Promise<void>;
  /**
   * Freezes `page` until the test ends (or the returned function is called): its script paused in
   * the debugger, which holds it as a frozen background tab is held (no timers, no messages handled,
   * its locks kept). `Page.setWebLifecycleState` does not freeze a visible headless page.
   */
  freeze(page: Page): Promise<() => Promise<void>>;
  /**
   * Holds the answers to `page`'s refresh requests: each reaches Tessera (which rotates the token),
   * and its answer waits in the browser, unread by the page, as an answer still on the wire.
   * `arrived()` counts the answers held; `stop()` ends the interception (held answers are let go).
   */
  holdRefreshAnswers(page: Page): Promise<{ arrived(): number; stop(): Promise<void> }>;
  /** The session as Tessera's management API reads it. */
  sessionOnServer(sessionId: string): Promise<{ status: string; revoked_reason: string | null }>;
}

/**
 * Registers the hooks of a journey file and returns its world, valid inside tests. Tabs open in
 * Chromium's headless shell, or with `fullBrowser` in the desktop Chromium people run.
 */
export function useJourneys({ time = 'fast-forward', fullBrowser = false }: { time?: JourneyTime; fullBrowser?: boolean } = {}): Journeys {
  const tokenTtl = tokenTtls[time];
  let browser: Browser;
  let clock: FastForwardClock;
  /** The contexts whose clocks the journey moves. */
  let clocked: BrowserContext[] = [];
  let example: RunningExample;
  let context: BrowserContext;
  let dataDir: string;
  let refreshes: RefreshRecord[] = [];
  let apiCalls: ApiCall[] = [];
  let unexpected: string[] = [];
  /** Every tab opened in the test, in order: tab 1 is the first. */
  let tabs: Page[] = [];
  const extraContexts: BrowserContext[] = [];
  /** Thaws the pages still frozen, after a failing journey's screenshots show them as they were. */
  const thaws: (() => Promise<void>)[] = [];
  /** Refresh answers held on purpose: a step of time does not wait for them to settle. */
  let holding = 0;
  /** Every request of a watched context not yet answered or failed: a step of time waits for them. */
  const inFlight = new Set<Request>();

  beforeAll(async () => {
    if (!existsSync(builtPage)) throw new Error('the page is not built: npm run build');
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium({ full: fullBrowser });
  });

  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-journey-'));
    clock = new FastForwardClock();
    clocked = [];
    // Ports below the OS's ephemeral range: while Tessera is down for a restart, nothing else takes its port.
    example = await startExample({ tesseraPort: await testPort(), appPort: await testPort(), dataDir, demoAccessTokenTtl: tokenTtl, clock });
    refreshes = [];
    apiCalls = [];
    unexpected = [];
    tabs = [];
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    world.watch(context);
    if (time === 'fast-forward') await installClock(context);
  });

  afterEach(async (test) => {
    // JOURNEY_LOG=1 prints each test's refreshes, for reading a journey that fails.
    if (process.env.JOURNEY_LOG) console.log(test.task.name, describeRefreshes(refreshes, tabs));
    if (test.task.result?.state === 'fail') {
      // What each tab showed when the journey failed, beside the notices' screenshots.
      const name = `failed-${test.task.suite?.name ?? ''}-${test.task.name}`.replace(/[^A-Za-z0-9-]+/g, '-');
      const pages = [context, ...extraContexts].flatMap((each) => each.pages());
      for (const [index, page] of pages.entries()) {
        await page.screenshot({ path: join(artifacts, `${name}-tab${index + 1}.png`), fullPage: true, timeout: 3000 }).catch(() => {});
      }
    }
    for (const thaw of thaws.splice(0)) await thaw().catch(() => {});
    for (const extra of extraContexts.splice(0)) await extra.close().catch(() => {});
    await context?.close();
    await example?.close();
    rmSync(dataDir, { recursive: true, force: true });
    expect(unexpected, 'uncaught page exceptions and unexpected console errors').toEqual([]);
  });

  const world: Journeys = {
    get example() {
      return example;
    },
    get context() {
      return context;
    },
    get refreshes() {
      return refreshes;
    },
    tokenTtl,

    now: () => clock.now(),

    async passTime(seconds) {
      if (time === 'real') return sleep(seconds * 1000);
      for (let left = seconds; left > 0; left -= tickSeconds) await step(Math.min(left, tickSeconds));
    },

    poll(read, { timeout = 20_000, message } = {}) {
      return expect.poll(
        async () => {
          if (time === 'fast-forward') await step(tickSeconds);
          return read();
        },
        { timeout, interval: time === 'fast-forward' ? 25 : 200, ...(message ? { message } : {}) },
      );
    },

    async openTab(mode, into = context) {
      const page = await into.newPage();
      // A failing step fails well inside the test's own limit.
      page.setDefaultTimeout(10_000);
      await page.goto(`${example.appUrl}/?storage=${mode}`);
      return page;
    },

    watch(watched) {
      const records = new Map<Request, RefreshRecord>();
      const calls = new Map<Request, ApiCall>();
      watched.on('page', (page) => {
        tabs.push(page);
        page.on('pageerror', (error) => unexpected.push(`uncaught: ${error.message}`));
        page.on('console', (message) => {
          if (message.type() === 'error' && !expectedConsoleErrors.some((pattern) => pattern.test(message.text())))
            unexpected.push(`console: ${message.text()}`);
        });
      });
      watched.on('request', (request) => {
        inFlight.add(request);
        const path = new URL(request.url()).pathname;
        if (apiPaths.has(path) && request.method() === 'GET') {
          const call: ApiCall = { page: pageOf(request), sentAt: clock.now(), status: null };
          calls.set(request, call);
          apiCalls.push(call);
        }
        if (path !== refreshPath || request.method() !== 'POST') return;
        const record: RefreshRecord = { page: pageOf(request), sentAt: clock.now(), presented: null, status: null, answeredAt: null };
        records.set(request, record);
        refreshes.push(record);
        void presentedToken(request).then((token) => (record.presented = token));
      });
      watched.on('response', (response) => {
        const settled = records.get(response.request()) ?? calls.get(response.request());
        if (!settled) return;
        settled.status = response.status();
        if ('answeredAt' in settled) settled.answeredAt = clock.now();
      });
      watched.on('requestfailed', (request) => {
        inFlight.delete(request);
        const settled = records.get(request) ?? calls.get(request);
        if (settled) settled.status = 'failed';
      });
      watched.on('requestfinished', (request) => inFlight.delete(request));
    },

    async launchPersistent(userDataDir) {
      const persistent = await chromium.launchPersistentContext(userDataDir, {
        executablePath: fullBrowser ? findChromium(process.env, fullChromiumPaths) : findChromium(),
        args: [...chromiumArgs],
        viewport: { width: 1100, height: 900 },
      });
      extraContexts.push(persistent);
      world.watch(persistent);
      if (time === 'fast-forward') await installClock(persistent);
      return persistent;
    },

    async newContext(options = {}) {
      const created = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...options });
      extraContexts.push(created);
      world.watch(created);
      if (time === 'fast-forward') await installClock(created);
      return created;
    },

    async expectOutcome(page, outcome, { sessionId, since, name, timeout }) {
      switch (outcome.kind) {
        case 'lives':
          await world.expectLives(page, { sessionId, since, ...(timeout ? { timeout } : {}) });
          return;
        case 'notice':
          await expectNotice(page, outcome, { sessionId, name, timeout: timeout ?? (time === 'real' ? (tokenTtl + 8) * 1000 : 20_000) });
          return;
        case 'sign-in':
          await expectSignInForm(page, timeout ?? 10_000);
          return;
      }
    },

    async expectLives(page, { sessionId, since, timeout = 20_000 }) {
      // A refresh answered after the event (by any tab: they share it), the page on the same session
      // with a token not run out, and the app's API answering this page on a token from after it.
      await world
        .poll(
          async () => {
            const refreshedAt = refreshes.find((record) => record.sentAt >= since && record.status === 200)?.answeredAt ?? null;
            const apiAnswered = refreshedAt !== null && apiCalls.some((call) => call.page === page && call.sentAt >= refreshedAt && call.status === 200);
            return { shows: await observe(page), refreshedAfterEvent: refreshedAt !== null, apiAnsweredAfterRefresh: apiAnswered };
          },
          { timeout, message: 'the session lives: same session, refreshed after the event, the app API accepts its token' },
        )
        .toEqual({ shows: { kind: 'dashboard', sessionId, tokenExpired: false }, refreshedAfterEvent: true, apiAnsweredAfterRefresh: true });
      expect(await world.sessionOnServer(sessionId)).toMatchObject({ status: 'active', revoked_reason: null });
      expect(presentedAfterSuccess(refreshes), 'refresh tokens presented again after a 200').toEqual([]);
    },

    async freeze(page) {
      const cdp = await page.context().newCDPSession(page);
      const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()));
      await cdp.send('Debugger.enable');
      await cdp.send('Debugger.pause');
      // The pause takes hold at the next script that runs: one runs now, so the page is held on return
      // (an idle page would otherwise never pause, and the thaw's resume would be refused).
      void cdp.send('Runtime.evaluate', { expression: 'void 0' }).catch(() => {});
      await paused;
      let thawed = false;
      const thaw = async () => {
        if (thawed) return;
        thawed = true;
        await cdp.send('Debugger.resume');
        await cdp.send('Debugger.disable');
        await cdp.detach();
      };
      thaws.push(thaw);
      return thaw;
    },

    async holdRefreshAnswers(page) {
      const held = await holdAnswers(page.context(), page);
      holding += 1;
      let stopped = false;
      return {
        arrived: held.arrived,
        async stop() {
          if (!stopped) holding -= 1;
          stopped = true;
          await held.stop();
        },
      };
    },

    async sessionOnServer(sessionId) {
      const response = await fetch(`${example.tesseraUrl.replace('localhost', '127.0.0.1')}/v1/sessions/${sessionId}`, {
        headers: { authorization: `Bearer ${example.apiKey}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { status: string; revoked_reason: string | null };
    },
  };

  async function expectNotice(
    page: Page,
    outcome: Extract<Outcome, { kind: 'notice' }>,
    { sessionId, name, timeout }: { sessionId: string; name: string; timeout: number },
  ) {
    if (outcome.afterSessionShown) {
      // The access token is still good: the page shows the session first, not the form or the notice.
      await expect
        .poll(() => observe(page), { timeout: 5000, interval: 100, message: 'the session shows until its token is due' })
        .toEqual({ kind: 'dashboard', sessionId, tokenExpired: false });
    }
    await world.poll(() => observe(page), { timeout, message: `the notice ${outcome.code}` }).toEqual({ kind: 'notice', code: outcome.code });
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  }

  /**
   * One step of the journey's time: Tessera's clock, then every tab's, jump `seconds` ahead (the
   * timers that came due fire once, as after a sleep); then the refreshes that set off are let
   * finish, so each step starts from a settled page however slow the machine is.
   */
  async function step(seconds: number): Promise<void> {
    await settle();
    clock.fastForward(seconds);
    for (const each of clocked) await each.clock.fastForward(seconds * 1000).catch(closedIsFine);
    await settle();
  }

  /**
   * Waits until the tabs are idle: every page loaded and no request of theirs in flight (but the
   * refreshes a journey holds on purpose), then a moment more, twice in a row. The clock moves only
   * then, so a page that a busy machine loads slowly is not carried past its tokens' lifetimes or a
   * refresh's grace window while it loads. A page that never settles lets the journey go on after 10 s.
   */
  async function settle(): Promise<void> {
    const settledBy = Date.now() + 10_000;
    let quietLooks = 0;
    while (quietLooks < 2 && Date.now() < settledBy) {
      await sleep(20);
      quietLooks = (await idle()) ? quietLooks + 1 : 0;
    }
  }

  async function idle(): Promise<boolean> {
    for (const request of inFlight) {
      const page = pageOf(request);
      // A closed tab's requests are never answered; a service worker's are not a tab's.
      if (!page || page.isClosed()) continue;
      const held = holding > 0 && new URL(request.url()).pathname === refreshPath;
      if (!held) return false;
    }
    for (const page of clocked.flatMap((each) => each.pages())) {
      if (page.isClosed()) continue;
      // A page between two documents (reloading) cannot be read: not idle.
      const state = await page.evaluate(() => document.readyState).catch(() => 'navigating');
      if (state !== 'complete') return false;
    }
    return true;
  }

  /** The tabs of `watched` read the journey's clock, and move with it. */
  async function installClock(watched: BrowserContext): Promise<void> {
    await watched.clock.install({ time: clock.now() });
    clocked.push(watched);
  }

  return world;
}

/** A context or page the journey closed has no clock to move any more. */
function closedIsFine(error: unknown): void {
  if (error instanceof Error && /closed|Target page, context or browser has been closed/i.test(error.message)) return;
  throw error;
}

/** The sign-in form shows, and stays without a notice: nothing was kept, by design. */
async function expectSignInForm(page: Page, timeout: number): Promise<void> {
  await expect.poll(() => observe(page), { timeout, interval: 200, message: 'the sign-in form' }).toEqual({ kind: 'sign-in' });
  await page.waitForTimeout(1500);
  expect(await observe(page), 'still the sign-in form, no notice').toEqual({ kind: 'sign-in' });
}

/** Signs in at the page's form; returns the session id the dashboard shows. */
export async function signIn(page: Page, userName = 'alice'): Promise<string> {
  await page.getByTestId('user-name').fill(userName);
  await page.getByTestId('sign-in-button').click();
  await page.getByTestId('dashboard').waitFor();
  await expect.poll(() => page.getByTestId('session-id').textContent()).toMatch(/^ses_/);
  return (await page.getByTestId('session-id').textContent())!;
}

/** What the page shows now; `loading` too while it navigates. */
export async function observe(page: Page): Promise<Observation> {
  try {
    return await page.evaluate((): Observation => {
      const notice = document.querySelector('[role="alert"].notice.ended');
      if (notice) return { kind: 'notice', code: notice.getAttribute('data-tessera-end-code') };
      if (document.querySelector('[data-testid="dashboard"]')) {
        const sessionId = document.querySelector('[data-testid="session-id"]')?.textContent ?? null;
        const secondsLeft = Number.parseFloat(document.querySelector('[data-testid="countdown"]')?.textContent ?? '');
        return { kind: 'dashboard', sessionId, tokenExpired: !(secondsLeft > 0) };
      }
      if (document.querySelector('[data-testid="sign-in"]')) return { kind: 'sign-in' };
      return { kind: 'loading' };
    });
  } catch (error) {
    if (error instanceof Error && /context was destroyed|navigat/i.test(error.message)) return { kind: 'loading' };
    throw error;
  }
}

/** The refreshes seen on the page's dashboard (its own and other tabs'), since the page loaded. */
export async function refreshesSeen(page: Page): Promise<number> {
  return Number(await page.getByTestId('refresh-count').textContent());
}

/** Seconds left on the access token, as the dashboard counts them down. */
export async function secondsLeft(page: Page): Promise<number> {
  return Number.parseFloat((await page.getByTestId('countdown').textContent()) ?? 'NaN');
}

/** Waits on the wall clock: for journeys whose event is time itself passing (a tab closed past expiry). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Makes every page of `context` report the visibility `setVisible` gives it (visible until told). */
export async function controlVisibility(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const scope = globalThis as Record<string, unknown>;
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (scope.pageHidden ? 'hidden' : 'visible'), configurable: true });
    Object.defineProperty(Document.prototype, 'hidden', { get: () => scope.pageHidden === true, configurable: true });
  });
}

/** Hides or shows `page` as a tab switch would: the flag, then `visibilitychange`. */
export async function setVisible(page: Page, visible: boolean): Promise<void> {
  await page.evaluate((visible) => {
    (globalThis as Record<string, unknown>).pageHidden = !visible;
    document.dispatchEvent(new Event('visibilitychange'));
  }, visible);
}

/** `Journeys.holdRefreshAnswers`, on CDP's Fetch domain. */
async function holdAnswers(context: BrowserContext, page: Page): Promise<{ arrived(): number; stop(): Promise<void> }> {
  const cdp: CDPSession = await context.newCDPSession(page);
  let held = 0;
  cdp.on('Fetch.requestPaused', (event: { requestId: string; request: { method: string }; responseStatusCode?: number }) => {
    if (event.request.method !== 'POST' || event.responseStatusCode === undefined) {
      void cdp.send('Fetch.continueRequest', { requestId: event.requestId }).catch(() => {});
      return;
    }
    held += 1;
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `*${refreshPath}`, requestStage: 'Response' }] });
  return {
    arrived: () => held,
    async stop() {
      await cdp.send('Fetch.disable').catch(() => {});
      await cdp.detach().catch(() => {});
    },
  };
}

function pageOf(request: Request): Page | null {
  try {
    return request.frame().page();
  } catch {
    return null; // a service worker's or a detached frame's
  }
}

/** The refresh token a request presents: the body's (the SDK's first refresh in cookie mode, and every one outside it), else the cookie's. */
async function presentedToken(request: Request): Promise<string | null> {
  try {
    const body = request.postDataJSON() as { refresh_token?: unknown } | null;
    if (body && typeof body.refresh_token === 'string') return body.refresh_token;
  } catch {
    // not JSON: no token in the body
  }
  const cookies = (await request.allHeaders().catch(() => ({}) as Record<string, string>)).cookie ?? '';
  const match = new RegExp(`(?:^|;\\s*)${refreshCookie}=([^;]+)`).exec(cookies);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** The refresh log in lines: when sent (ms after the first), by which tab, the token presented, the answer. */
function describeRefreshes(records: readonly RefreshRecord[], tabs: readonly Page[]): string {
  const start = records[0]?.sentAt ?? 0;
  return records
    .map((record) => {
      const tab = record.page ? tabs.indexOf(record.page) + 1 : '?';
      return `\n  +${record.sentAt - start} ms tab ${tab} ${record.presented?.slice(0, 14) ?? '(none)'}… → ${record.status ?? 'pending'}`;
    })
    .join('');
}

/**
 * Refresh tokens the browser presented again after Tessera had answered one presentation of them
 * with new tokens: a duplicate refresh (within `reuse_interval` Tessera answers it as a retry, so
 * the server status alone would not tell).
 */
function presentedAfterSuccess(records: readonly RefreshRecord[]): string[] {
  const repeated: string[] = [];
  records.forEach((record, index) => {
    if (record.presented === null) return;
    const earlier = records.slice(0, index).find((other) => other.presented === record.presented && other.status === 200);
    if (earlier) repeated.push(`${record.presented.slice(0, 12)}… at +${record.sentAt - earlier.sentAt} ms`);
  });
  return repeated;
}
