// CORS and cookie mode as a real browser sees them (Debian chromium via playwright-core): the page
// on one origin, Tessera on another of the same site (127.0.0.1, two ports), and a hostile page on a
// third. What the browser enforces (preflights, withheld answers, SameSite, HttpOnly) is tested here,
// not assumed.
import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../chromium.js';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

interface PageOrigin {
  readonly url: string;
  close(): Promise<void>;
}

/** An origin that serves one empty page. */
async function startPageOrigin(): Promise<PageOrigin> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** What a page's fetch saw: the status and JSON body, or the TypeError a CORS refusal is. */
interface PageAnswer {
  status?: number;
  body?: any;
  blocked?: string;
}

function pageFetch(
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; mode?: RequestMode },
): Promise<PageAnswer> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const response = await fetch(url, { ...init, credentials: 'include' });
        if (response.type === 'opaque') return { status: 0 };
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      } catch (error) {
        return { blocked: String(error) };
      }
    },
    { url, init },
  );
}

let browser: Browser;
let tessera: TestServer;
let app: PageOrigin;
let evil: PageOrigin;

beforeAll(async () => {
  app = await startPageOrigin();
  evil = await startPageOrigin();
  // Secure cookies need HTTPS outside localhost; the attribute itself is checked over HTTP in cookie-mode.test.ts.
  tessera = await startServer({ config: { cors: { origins: [app.url] }, cookie: { enabled: true, secure: false, refresh_token_in_body: false } } });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await tessera?.close();
  await app?.close();
  await evil?.close();
});

describe('in Chromium: CORS and the refresh cookie', () => {
  it('the app moves the token into the cookie, refreshes from it cross-origin, a hostile page cannot, logout clears it', async () => {
    const created = await call(`${tessera.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${app.url}/`);
      const refreshUrl = `${tessera.url}/v1/token/refresh`;

      // First refresh: the token the backend handed over, in the body; the answer holds no refresh token.
      const first = await pageFetch(page, refreshUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: created.body.refresh_token }),
      });
      expect(first.status, JSON.stringify(first)).toBe(200);
      expect(first.body.refresh_token).toBeUndefined();
      const cookies = await context.cookies(tessera.url + '/v1/token/refresh');
      expect(cookies).toEqual([expect.objectContaining({ name: 'tessera_refresh', httpOnly: true, sameSite: 'Strict', path: '/v1/token/refresh' })]);

      // From then on, the cookie (after a preflight for the custom header).
      const second = await pageFetch(page, refreshUrl, { method: 'POST', headers: { 'x-tessera-csrf': '1' } });
      expect(second.status, JSON.stringify(second)).toBe(200);
      expect(second.body.session.user_id).toBe('alice');

      // Without the header: refused, and the page can read the envelope (CORS headers on errors).
      const noHeader = await pageFetch(page, refreshUrl, { method: 'POST' });
      expect(noHeader.status).toBe(403);
      expect(noHeader.body.error).toBe('csrf_failed');

      // The management API is not reachable from a page, even a listed one.
      const management = await pageFetch(page, `${tessera.url}/v1/users/alice/sessions`, { headers: { authorization: `Bearer ${testApiKey}` } });
      expect(management.blocked).toMatch(/TypeError/);

      // A hostile page of the same site: the browser sends the Strict cookie, but the custom header
      // needs a preflight Tessera refuses, and a no-cors post without it is csrf_failed.
      const hostile = await context.newPage();
      await hostile.goto(`${evil.url}/`);
      const withHeader = await pageFetch(hostile, refreshUrl, { method: 'POST', headers: { 'x-tessera-csrf': '1' } });
      expect(withHeader.blocked).toMatch(/TypeError/);
      const noCors = await pageFetch(hostile, refreshUrl, { method: 'POST', mode: 'no-cors' });
      expect(noCors.status).toBe(0);
      const read = await pageFetch(hostile, refreshUrl, { method: 'POST' });
      expect(read.blocked).toMatch(/TypeError/);

      // None of that spent the cookie's token: the app refreshes on.
      const third = await pageFetch(page, refreshUrl, { method: 'POST', headers: { 'x-tessera-csrf': '1' } });
      expect(third.status, JSON.stringify(third)).toBe(200);

      // Logout (bearer, credentials included) clears the cookie in the browser.
      const logout = await pageFetch(page, `${tessera.url}/v1/session/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${third.body.access_token}` },
      });
      expect(logout.status).toBe(200);
      expect(await context.cookies(tessera.url + '/v1/token/refresh')).toEqual([]);
      const afterLogout = await pageFetch(page, refreshUrl, { method: 'POST', headers: { 'x-tessera-csrf': '1' } });
      expect(afterLogout.status).toBe(401);
      expect(afterLogout.body.error).toBe('token_missing');
    } finally {
      await context.close();
    }
  });
});
