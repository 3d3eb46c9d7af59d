import { type ClientOptions, WebSocket } from 'ws';
import { type Clock, ManualClock, type Scheduler, systemClock } from '../../src/core/clock.js';
import { attachRealtime, type RealtimeGateway, type RealtimeOptions } from '../../src/realtime/gateway.js';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

/** A frame the server sent, parsed. */
export type Frame = { type: string; [key: string]: any };

/** A test's view of one client socket: every frame received, and waits with timeouts. */
export interface TestSocket {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** Headers of the upgrade response. */
  readonly upgradeHeaders: Record<string, string | string[] | undefined>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  /** The next frame of `type` not yet taken (earlier ones included); rejects after `timeoutMs`. */
  next(type: string, timeoutMs?: number): Promise<Frame>;
  sendJson(value: unknown): void;
  auth(accessToken: string): void;
}

/** Opens a socket to `url` (http://… is turned into ws://…) and waits until it is open. */
export async function openSocket(url: string, options: ClientOptions = {}): Promise<TestSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), options);
  const frames: Frame[] = [];
  let upgradeHeaders: Record<string, string | string[] | undefined> = {};
  ws.once('upgrade', (response) => (upgradeHeaders = response.headers));
  const taken = new Set<Frame>();
  const waiters = new Set<() => void>();
  ws.on('message', (raw) => {
    frames.push(JSON.parse(raw.toString()) as Frame);
    for (const waiter of [...waiters]) waiter();
  });
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString(), at: Date.now() });
      for (const waiter of [...waiters]) waiter();
    });
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    upgradeHeaders,
    closed,
    next(type, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const frame = frames.find((each) => each.type === type && !taken.has(each));
          if (frame) {
            taken.add(frame);
            done();
            resolve(frame);
          } else if (ws.readyState === WebSocket.CLOSED) {
            done();
            reject(new Error(`socket closed before a "${type}" frame; got ${JSON.stringify(frames.map((each) => each.type))}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no "${type}" frame within ${timeoutMs} ms; got ${JSON.stringify(frames.map((each) => each.type))}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    sendJson(value) {
      ws.send(JSON.stringify(value));
    },
    auth(accessToken) {
      ws.send(JSON.stringify({ type: 'auth', access_token: accessToken }));
    },
  };
}

export interface RealtimeServer extends TestServer {
  readonly realtime: RealtimeGateway;
  readonly socketUrl: string;
}

/**
 * The whole server with the socket protocol at /v1/realtime. On the system clock (timers are real)
 * by default; with `time: 'manual'`, on a `ManualClock` that is also its scheduler: socket
 * deadlines, the heartbeat and the auth timeout fire when the test calls `server.clock.advance`.
 * Sockets and the database stay real either way, so a test waits for what a timer sent (a frame, a
 * close) before moving the clock again; and one move across two heartbeats (60 s by default) drops
 * every socket, as no pong can arrive in between. Or `time` is a clock that is its own scheduler
 * (a `FastForwardClock`, shared with the client's timers), and the server runs on it; its heartbeat
 * is then a day unless the test sets one. A jump fires a due heartbeat at once, with no turn for the
 * pong of a ping sent just before it to arrive, and drops a socket no real night would drop.
 */
export async function startRealtimeServer(
  options: { config?: unknown; realtime?: Omit<RealtimeOptions, 'tessera'>; time?: 'system' | 'manual' | (Clock & Scheduler) } = {},
): Promise<RealtimeServer> {
  const given = typeof options.time === 'object' ? options.time : null;
  const scheduler = options.time === 'manual' ? new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0)) : given;
  const server = await startServer({ clock: scheduler ?? systemClock, ...(scheduler ? { scheduler } : {}), config: options.config ?? {} });
  const realtime = attachRealtime(server.app.server, { tessera: server.tessera, ...(given ? { heartbeatInterval: 86_400 } : {}), ...options.realtime });
  return {
    ...server,
    realtime,
    socketUrl: `${server.url.replace(/^http/, 'ws')}/v1/realtime`,
    async close() {
      await realtime.close();
      await server.close();
    },
  };
}

/** `POST /v1/sessions` for `userId` in `flow`; the grant as JSON. */
export async function signIn(url: string, userId = 'alice', flow?: string): Promise<any> {
  const created = await call(`${url}/v1/sessions`, { body: flow ? { user_id: userId, flow } : { user_id: userId }, token: testApiKey });
  if (created.status !== 201) throw new Error(`sign-in failed: ${created.status} ${created.text}`);
  return created.body;
}

/** A socket authenticated with `accessToken`, after its `ready`. */
export async function readySocket(socketUrl: string, accessToken: string, options?: ClientOptions): Promise<{ socket: TestSocket; ready: Frame }> {
  const socket = await openSocket(socketUrl, options);
  socket.auth(accessToken);
  const ready = await socket.next('ready');
  return { socket, ready };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
