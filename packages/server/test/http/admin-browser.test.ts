// The admin console in a real browser (Debian chromium via playwright-core), served by the real
// server: key form, search, revoke one and all, the live counters, and not one console error.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../src/core/error-catalogue.js';
import { launchChromium } from '../chromium.js';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

const artifactsDir = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));
/** A user id that would run script if the page ever treated data as markup. */
const hostileUser = `<img src=x onerror="window.pwned=1">alice`;
/** What Chromium logs for a request that failed; the test expects two: the wrong key, the overlong user id. */
const failedLoad = /^Failed to load resource: the server responded with a status of (\d{3})/;

let browser: Browser;
let server: TestServer;
let page: Page;
const consoleErrors: string[] = [];
/** Readings of the node's counters the console has asked for and not yet had answered. */
const readingsInFlight = new Set<Request>();

beforeAll(async () => {
  browser = await launchChromium();
  // The real clock: the page reads times against its own.
  server = await startServer({ clock: { now: () => Date.now() } });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The page's clock runs with the wall clock, and a test can hold it and move it (see `readCounters`).
  await page.clock.install({ time: Date.now() });
  const isReading = (request: Request) => new URL(request.url()).pathname === '/metrics';
  page.on('request', (request) => isReading(request) && readingsInFlight.add(request));
  page.on('requestfinished', (request) => readingsInFlight.delete(request));
  page.on('requestfailed', (request) => readingsInFlight.delete(request));
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await server?.close();
});

const manage = (path: string, method = 'GET', body?: unknown) => call(`${server.url}${path}`, { method, token: testApiKey, body });

