// client.realtime() in a real browser (Debian chromium via playwright-core): the page's own
// WebSocket, through one same-origin node:http server that serves the page and the bundled client
// and forwards /v1/* (HTTP and the socket upgrade) to the Tessera server.
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FastForwardClock } from '../../server/src/core/clock.js';
import { launchChromium } from '../../server/test/chromium.js';
import { call, testApiKey } from '../../server/test/helpers.js';
import { type RealtimeServer, signIn, startRealtimeServer } from '../../server/test/realtime/sockets.js';
import { bundleForBrowser } from './browser-bundle.js';
import { forward, listenOrigin } from './same-origin-proxy.js';

/** `/` an empty page, `/client.js` the bundle, `/v1/*` forwarded; upgrades are piped to the server as raw TCP. */
async function startOrigin(upstream: string, bundle: string): Promise<{ url: string; refreshes(): number; close(): Promise<void> }> {
  let refreshes = 0;
  const tunnels = new Set<Socket>();
  const listening = await listenOrigin(async (path, request, response) => {
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>realtime</title>');
    if (path === '/client.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    if (!path.startsWith('/v1/')) return void response.writeHead(404).end();
    if (path === '/v1/token/refresh') refreshes++;
    await forward(upstream, request, response);
  });
  listening.server.on('upgrade', (request: IncomingMessage, client: Socket, head: Buffer) => {
    const target = new URL(upstream);
    const tunnel = connect(Number(target.port), target.hostname, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      tunnel.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length > 0) tunnel.write(head);
      client.pipe(tunnel).pipe(client);
    });
    for (const socket of [client, tunnel]) {
      tunnels.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => tunnels.delete(socket));
    }
  });
  return {
    url: listening.url,
    refreshes: () => refreshes,
    close: () => {
      for (const socket of tunnels) socket.destroy();
      return listening.close();
    },
  };
}

/** Loads the client in `page`, holds `grant`, opens `realtime()` with the page's own WebSocket, records what it hears. */
async function openRealtimePage(page: Page, origin: string, grant: unknown): Promise<void> {
  await page.goto(`${origin}/`);
  await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
  await page.waitForFunction(() => 'tesseraLib' in globalThis);
  await page.evaluate((grant) => {
    const scope = globalThis as Record<string, any>;
    const heard: unknown[] = (scope.heard = []);
    const client = scope.tesseraLib.createSessionClient({
      baseUrl: location.origin,
      handler: {
        onSessionRevoked: (reason: string) => heard.push({ name: 'revoked', reason }),
        onSessionExpired: () => heard.push({ name: 'expired' }),
        onSessionClosed: (cause: string) => heard.push({ name: 'closed', cause }),
        onSessionError: (error: { code: string }) => heard.push({ name: 'error', code: error.code }),
      },
    });
    client.setSession(grant);
    scope.messages = [];
    scope.socket = client.realtime({ onMessage: (data: unknown) => scope.messages.push(data) });
    scope.client = client;
  }, grant);
  await page.evaluate(() => (globalThis as Record<string, any>).socket.opened());
}

let bundle: string;
let browser: Browser;
let server: RealtimeServer | null = null;
let origin: Awaited<ReturnType<typeof startOrigin>> | null = null;

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

