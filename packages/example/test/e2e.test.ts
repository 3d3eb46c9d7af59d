// The example app end to end, as a person would use it: what `npm start` runs (Tessera on a real
// SQLite file, the demo backend, the Vite build of the page), driven in Debian Chromium through
// playwright-core. Screenshots land in test-artifacts/e2e/.
//
// Time: Tessera, the demo backend and the tabs of the test's browser profile share one clock that
// runs with the wall clock and that a test moves forward (a `FastForwardClock` on the server,
// Playwright's clock in the browser), so the demo's 30-second tokens come due in a second or two of
// the test, and a busy machine slows the test down instead of letting tokens run out under it.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FastForwardClock } from '@tessera/server';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/chromium.js';
import { type RunningExample, startExample } from '../server/start.js';

const artifacts = fileURLToPath(new URL('../../../test-artifacts/e2e/', import.meta.url));
/** Access-token lifetime of the demo flow (its default): the page refreshes 10 s before expiry, 20 s after issue. */
const tokenTtl = 30;
/**
 * Seconds the clock moves at each look while a test waits for what the page does as time goes on:
 * less than the refresh's 10 s lead and the client's time-outs (a request 10 s, a socket's ready
 * 15 s), so a step never jumps over a refresh nor times out a request in flight.
 */
const tickSeconds = 4;

let browser: Browser;
let example: RunningExample;
let dataDir: string;
let context: BrowserContext;
let consoleErrors: string[];
let clock: FastForwardClock;
/** Refreshes the test's context has sent and not yet seen answered (or failed). */
let refreshesInFlight: Set<Request>;

beforeAll(async () => {
  if (!existsSync(fileURLToPath(new URL('../dist/web/index.html', import.meta.url)))) throw new Error('the page is not built: npm run build');
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
  // One app for the file: each test signs in a user of its own in a browser profile of its own. (Of
  // the node's counters the first test reads, only it revokes as an admin, and the sockets of the
  // tests before it closed with their profiles.)
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-example-'));
  clock = new FastForwardClock();
  example = await startExample({ tesseraPort: 0, appPort: 0, dataDir, demoAccessTokenTtl: tokenTtl, clock });
});

afterAll(async () => {
  await browser?.close();
  await example?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.clock.install({ time: clock.now() });
  refreshesInFlight = new Set();
  const isRefresh = (request: Request) => request.method() === 'POST' && new URL(request.url()).pathname === '/v1/token/refresh';
  context.on('request', (request) => isRefresh(request) && refreshesInFlight.add(request));
  context.on('requestfinished', (request) => refreshesInFlight.delete(request));
  context.on('requestfailed', (request) => refreshesInFlight.delete(request));
  consoleErrors = [];
});

afterEach(async () => {
  await context?.close();
});

/**
 * Moves the time `seconds` ahead at once, as after a sleep: Tessera's clock, then the tabs' (the
 * timers that came due fire once); then lets the refreshes that set off be answered, so each step
 * starts from a settled page however slow the machine is.
 */
async function step(seconds: number): Promise<void> {
  clock.fastForward(seconds);
  await context.clock.fastForward(seconds * 1000);
  const settledBy = Date.now() + 5000;
  do await new Promise((resolve) => setTimeout(resolve, 20));
  while (refreshesInFlight.size > 0 && Date.now() < settledBy);
}

/** Polls `read` as `expect.poll` does, moving the clock a step before each look: waits for what the page does as time goes on. */
function pollAsTimePasses<T>(read: () => T | Promise<T>, message?: string) {
  return expect.poll(
    async () => {
      await step(tickSeconds);
      return read();
    },
    { timeout: 20_000, interval: 50, ...(message ? { message } : {}) },
  );
}

/** A new tab of the shared context whose console errors and uncaught exceptions fail the test. */
async function openTab(url: string, expectedErrors: RegExp[] = []): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && !expectedErrors.some((expected) => expected.test(message.text()))) consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(url);
  return page;
}

