// Shared by the browser suites (browser.test.ts, browser-frozen-tabs.test.ts): one origin that serves
// the page and the bundled client and forwards /v1/* to the Tessera server, and the page-side helpers.
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import type { FastForwardClock } from '../../server/src/core/clock.js';
import { call, testApiKey } from '../../server/test/helpers.js';
import type { TokenGrant } from '../src/index.js';
import { forward, listenOrigin } from './same-origin-proxy.js';

export const refreshPath = '/v1/token/refresh';

/**
 * The tests on a clock that jumps use the default flow's realistic lifetimes (15-minute tokens, a
 * spent token replayed for 10 s) and the client's default leeway of a minute: a jump of `dueIn`
 * seconds makes a fresh token due, a minute before its exp. The server and the pages share the
 * clock, so a slow machine slows such a test down; it does not let a token run out under it.
 */
export const leeway = 60;
export const dueIn = 845;

export interface Origin {
  readonly url: string;
  /** How many requests reached the server, by path. */
  count(path: string): number;
  /** When each request to `path` reached the server (ms since epoch), in order. */
  times(path: string): number[];
  /** The paths of the requests that reached the server, in order. */
  paths(): string[];
  /** While down, every `/v1/*` request has its connection cut: the browser's fetch fails as if offline. */
  setDown(down: boolean): void;
  /** How many requests had their connection cut while down. */
  refused(): number;
  /** Holds refresh requests back until the returned function is called. */
  holdRefreshes(): () => void;
  /** How many refresh requests reached the origin, held back or not. */
  arrivedRefreshes(): number;
  close(): Promise<void>;
}

/** One origin: `/` is an empty page, `/client.js` the bundled client, `/v1/*` goes to the Tessera server. */
export async function startOrigin(upstream: string, bundle: string): Promise<Origin> {
  const seen: { readonly path: string; readonly at: number }[] = [];
  let refreshGate: Promise<void> = Promise.resolve();
  let down = false;
  let refused = 0;
  let arrivedRefreshes = 0;
  const listening = await listenOrigin(async (path, request, response) => {
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>tessera</title>');
      return;
    }
    if (path === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
      return;
    }
    if (path === '/session-worker.js') {
      // The worker mode of the SDK: the session lives in this SharedWorker, leeway from the query.
      const worker = `import { serveSessionWorker } from '/client.js';
serveSessionWorker({ baseUrl: self.location.origin, leeway: Number(new URL(self.location.href).searchParams.get('leeway') ?? 60) });`;
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(worker);
      return;
    }
    if (!path.startsWith('/v1/')) {
      response.writeHead(404).end();
      return;
    }
    if (down) {
      refused += 1;
      request.socket.destroy();
      return;
    }
    if (path === refreshPath) {
      arrivedRefreshes += 1;
      await refreshGate;
    }
    seen.push({ path, at: Date.now() });
    await forward(upstream, request, response);
  });
  return {
    url: listening.url,
    count: (path) => seen.filter((each) => each.path === path).length,
    times: (path) => seen.filter((each) => each.path === path).map((each) => each.at),
    paths: () => seen.map((each) => each.path),
    refused: () => refused,
    arrivedRefreshes: () => arrivedRefreshes,
    setDown: (value) => {
      down = value;
    },
    holdRefreshes() {
      let release = () => {};
      refreshGate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    close: () => listening.close(),
  };
}