async function createSession(userId: string): Promise<any> {
  const created = await manage('/v1/sessions', 'POST', { user_id: userId, metadata: { note: '<script>window.pwned=2</script>' } });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

const testId = (id: string) => `[data-testid="${id}"]`;
const row = (sessionId: string) => `${testId('session-row')}[data-session-id="${sessionId}"]`;
const cell = (sessionId: string, field: string) => `${row(sessionId)} [data-field="${field}"]`;

async function counter(id: string): Promise<number> {
  return Number(await page.textContent(testId(id)));
}

/** Waits until the console has shown every reading of the counters it asked for. */
async function countersSettled(): Promise<void> {
  while (readingsInFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  // A task in the page after the answer's: the console has put it on screen.
  await page.evaluate(() => 0);
}

/** With the page's clock held, moves it one second: the console reads the counters once, and shows them. */
async function readCounters(): Promise<void> {
  await page.clock.runFor(1000);
  await countersSettled();
}

describe('the admin console', () => {
  it('asks for the key, finds a user, revokes one and all, and shows the live counters', async () => {
    await page.goto(`${server.url}/admin`);
    await page.waitForSelector(`${testId('key-panel')}:not([hidden])`);
    expect(await page.isHidden(testId('console'))).toBe(true);

    // A wrong key: the server's message, and the form again.
    await page.fill(testId('key-input'), 'tsk_not_the_key');
    await page.click(testId('key-submit'));
    await page.waitForSelector(`${testId('key-error')}:not([hidden])`);
    expect(await page.textContent(testId('key-error'))).toBe(errorCatalogue.api_key_invalid.message);
    expect(await page.isHidden(testId('console'))).toBe(true);
    expect(await page.inputValue(testId('key-input'))).toBe('');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    // The right key: the console, the key kept in this tab only.
    await page.fill(testId('key-input'), testApiKey);
    await page.click(testId('key-submit'));
    await page.waitForSelector(`${testId('console')}:not([hidden])`);
    expect(await page.isHidden(testId('key-panel'))).toBe(true);
    expect(await page.isHidden(testId('key-error'))).toBe(true);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([testApiKey]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);

    // Three sessions of a user whose id is markup; one ends by the user's own logout.
    const [loggedOut, first, second] = [await createSession(hostileUser), await createSession(hostileUser), await createSession(hostileUser)];
    const logout = await call(`${server.url}/v1/session/logout`, { method: 'POST', token: loggedOut.access_token });
    expect(logout.status, logout.text).toBe(200);

    await page.fill(testId('search-input'), hostileUser);
    await page.click(testId('search-submit'));
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 3, testId('session-row'));
    expect(await page.textContent(testId('results-title'))).toBe(`Sessions of ${hostileUser}`);
    expect(await page.textContent(testId('results-summary'))).toBe('3 sessions, 2 active.');
    const ids = await page.$$eval(testId('session-row'), (rows) => rows.map((r) => r.getAttribute('data-session-id')));
    expect(ids).toEqual([second.session.id, first.session.id, loggedOut.session.id]);
    expect(await page.textContent(cell(loggedOut.session.id, 'status'))).toBe('revoked');
    expect(await page.textContent(cell(loggedOut.session.id, 'revoked_reason'))).toBe('logout');
    expect(await page.textContent(cell(first.session.id, 'status'))).toBe('active');
    expect(await page.textContent(cell(first.session.id, 'revoked_reason'))).toBe('—');
    expect(await page.textContent(cell(first.session.id, 'revoked_at'))).toBe('—');
    // Times: local and relative, the exact instant kept in the markup.
    expect(await page.getAttribute(`${cell(first.session.id, 'created_at')} time`, 'datetime')).toBe(first.session.created_at);
    expect(await page.textContent(cell(first.session.id, 'created_at'))).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(now|\d+ seconds? ago)$/);
    expect(await page.textContent(cell(first.session.id, 'expires_at'))).toMatch(/in 14 days$/);
    expect(await page.$(`${row(loggedOut.session.id)} ${testId('revoke-session')}`)).toBeNull();
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.$('img')).toBeNull();

    // Revoke one: it shows revoked by an admin, the others stay as they were.
    await page.click(`${row(first.session.id)} ${testId('revoke-session')}`);
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === 'revoked', cell(first.session.id, 'status'));
    expect(await page.textContent(cell(first.session.id, 'revoked_reason'))).toBe('admin');
    expect(await page.textContent(cell(first.session.id, 'revoked_at'))).toMatch(/^\d{4}-\d{2}-\d{2} /);
    expect(await page.textContent(cell(second.session.id, 'status'))).toBe('active');
    expect((await manage(`/v1/sessions/${first.session.id}`)).body).toMatchObject({ status: 'revoked', revoked_reason: 'admin' });

    // Revoke all, after the confirmation.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(testId('revoke-all'));
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === 'revoked', cell(second.session.id, 'status'));
    expect(await page.textContent(cell(second.session.id, 'revoked_reason'))).toBe('admin');
    expect(await page.textContent(testId('results-summary'))).toBe('3 sessions, 0 active.');
    expect(await page.isDisabled(testId('revoke-all'))).toBe(true);
    expect((await manage(`/v1/users/${encodeURIComponent(hostileUser)}/sessions`)).body.sessions).toEqual([]);

    // The counters: this node's revocations by reason, sessions created, refreshes as they happen.
    // The console reads them once a second of its clock; held still from here, it reads them when
    // the test moves it, so what happened falls in a known second.
    // A second ahead of the page's time when read: on a busy machine the page's clock runs on before pauseAt arrives.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
    await countersSettled();
    await readCounters();
    expect(await counter('counter-revocations-admin')).toBe(2);
    expect(await counter('counter-revocations-logout')).toBe(1);
    expect(await counter('counter-revocations-reuse_detected')).toBe(0);
    expect(await counter('counter-sessions-created')).toBe(3);
    expect(await counter('counter-refreshes-total')).toBe(0);
    expect(await page.textContent(testId('counter-refresh-rate'))).toBe('0.0');

    let grant = await createSession('bob');
    for (let i = 0; i < 12; i++) {
      const refreshed = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: grant.refresh_token } });
      expect(refreshed.status, refreshed.text).toBe(200);
      grant = refreshed.body;
    }
    await readCounters();
    expect(await counter('counter-refresh-rate')).toBeGreaterThan(0);
    expect(await counter('counter-refreshes-total')).toBe(12);
    expect(await counter('counter-sessions-created')).toBe(4);
    // With nothing happening, the rate falls back to zero.
    await readCounters();
    expect(await page.textContent(testId('counter-refresh-rate'))).toBe('0.0');
    await page.clock.resume();

    // An error from the server is shown with its message.
    await page.evaluate((selector) => document.querySelector<HTMLInputElement>(selector)!.removeAttribute('maxlength'), testId('search-input'));
    await page.fill(testId('search-input'), 'x'.repeat(257));
    await page.click(testId('search-submit'));
    await page.waitForSelector(`${testId('error')}:not([hidden])`);
    const refusal = await manage(`/v1/users/${'x'.repeat(257)}/sessions?status=all`);
    expect(refusal.body.error).toBe('invalid_request');
    expect(await page.textContent(testId('error'))).toBe(refusal.body.message);

    // Back to the table for the picture.
    await page.fill(testId('search-input'), hostileUser);
    await page.click(testId('search-submit'));
    await page.waitForSelector(`${testId('error')}[hidden]`, { state: 'attached' });
    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: `${artifactsDir}admin-console.png`, fullPage: true });

    // A reload keeps the key (same tab); "Forget key" drops it.
    await page.reload();
    await page.waitForSelector(`${testId('console')}:not([hidden])`);
    await page.click(testId('forget-key'));
    await page.waitForSelector(`${testId('key-panel')}:not([hidden])`);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    // The failed requests were the two the test made fail; nothing else went to the console.
    expect(consoleErrors.filter((text) => !failedLoad.test(text))).toEqual([]);
    expect(consoleErrors.map((text) => failedLoad.exec(text)?.[1])).toEqual(['401', '400']);
  });
});