async function signIn(page: Page, userName: string): Promise<string> {
  await page.getByTestId('user-name').fill(userName);
  await page.getByTestId('sign-in-button').click();
  await page.getByTestId('dashboard').waitFor();
  await expect.poll(() => page.getByTestId('session-id').textContent()).toMatch(/^ses_/);
  return (await page.getByTestId('session-id').textContent())!;
}

/**
 * From each page's first script on, records every change of which view shows (repeats collapsed):
 * `loading`, `sign-in`, `dashboard`, `ended` (the notice), joined with `+` when several show at once.
 * A MutationObserver hears each React commit, so even a one-frame flash is recorded.
 */
async function recordViews(): Promise<void> {
  await context.addInitScript(() => {
    const views: string[] = [];
    (globalThis as unknown as { views: string[] }).views = views;
    const selectors: Record<string, string> = {
      loading: '[data-testid="loading"]',
      'sign-in': '[data-testid="sign-in"]',
      dashboard: '[data-testid="dashboard"]',
      ended: '.notice.ended',
    };
    new MutationObserver(() => {
      const shown = Object.keys(selectors)
        .filter((view) => document.querySelector(selectors[view]!) !== null)
        .join('+');
      if (shown !== '' && shown !== views.at(-1)) views.push(shown);
    }).observe(document, { childList: true, subtree: true });
  });
}

/** From now on every refresh of the context's pages gets this error envelope from "Tessera" (cross-origin, so with CORS headers). */
async function answerRefreshesWith({ status, error, message }: { status: number; error: string; message: string }): Promise<void> {
  await context.route('**/v1/token/refresh', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    return route.fulfill({
      status,
      contentType: 'application/json',
      headers: { 'access-control-allow-origin': route.request().headers()['origin'] ?? '*', 'access-control-allow-credentials': 'true' },
      body: JSON.stringify({ success: false, error, message, details: [] }),
    });
  });
}

const viewsOf = (page: Page) => page.evaluate(() => [...(globalThis as unknown as { views: string[] }).views]);
const errorColour = 'rgb(192, 57, 43)';
const successColour = 'rgb(47, 143, 78)';
const colourOf = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((element) => getComputedStyle(element).color);

const refreshCount = async (page: Page) => Number(await page.getByTestId('refresh-count').textContent());
const secondsLeft = async (page: Page) => Number.parseFloat((await page.getByTestId('countdown').textContent()) ?? 'NaN');
const screenshot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