export async function signIn(url: string, flow?: string): Promise<TokenGrant> {
  const created = await call(`${url}/v1/sessions`, { body: flow ? { user_id: 'alice', flow } : { user_id: 'alice' }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body as TokenGrant;
}

export interface ClientSettings {
  readonly leeway: number;
  /** Seconds between refresh retries (initial, max). */
  readonly retry?: { readonly initialDelay: number; readonly maxDelay: number };
  /** Where the client keeps its session: memory (the default), or `localStorage` with or without the refresh token. */
  readonly storage?: 'memory' | 'local' | 'local-refresh';
  readonly refreshTokenInCookie?: boolean;
  /** The server's origin, when it is not the page's (cookie mode with CORS). */
  readonly baseUrl?: string;
  /** Proofs of a DPoP key the page keeps in IndexedDB, on every refresh (the SDK's `dpop: true`). */
  readonly dpop?: boolean;
}

/** What the page's handler heard, in order: the callback's name and its first argument, summarised. */
export interface HeardEvent {
  readonly name: string;
  readonly detail: string | null;
}

/** Loads the client in `page` as `window.tessera`, with no session yet; its handler records into `window.heard`. */
export async function openClient(page: Page, origin: string, settings: number | ClientSettings): Promise<void> {
  const {
    leeway,
    retry,
    storage = 'memory',
    refreshTokenInCookie = false,
    baseUrl = null,
    dpop = false,
  } = typeof settings === 'number' ? { leeway: settings, retry: undefined } : settings;
  await page.goto(`${origin}/`);
  // A module script, not `import()` inside evaluate: vitest rewrites dynamic imports in test code.
  await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
  await page.waitForFunction(() => 'tesseraLib' in globalThis);
  await page.evaluate(
    ({ leeway, retry, storage, refreshTokenInCookie, baseUrl, dpop }) => {
      const scope = globalThis as Record<string, unknown>;
      const { createSessionClient, localStorageAdapter } = scope.tesseraLib as typeof import('../src/index.js');
      const heard: { name: string; detail: string | null }[] = [];
      scope.heard = heard;
      const record = (name: string) => (arg?: unknown) =>
        heard.push({ name, detail: typeof arg === 'string' ? arg : ((arg as { code?: string } | undefined)?.code ?? null) });
      scope.tessera = createSessionClient({
        baseUrl: baseUrl ?? location.origin,
        leeway,
        ...(retry ? { retry } : {}),
        ...(storage === 'memory' ? {} : { storage: localStorageAdapter({ persistRefreshToken: storage === 'local-refresh' }) }),
        ...(refreshTokenInCookie ? { refreshTokenInCookie } : {}),
        ...(dpop ? { dpop } : {}),
        handler: {
          onSessionRefreshed: record('refreshed'),
          onSessionExpired: record('expired'),
          onSessionRevoked: record('revoked'),
          onSessionError: record('error'),
          onSessionClosed: record('closed'),
        },
      });
    },
    { leeway, retry, storage, refreshTokenInCookie, baseUrl, dpop },
  );
}

/**
 * Waits until the access token `page` holds has run out on the server's clock. A page that kept
 * refreshing (in the background, say) pushes its `exp` on and fails this by timing out.
 */
export async function heldTokenRunOut(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const client = (globalThis as Record<string, unknown>).tessera as import('../src/index.js').SessionClient;
      const expiresAt = client.accessTokenExpiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
      return Date.now() - client.clockSkew > expiresAt + 500;
    },
    undefined,
    { timeout: 15_000 },
  );
}

/** In a page opened with `openClient`: whether its handler heard `count` refreshes or more (for `waitForFunction`). */
export function refreshedAtLeast(count: number): boolean {
  return ((globalThis as Record<string, unknown>).heard as HeardEvent[]).filter((each) => each.name === 'refreshed').length >= count;
}

export async function heard(page: Page): Promise<HeardEvent[]> {
  return page.evaluate(() => (globalThis as Record<string, unknown>).heard as HeardEvent[]);
}

/** Makes every page of `context` report itself hidden until `setPageVisible(page, true)`. */
export async function startHidden(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const scope = globalThis as Record<string, unknown>;
    scope.pageHidden = true;
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (scope.pageHidden ? 'hidden' : 'visible'), configurable: true });
    Object.defineProperty(Document.prototype, 'hidden', { get: () => scope.pageHidden === true, configurable: true });
  });
}

/** Shows or hides `page` as a tab switch would: the flag, then `visibilitychange`. */
export async function setPageVisible(page: Page, visible: boolean): Promise<void> {
  await page.evaluate((visible) => {
    (globalThis as Record<string, unknown>).pageHidden = !visible;
    document.dispatchEvent(new Event('visibilitychange'));
  }, visible);
}

/**
 * In `page`: `setSession(grant)` when given, then, in the same task, `n` concurrent `getAccessToken()`
 * calls; `collect` then returns their distinct answers.
 */
export async function startTokenCalls(page: Page, n: number, grant: TokenGrant | null = null): Promise<{ collect(): Promise<string[]> }> {
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

export async function concurrentTokens(page: Page, n: number, grant: TokenGrant | null = null): Promise<string[]> {
  return (await startTokenCalls(page, n, grant)).collect();
}

/**
 * Time passes on the server and in every page of `context` at once, as for a laptop that slept:
 * `clock` is the server's, and the context's clock was installed at `clock.now()`. The server goes
 * first, so a page that refreshes on waking is answered on the moved clock.
 */
export async function passTime(context: BrowserContext, clock: FastForwardClock, seconds: number): Promise<void> {
  clock.fastForward(seconds);
  await context.clock.fastForward(seconds * 1000);
}

/**
 * `passTime` for the server and `pages` only: the context's `clock.fastForward` evaluates in every
 * page, and waits for ever on one paused in the debugger. Playwright's page clock is driven here
 * directly (`__pwClock`, what `clock.fastForward` evaluates); a page opened later does not see it.
 */
export async function passTimeIn(pages: readonly Page[], clock: FastForwardClock, seconds: number): Promise<void> {
  clock.fastForward(seconds);
  for (const page of pages) await page.evaluate(fastForwardPage, seconds * 1000);
}

/** In a page: its Playwright clock jumps `ms` ahead, firing the timers that came due once. */
function fastForwardPage(ms: number): Promise<void> {
  return (globalThis as unknown as { __pwClock: { controller: { fastForward(ms: number): Promise<void> } } }).__pwClock.controller.fastForward(ms);
}
