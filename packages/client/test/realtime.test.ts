// client.realtime() against the real server (real sockets, real SQLite), with `ws` as the WebSocket
// (Node 20 has no global one). Where token lifetimes must pass, the server and the client share a
// `FastForwardClock`: time runs as it does, and the test jumps both over the lifetimes together.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { FastForwardClock } from '../../server/src/core/clock.js';
import { call, testApiKey } from '../../server/test/helpers.js';
import { type RealtimeServer, signIn, startRealtimeServer } from '../../server/test/realtime/sockets.js';
import {
  connectSessionWorker,
  createSessionClient,
  createSessionWorkerHost,
  type MessagePortLike,
  type RealtimeSocket,
  type SessionClient,
  SessionEndedError,
  type TokenGrant,
} from '../src/index.js';
import { fastForwardTimers, passTime } from './fast-forward-timers.js';

let server: RealtimeServer | null = null;
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server?.close();
  server = null;
});

function spyHandler() {
  return {
    onSessionRefreshed: vi.fn(),
    onSessionExpired: vi.fn(),
    onSessionRevoked: vi.fn(),
    onSessionError: vi.fn(),
    onSessionClosed: vi.fn(),
  };
}

/**
 * A server whose sockets echo app messages, and a client holding a fresh session of `flow`; both on
 * `clock` when given.
 */
async function setUp(config: unknown = {}, flow?: string, clock?: FastForwardClock) {
  server = await startRealtimeServer({
    config,
    realtime: { onMessage: (connection, data) => void connection.send({ echo: data }) },
    ...(clock ? { time: clock } : {}),
  });
  const refreshes = { count: 0 };
  server.tessera.sessions.onSessionEvent((event) => {
    if (event.type === 'refreshed' && !event.replayed) refreshes.count++;
  });
  const handler = spyHandler();
  const client = createSessionClient({ baseUrl: server.url, handler, tabs: false, ...(clock ? { timers: fastForwardTimers(clock) } : {}) });
  const grant = (await signIn(server.url, 'alice', flow)) as TokenGrant;
  client.setSession(grant);
  cleanups.push(() => client.dispose());
  return { client, handler, grant, refreshes };
}

/** Sockets that sent `auth` and have not heard `ready` yet: a jump of less than a wake-up's lateness then would fire the client's ready timeout. */
const awaitingReady = new Set<WebSocket>();

/** `ws`'s WebSocket, watched for `auth` frames sent and `ready` frames heard. */
class WatchedWebSocket extends WebSocket {
  constructor(address: string) {
    super(address);
    const send = this.send.bind(this);
    this.send = ((data: string) => {
      if (data.includes('"type":"auth"')) awaitingReady.add(this);
      send(data);
    }) as WebSocket['send'];
    this.on('message', (raw) => {
      if (raw.toString().includes('"type":"ready"')) awaitingReady.delete(this);
    });
    this.on('close', () => awaitingReady.delete(this));
  }
}