describe('the example app in Chromium', () => {
  it('signs in, refreshes, shares the session with a second tab, and shows an admin revocation within a second', async () => {
    // The ended session's last refresh may be answered 401; Chromium logs that as a failed resource.
    const revokedAnswer = [/Failed to load resource: .* 401 \(Unauthorized\)/];
    const first = await openTab(example.appUrl, revokedAnswer);
    await screenshot(first, '01-sign-in');
    const sessionId = await signIn(first, 'alice');
    // Cookie mode moved the refresh token into the cookie with a first refresh, before the dashboard showed.
    const refreshesAtSignIn = await refreshCount(first);
    expect(await first.getByTestId('user').textContent()).toBe('alice');
    expect(await first.getByTestId('flow-name').textContent()).toBe('demo');
    expect(await first.getByTestId('clock-skew').textContent()).toMatch(/in step|ahead of|behind/);
    await expect.poll(() => first.getByTestId('socket-status').getAttribute('data-status')).toBe('open');

    // A refresh happens on its own, before the 30 s token runs out (10 s before), and the countdown starts again.
    await pollAsTimePasses(() => refreshCount(first), 'a refresh before the token runs out').toBeGreaterThan(refreshesAtSignIn);
    expect(await first.locator('[data-testid="activity"] li[data-kind="refresh"]').count()).toBeGreaterThanOrEqual(1);
    expect(await secondsLeft(first)).toBeGreaterThan(tokenTtl / 2);
    // The socket followed the new token in band: no reconnect.
    expect(await first.getByTestId('socket-status').textContent()).not.toMatch(/reconnected/);
    await screenshot(first, '02-dashboard');

    // A second tab: the same session, no sign-in, its own socket.
    const second = await openTab(example.appUrl, revokedAnswer);
    await second.getByTestId('dashboard').waitFor();
    expect(await second.getByTestId('session-id').textContent()).toBe(sessionId);
    await expect.poll(() => second.getByTestId('socket-status').getAttribute('data-status')).toBe('open');
    await screenshot(second, '03-second-tab');

    // A third tab: the admin console on Tessera's own origin, behind the API key.
    const admin = await openTab(`${example.tesseraUrl}/admin`);
    await admin.getByTestId('key-input').fill(example.apiKey);
    await admin.getByTestId('key-submit').click();
    await admin.getByTestId('search-input').fill('alice');
    await admin.getByTestId('search-submit').click();
    const row = admin.locator(`[data-testid="session-row"][data-session-id="${sessionId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('active');
    // The refreshes the tabs made show in the node's counters.
    await expect.poll(async () => Number(await admin.getByTestId('counter-refreshes-total').textContent()), { timeout: 3000 }).toBeGreaterThanOrEqual(1);
    // Two tabs, two sockets of this session on this node.
    await expect.poll(async () => admin.getByTestId('counter-live-sockets').textContent(), { timeout: 3000 }).toBe('2');
    // The example app's API verifies tokens with the revocation feed: its verifier waits on this node.
    await expect.poll(async () => admin.getByTestId('counter-listening-verifiers').textContent(), { timeout: 3000 }).toBe('1');
    await screenshot(admin, '04-admin-console');

    // The admin ends the session (the console asks first); both tabs say so, with the reason, within a second.
    await row.getByTestId('revoke-session').click();
    await admin.getByTestId('confirm-text').waitFor();
    const revokedAt = Date.now();
    await admin.getByTestId('confirm-accept').click();
    for (const page of [first, second]) {
      const notice = page.locator('[data-tessera-end-reason="admin"]');
      await notice.waitFor({ timeout: 1000 });
      expect(await notice.textContent()).toContain('An administrator ended your session.');
    }
    const noticedWithin = Date.now() - revokedAt;
    expect(noticedWithin).toBeLessThan(1000);
    await expect.poll(() => row.getAttribute('data-status')).toBe('revoked');
    expect(await row.textContent()).toContain('admin');
    // The console reads the counters every second.
    await pollAsTimePasses(() => admin.getByTestId('counter-revocations-admin').textContent()).toBe('1');
    await pollAsTimePasses(() => admin.getByTestId('counter-live-sockets').textContent()).toBe('0');
    await screenshot(admin, '05-admin-console-revoked');
    expect(await first.locator('[data-testid="activity"] li[data-kind="ended"]').count()).toBe(0); // the dashboard is gone
    await screenshot(first, '06-ended');

    // "Sign in again" leads back to the form.
    await first.getByRole('button', { name: 'Sign in again' }).click();
    await first.getByTestId('sign-in').waitFor();
    expect(consoleErrors).toEqual([]);
  });

  it('"sign out everywhere else" on one device ends the session on the other at once, in plain words', async () => {
    const laptop = await openTab(example.appUrl, [/Failed to load resource: .* 401 \(Unauthorized\)/]);
    const laptopSession = await signIn(laptop, 'carol');
    // A second device: a browser profile of its own, so its own session.
    const phoneContext = await browser.newContext({ viewport: { width: 420, height: 900 } });
    try {
      // Its clock set right, as the laptop's is (the file's clock is ahead of the wall clock by now).
      await phoneContext.clock.install({ time: clock.now() });
      const phone = await phoneContext.newPage();
      phone.on('pageerror', (error) => consoleErrors.push(error.message));
      await phone.goto(example.appUrl);
      const phoneSession = await signIn(phone, 'carol');
      expect(phoneSession).not.toBe(laptopSession);
      await expect.poll(() => laptop.getByTestId('socket-status').getAttribute('data-status')).toBe('open');

      // The phone lists both sessions (Tessera's own list, `client.sessions()`, on the access token).
      await expect.poll(() => phone.locator('[data-testid="other-sessions"] li').count(), { timeout: 6000 }).toBe(2);
      expect(await phone.locator(`li[data-session-id="${phoneSession}"]`).getAttribute('data-current')).toBe('true');

      const clickedAt = Date.now();
      await phone.getByTestId('sign-out-elsewhere').click();
      const notice = laptop.locator('[data-tessera-end-reason="signed_out_elsewhere"]');
      await notice.waitFor({ timeout: 1000 });
      expect(Date.now() - clickedAt).toBeLessThan(1000);
      expect(await notice.textContent()).toContain('You signed out on another device.');
      await expect.poll(() => phone.getByTestId('sessions-note').textContent()).toBe('Signed out of 1 other session.');
      expect(await colourOf(phone, '[data-testid="sessions-note"]')).toBe(successColour); // a success, in green
      await expect.poll(() => phone.locator('[data-testid="other-sessions"] li').count()).toBe(1);
      expect(await phone.getByTestId('session-id').textContent()).toBe(phoneSession);
      await screenshot(phone, '07-signed-out-elsewhere-phone');
      await screenshot(laptop, '08-signed-out-elsewhere-laptop');
    } finally {
      await phoneContext.close();
    }
    expect(consoleErrors).toEqual([]);
  });

  it('a tab hidden and frozen past its token expiry recovers when shown, without signing out', async () => {
    await context.addInitScript(() => {
      const scope = globalThis as Record<string, unknown>;
      Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (scope.pageHidden ? 'hidden' : 'visible'), configurable: true });
      Object.defineProperty(Document.prototype, 'hidden', { get: () => scope.pageHidden === true, configurable: true });
    });
    const page = await openTab(example.appUrl);
    const sessionId = await signIn(page, 'bob');
    await expect.poll(() => page.getByTestId('socket-status').getAttribute('data-status')).toBe('open');
    const refreshesBefore = await refreshCount(page);

    // Hidden, then frozen as Chromium freezes background tabs: no timers, no socket messages. The
    // page's script is paused in the debugger (Page.setWebLifecycleState does not freeze a visible
    // headless page: its timers kept running).
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).pageHidden = true;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const cdp = await context.newCDPSession(page);
    const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()));
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    // The pause takes hold at the next script that runs: one runs now, so the page is held before the
    // time moves (an idle page would not pause at all, and the resume below would be refused).
    void cdp.send('Runtime.evaluate', { expression: 'void 0' }).catch(() => {});
    await paused;
    // The time runs past the token's expiry while the tab is frozen: Tessera's at once; the tab's
    // when it thaws (Playwright's clock cannot move a paused page), its overdue timers firing then.
    const frozenFor = tokenTtl + 2;
    clock.fastForward(frozenFor);

    const shownAt = Date.now();
    await cdp.send('Debugger.resume');
    await context.clock.fastForward(frozenFor * 1000);
    await cdp.send('Debugger.disable');
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).pageHidden = false;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    // The held token expired while frozen: it is refreshed at once, the socket comes back, same session.
    await expect.poll(() => secondsLeft(page), { timeout: 3000 }).toBeGreaterThan(tokenTtl / 2);
    const recoveredWithin = Date.now() - shownAt;
    expect(recoveredWithin).toBeLessThan(3000);
    expect(await refreshCount(page)).toBeGreaterThan(refreshesBefore);
    await expect.poll(() => page.getByTestId('socket-status').getAttribute('data-status'), { timeout: 5000 }).toBe('open');
    expect(await page.getByTestId('session-id').textContent()).toBe(sessionId);
    expect(await page.locator('[role="alert"]').count()).toBe(0);
    // Tessera accepts the fresh token: the session list loads.
    await expect.poll(() => page.locator(`[data-testid="other-sessions"] li[data-session-id="${sessionId}"]`).count()).toBe(1);
    await screenshot(page, '09-recovered-after-hidden');
    expect(consoleErrors).toEqual([]);
  });
});

describe('the example page, state by state', () => {
  it.each([
    ['cookie', 'refresh token in an HttpOnly cookie, access token in localStorage'],
    ['local-refresh', 'access and refresh tokens both in localStorage'],
  ])('with ?storage=%s, says so, and a reload goes back to the dashboard without the sign-in form ever showing', async (mode, kept) => {
    await recordViews();
    const page = await openTab(`${example.appUrl}/?storage=${mode}`);
    expect(await page.getByTestId('storage-mode').textContent()).toBe(`Session kept: ${kept}.`);
    const sessionId = await signIn(page, 'hana');
    await page.reload();
    await page.getByTestId('dashboard').waitFor();
    await expect.poll(() => page.getByTestId('session-id').textContent()).toBe(sessionId);
    // Every view the reloaded page showed, from its first commit: at most "Loading…", then the dashboard.
    const views = await viewsOf(page);
    expect(views.filter((view) => view !== 'loading')).toEqual(['dashboard']);
    expect(await page.getByTestId('storage-mode').getAttribute('data-storage')).toBe(mode);
    expect(consoleErrors).toEqual([]);
  });

  it('a second tab that keeps nothing itself (?storage=memory) shows "Loading…" while it asks the first, then the dashboard', async () => {
    await recordViews();
    const first = await openTab(`${example.appUrl}/?storage=memory`);
    const sessionId = await signIn(first, 'ivan');
    const second = await openTab(`${example.appUrl}/?storage=memory`);
    await second.getByTestId('dashboard').waitFor();
    expect(await second.getByTestId('session-id').textContent()).toBe(sessionId);
    expect(await viewsOf(second)).toEqual(['loading', 'dashboard']);
    expect(consoleErrors).toEqual([]);
  });

  it("?dpop=on: the device flow binds the session to the browser's key; the page refreshes and keeps its socket, a copied token is refused", async () => {
    const page = await openTab(`${example.appUrl}/?dpop=on`);
    await page.getByTestId('flow').selectOption('device');
    const sessionId = await signIn(page, 'dora');
    expect(await page.getByTestId('flow-name').textContent()).toBe('device');
    await expect.poll(() => page.getByTestId('socket-status').getAttribute('data-status')).toBe('open');
    const refreshesAtSignIn = await refreshCount(page);
    await pollAsTimePasses(() => refreshCount(page), 'a refresh with the key before the token runs out').toBeGreaterThan(refreshesAtSignIn);
    // The socket took the new token in band, with a proof of the key: no reconnect.
    expect(await page.getByTestId('socket-status').getAttribute('data-status')).toBe('open');
    expect(await page.getByTestId('socket-status').textContent()).not.toMatch(/reconnected/);

    // The access token in the page's storage is bound to the key, and worth nothing without it.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    const accessToken = /(eyJ[\w-]+\.[\w-]+\.[\w-]+)/.exec(stored)![1]!;
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string; cnf?: { jkt: string } };
    expect(claims.sid).toBe(sessionId);
    expect(claims.cnf?.jkt).toMatch(/^[\w-]{43}$/);
    for (const url of [`${example.tesseraUrl}/v1/session`, `${example.appUrl}/demo/my-sessions`]) {
      const copied = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(copied.status).toBe(401);
      expect(((await copied.json()) as { error: string }).error).toBe('dpop_proof_invalid');
    }
    expect(consoleErrors).toEqual([]);
  });

  it('a malformed name is refused in plain words, in the error colour, and no session starts', async () => {
    const page = await openTab(example.appUrl, [/Failed to load resource: .* 400 \(Bad Request\)/]);
    await page.getByTestId('user-name').fill('hana <script>');
    await page.getByTestId('sign-in-button').click();
    const problem = page.getByTestId('sign-in-problem');
    await problem.waitFor();
    expect(await problem.textContent()).toBe('A user name may contain letters, digits and . _ @ - only, up to 64 characters.');
    expect(await colourOf(page, '[data-testid="sign-in-problem"]')).toBe(errorColour);
    expect(await page.getByTestId('user-name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('dashboard').count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  });

  it('tells failures in the error colour, and drops a failure to list once the list loads again', async () => {
    const page = await openTab(example.appUrl, [/Failed to load resource: .* 503 \(Service Unavailable\)/]);
    await signIn(page, 'kai');
    // The session list cannot load: said under the list, in red.
    await context.route('**/v1/session/sessions', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{}' }));
    const note = page.getByTestId('sessions-note');
    // The list is read again every 5 s.
    await pollAsTimePasses(() => note.count(), 'the failure to list').toBe(1);
    expect(await note.getAttribute('data-kind')).toBe('problem');
    expect(await colourOf(page, '[data-testid="sessions-note"]')).toBe(errorColour);
    // Tessera cannot be reached for a refresh: the activity log says so, its text in red too.
    await answerRefreshesWith({ status: 503, error: 'service_unavailable', message: 'The service is unavailable.' });
    const problem = page.locator('[data-testid="activity"] li[data-kind="problem"]');
    // The next refresh is due within the token's life.
    await pollAsTimePasses(() => problem.count(), 'the failed refresh').toBeGreaterThanOrEqual(1);
    expect(await colourOf(page, '[data-testid="activity"] li[data-kind="problem"]')).toBe(errorColour);
    await context.unroute('**/v1/session/sessions');
    await context.unroute('**/v1/token/refresh');
    // The next reading of the list, within the token's life, succeeds.
    await pollAsTimePasses(() => note.count(), 'the list again').toBe(0);
    expect(consoleErrors).toEqual([]);
  });

  it.each([
    {
      // Cleared by the user, expired, or blocked by the browser: the server answers token_missing.
      ending: 'the refresh cookie is gone',
      code: 'refresh_token_unavailable',
      reason: 'no_refresh_cookie',
      words: 'Your browser no longer has the cookie that keeps you signed in.',
      cause: () => context.clearCookies(),
      expected: /Failed to load resource: .* 401 \(Unauthorized\)/,
    },
    {
      ending: 'a refresh is answered 400 invalid_request',
      code: 'refresh_refused',
      reason: null,
      words: 'Your session could not be renewed because the server refused the request.',
      cause: () => answerRefreshesWith({ status: 400, error: 'invalid_request', message: 'The request is malformed.' }),
      expected: /Failed to load resource: .* 400 \(Bad Request\)/,
    },
  ])('when $ending, the notice says so and the dashboard is gone', async ({ code, reason, words, cause, expected }) => {
    await recordViews();
    const page = await openTab(example.appUrl, [expected]);
    await signIn(page, 'june');
    await cause();
    const notice = page.locator(`.notice.ended[data-tessera-end-code="${code}"]`);
    // The next refresh is due within the token's life.
    await pollAsTimePasses(() => notice.count(), 'the notice').toBe(1);
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await notice.getAttribute('data-tessera-end-reason')).toBe(reason);
    expect(await notice.locator('p').textContent()).toBe(words);
    expect(await page.getByTestId('dashboard').count()).toBe(0);
    expect(await page.getByText('Signed in as').count()).toBe(0);
    expect((await viewsOf(page)).filter((view) => view !== 'loading')).toEqual(['sign-in', 'dashboard', 'ended']);
    await screenshot(page, `10-ended-${code}`);
    expect(consoleErrors).toEqual([]);
  });
});