describe('client.realtime() in chromium', () => {
  it("a page's socket outlives several refreshes: re-authenticated in band, never reconnected, messages both ways", async () => {
    // Server and page on one clock that jumps: 15-minute tokens, refreshed a minute before their exp
    // (the client's default leeway). Each jump lands past the refresh and a minute short of the exp,
    // so a busy machine slows the test down instead of letting a token run out under the socket.
    const clock = new FastForwardClock();
    server = await startRealtimeServer({
      time: clock,
      config: { flows: { brief: { access_token_ttl: 900 } } },
      realtime: { onMessage: (connection, data) => void connection.send({ echo: data }) },
    });
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url, 'alice', 'brief');
    const context = await browser.newContext();
    try {
      await context.clock.install({ time: clock.now() });
      const page = await context.newPage();
      await openRealtimePage(page, origin.url, grant);
      // Three token lifetimes: each time the server's clock first (its socket deadlines are not due
      // yet), then the page's, whose refresh is then due and re-authenticates the socket in band.
      for (let lifetime = 1; lifetime <= 3; lifetime++) {
        clock.fastForward(845);
        await context.clock.fastForward(845_000);
        await page.waitForFunction((count) => (globalThis as Record<string, any>).socket.reauthentications >= count, lifetime, { timeout: 20_000 });
        // The server has taken the new token (the page counts a re-auth as it sends it): the next jump
        // does not pass the deadline of the one before.
        await expect
          .poll(() => (server!.realtime.connectionsOfSession(grant.session.id)[0]?.claims?.exp ?? 0) * 1000 - clock.now(), { timeout: 10_000 })
          .toBeGreaterThan(850_000);
        // And messages go both ways on the same socket. (A re-auth still waiting for its `ready` when
        // the page's clock jumps is not given up: its timer fires late, as after a sleep, and waits again.)
        await page.evaluate((lifetime) => (globalThis as Record<string, any>).socket.send({ ping: lifetime }), lifetime);
        await page.waitForFunction(
          (lifetime) => (globalThis as Record<string, any>).messages.some((message: any) => message?.echo?.ping === lifetime),
          lifetime,
          { timeout: 10_000 },
        );
      }

      const state = await page.evaluate(() => {
        const { socket } = globalThis as Record<string, any>;
        socket.send({ text: 'still here' });
        return { status: socket.status, reconnects: socket.reconnects, reauthentications: socket.reauthentications, sessionId: socket.sessionId };
      });
      // A socket the server dropped says why first (its heartbeat is set past the jumps).
      expect(server.realtime.dropped).toEqual({ slowConsumer: 0, heartbeat: 0 });
      expect(state).toMatchObject({ status: 'open', reconnects: 0, sessionId: grant.session.id });
      expect(state.reauthentications).toBeGreaterThanOrEqual(3);
      expect(origin.refreshes()).toBeGreaterThanOrEqual(3);
      await page.waitForFunction(() => (globalThis as Record<string, any>).messages.length > 3, undefined, { timeout: 5000 });
      expect(await page.evaluate(() => (globalThis as Record<string, any>).messages)).toEqual([
        { echo: { ping: 1 } },
        { echo: { ping: 2 } },
        { echo: { ping: 3 } },
        { echo: { text: 'still here' } },
      ]);
      const [connection] = server.realtime.connectionsOfSession(grant.session.id);
      // Past the first token's exp on the server's clock, the socket holds a token that is not.
      expect(clock.now()).toBeGreaterThan(Date.parse(grant.access_token_expires_at));
      expect(connection!.claims!.exp * 1000).toBeGreaterThan(clock.now());
      expect(server.realtime.size).toBe(1);
      expect(await page.evaluate(() => (globalThis as Record<string, any>).heard)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('an admin revoke reaches the page through its socket: onSessionRevoked("admin"), onSessionClosed, socket closed', async () => {
    server = await startRealtimeServer();
    origin = await startOrigin(server.url, bundle);
    const grant = await signIn(server.url);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await openRealtimePage(page, origin.url, grant);
      const revoked = await call(`${server.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: testApiKey });
      expect(revoked.status).toBeLessThan(300);
      await page.waitForFunction(() => (globalThis as Record<string, any>).socket.status === 'closed', undefined, { timeout: 2000 });
      expect(await page.evaluate(() => (globalThis as Record<string, any>).heard)).toEqual([
        { name: 'revoked', reason: 'admin' },
        { name: 'closed', cause: 'session_revoked' },
      ]);
      expect(await page.evaluate(() => (globalThis as Record<string, any>).client.state)).toBe('ended');
    } finally {
      await context.close();
    }
  });
});