function openSocket(client: SessionClient, url?: string): RealtimeSocket {
  const socket = client.realtime({ WebSocket: WatchedWebSocket, reconnect: { initialDelay: 0.1, maxDelay: 0.5 }, ...(url ? { url } : {}) });
  cleanups.push(() => socket.close());
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Whether the server's socket of `grant`'s session holds a token still valid at `at`, and no client socket awaits a `ready`. */
function socketTokenHolds(grant: TokenGrant): (at: number) => boolean {
  return (at) =>
    awaitingReady.size === 0 && server!.realtime.connectionsOfSession(grant.session!.id).some((connection) => (connection.claims?.exp ?? 0) * 1000 > at);
}

/** A TCP proxy to `target` whose connections the test can cut, and which can refuse new ones for a while. */
async function startCuttableProxy(targetPort: number): Promise<{ port: number; cut(): void; refuse(on: boolean): void; close(): Promise<void> }> {
  const open = new Set<Socket>();
  let refusing = false;
  const proxy: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => open.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => {
      for (const socket of open) socket.destroy();
    },
    refuse: (on) => {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

describe('client.realtime()', () => {
  it('stays open across three access-token lifetimes: refreshed once each, re-authenticated in band, never reconnected; app messages both ways', async () => {
    const clock = new FastForwardClock();
    const { client, handler, grant, refreshes } = await setUp({ flows: { brief: { access_token_ttl: 60 } } }, 'brief', clock);
    const socket = openSocket(client);
    const received: unknown[] = [];
    socket.onMessage((data) => received.push(data));
    socket.send('queued before ready');
    await socket.opened();
    expect(socket.sessionId).toBe(grant.session!.id);
    const firstExp = Date.parse(grant.access_token_expires_at!);
    await passTime(clock, (firstExp + 3 * 60_000 + 500 - clock.now()) / 1000, { stepSeconds: 15, holds: socketTokenHolds(grant) });

    expect(socket.status).toBe('open');
    expect(socket.reconnects).toBe(0);
    expect(socket.reauthentications).toBeGreaterThanOrEqual(3);
    // One refresh per lifetime, shared by the client's schedule and the socket's token_expiring.
    expect(refreshes.count).toBeGreaterThanOrEqual(3);
    expect(refreshes.count).toBeLessThanOrEqual(socket.reauthentications + 1);
    expect(server!.realtime.connectionsOfSession(grant.session!.id)).toHaveLength(1);
    const claims = server!.realtime.connectionsOfSession(grant.session!.id)[0]!.claims!;
    expect(claims.exp * 1000).toBeGreaterThan(clock.now());

    socket.send({ text: 'hello' });
    await until(() => received.length === 2, 5000, 'echoed');
    expect(received).toEqual([{ echo: 'queued before ready' }, { echo: { text: 'hello' } }]);
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
    expect(handler.onSessionError).not.toHaveBeenCalled();
  }, 30_000);

  it('one-second tokens: token_expiring comes once per exp, so the socket and the client do not refresh in a loop', async () => {
    // `exp` is whole seconds: a refresh within the second of `iat` brings a token with the same `exp`.
    // The server warned again after each such re-authentication, and the client refreshed again: ~30
    // refreshes a second. (A 1 s token cannot be replaced before it expires: the socket reconnects each second.)
    const { client, handler, refreshes } = await setUp({ flows: { brief: { access_token_ttl: 1 } } }, 'brief');
    const socket = openSocket(client);
    await socket.opened();
    const before = refreshes.count;
    await sleep(3000);
    expect(refreshes.count - before).toBeGreaterThanOrEqual(2);
    expect(refreshes.count - before).toBeLessThanOrEqual(12);
    expect(socket.status).not.toBe('closed');
    expect(client.state).not.toBe('ended');
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
  });

  it('admin revoke: onSessionRevoked("admin") and onSessionClosed once each, the socket closed for good, the session ended in the client', async () => {
    const { client, handler, grant } = await setUp();
    const socket = openSocket(client);
    await socket.opened();
    const started = Date.now();
    const revoked = await call(`${server!.url}/v1/sessions/${grant.session!.id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBeLessThan(300);
    await until(() => handler.onSessionRevoked.mock.calls.length > 0, 1000, 'told');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(handler.onSessionRevoked).toHaveBeenCalledWith('admin', expect.any(SessionEndedError));
    expect(socket.status).toBe('closed');
    expect(client.state).toBe('ended');
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
    // A later HTTP call that hears the same ending does not tell the handler again.
    await client.fetch(`${server!.url}/v1/session`).catch(() => {});
    await sleep(300);
    expect(handler.onSessionRevoked).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).toHaveBeenCalledWith('session_revoked');
    expect(socket.reconnects).toBe(0);
  });

  it('session expiry: onSessionExpired once, then onSessionClosed("session_expired")', async () => {
    const clock = new FastForwardClock();
    const { client, handler, grant } = await setUp({ flows: { short: { absolute_lifetime: 600 } } }, 'short', clock);
    const socket = openSocket(client);
    await socket.opened();
    clock.fastForward((Date.parse(grant.session!.expires_at) - clock.now()) / 1000 + 0.1);
    await until(() => socket.status === 'closed', 5000, 'closed');
    expect(handler.onSessionExpired).toHaveBeenCalledTimes(1);
    expect(handler.onSessionExpired.mock.calls[0]![0]).toMatchObject({ code: 'session_expired', reason: 'absolute' });
    expect(handler.onSessionClosed).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).toHaveBeenCalledWith('session_expired');
  });

  it('logout() closes the socket; onSessionClosed("logout") once', async () => {
    const { client, handler } = await setUp();
    const socket = openSocket(client);
    await socket.opened();
    await client.logout();
    expect(socket.status).toBe('closed');
    await sleep(200);
    expect(handler.onSessionClosed).toHaveBeenCalledTimes(1);
    expect(handler.onSessionClosed).toHaveBeenCalledWith('logout');
  });

  it('after a network loss long enough for the token to expire: reconnects with backoff and a fresh token', async () => {
    const clock = new FastForwardClock();
    const { client, handler, grant } = await setUp({ flows: { brief: { access_token_ttl: 60 } } }, 'brief', clock);
    const proxy = await startCuttableProxy(Number(new URL(server!.url).port));
    cleanups.push(() => proxy.close());
    const socket = openSocket(client, `ws://127.0.0.1:${proxy.port}/v1/realtime`);
    await socket.opened();
    const statuses: string[] = [];
    socket.onStatus((status) => statuses.push(status));
    client.dispose(); // no scheduled refreshes: as if the device slept
    proxy.refuse(true);
    proxy.cut();
    await until(() => socket.status === 'reconnecting', 5000, 'reconnecting');
    clock.fastForward((Date.parse(grant.access_token_expires_at!) + 500 - clock.now()) / 1000);
    proxy.refuse(false);
    await until(() => socket.status === 'open', 10_000, 'open again');
    expect(socket.reconnects).toBeGreaterThanOrEqual(1);
    const [connection] = server!.realtime.connectionsOfSession(grant.session!.id);
    expect(connection!.claims!.exp * 1000).toBeGreaterThan(clock.now());
    expect(statuses[0]).toBe('reconnecting');
    expect(statuses.at(-1)).toBe('open');
    expect(handler.onSessionClosed).not.toHaveBeenCalled();
  }, 20_000);

  it('a server restart (1001): reconnects and carries on', async () => {
    const { client } = await setUp();
    const socket = openSocket(client);
    await socket.opened();
    for (const connection of server!.realtime.connections()) connection.close(1001, 'restart');
    await until(() => socket.status === 'reconnecting', 5000, 'reconnecting');
    await socket.opened();
    expect(socket.reconnects).toBe(1);
  });

  it('worker mode: a page socket re-authenticates with each token the worker refreshes, and a revocation is told to the page once', async () => {
    const clock = new FastForwardClock();
    server = await startRealtimeServer({ config: { flows: { brief: { access_token_ttl: 60 } } }, time: clock });
    const workerHost = createSessionWorkerHost({ baseUrl: server.url, tabs: false, timers: fastForwardTimers(clock) });
    const channel = new MessageChannel();
    workerHost.connect(channel.port1 as unknown as MessagePortLike);
    const handler = spyHandler();
    const page = connectSessionWorker(channel.port2 as unknown as MessagePortLike, { handler });
    cleanups.push(() => {
      page.dispose();
      workerHost.dispose();
      channel.port1.close();
      channel.port2.close();
    });
    await page.ready;
    const grant = (await signIn(server.url, 'alice', 'brief')) as TokenGrant;
    page.setSession(grant);
    await page.getAccessToken();
    const socket = openSocket(page, `${server.url.replace(/^http/, 'ws')}/v1/realtime`);
    await socket.opened();
    const firstExp = Date.parse(grant.access_token_expires_at!);
    await passTime(clock, (firstExp + 2 * 60_000 + 500 - clock.now()) / 1000, { stepSeconds: 15, holds: socketTokenHolds(grant) });
    expect(socket.status).toBe('open');
    expect(socket.reconnects).toBe(0);
    expect(socket.reauthentications).toBeGreaterThanOrEqual(2);

    const revoked = await call(`${server.url}/v1/sessions/${grant.session!.id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBeLessThan(300);
    await until(() => handler.onSessionRevoked.mock.calls.length > 0, 2000, 'told');
    expect(socket.status).toBe('closed');
    await sleep(300);
    expect(handler.onSessionRevoked).toHaveBeenCalledTimes(1);
    expect(handler.onSessionRevoked).toHaveBeenCalledWith('admin', expect.any(SessionEndedError));
    expect(handler.onSessionClosed).toHaveBeenCalledTimes(1);
  }, 30_000);
});
