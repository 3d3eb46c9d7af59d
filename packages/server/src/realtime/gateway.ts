import { type Server as HttpServer, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Clock, type Scheduler, systemScheduler } from '../core/clock.js';
import { defaultSocketsPerClient } from '../core/defaults.js';
import { docsBaseUrl, errorEnvelope } from '../core/error-envelope.js';
import { TesseraError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { SessionService } from '../core/sessions.js';
import { clientSubject } from '../rate-limits/subjects.js';
import { type ConnectionContext, type RealtimeConnection, SocketConnection } from './connection.js';
import { SessionChanges } from './session-changes.js';

/** The parts of a Tessera node the socket protocol needs (a `Tessera` from `createTessera` fits). */
export interface RealtimeCore {
  readonly sessions: SessionService;
  readonly clock: Clock;
  /** Where socket deadlines and the heartbeat wait; the system's timers when absent. */
  readonly scheduler?: Scheduler;
  /** The base of `doc_url`s (the request's `Host` is never used). */
  readonly issuer: string;
}

export interface RealtimeOptions {
  readonly tessera: RealtimeCore;
  /** Path served on an HTTP server. Default `/v1/realtime`. Ignored for a `ws` server (it has its own). */
  readonly path?: string;
  /** Seconds before `exp` at which `token_expiring` is sent, capped at half the token's life. Default 60. */
  readonly leeway?: number;
  /** Seconds a new socket has to send `auth` (else close 4008). Default 10. */
  readonly authTimeout?: number;
  /** Seconds between pings; a socket that missed the previous pong is dropped. Default 30. */
  readonly heartbeatInterval?: number;
  /** Largest incoming message, bytes (else close 1009). Default 64 KiB. Ignored for a `ws` server (set its `maxPayload`). */
  readonly maxPayload?: number;
  /** Bytes queued for one client before it is dropped as a slow consumer. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Incoming messages per socket: `burst` at once, `perSecond` sustained (else close 4429). Default 20/s, burst 40. */
  readonly messageRate?: { readonly perSecond: number; readonly burst: number };
  /**
   * Sockets open at once per client address (IPv6 by its /64), authenticated or not; the next upgrade
   * is refused with `429 rate_limited`. Default 500; null for no cap.
   */
  readonly maxSocketsPerClient?: number | null;
  /**
   * Answer an upgrade to any other path with `404 not_found` and close it. Default: only when no other
   * `upgrade` listener is on the server (one that is may own those paths). `tessera serve` owns them all.
   */
  readonly refuseOtherPaths?: boolean;
  /**
   * How a revocation's fan-out waits for the next turn of the event loop between chunks of sockets.
   * Default `setImmediate`. Tests pass one that holds the turns, to see what happens between them.
   */
  readonly deferTurn?: (turn: () => void) => void;
  /** Sockets a revocation's fan-out tells per turn of the event loop. Default 1,024 (`socketsPerTurn`). */
  readonly socketsPerTurn?: number;
  /**
   * The client's address for that cap. Default: the connection's peer. Behind a reverse proxy every
   * socket comes from the proxy: pass a function that reads `X-Forwarded-For` from trusted hops.
   */
  clientAddress?(request: IncomingMessage): string;
  /** A socket authenticated (its first `ready` was sent). */
  onConnection?(connection: RealtimeConnection): void;
  /**
   * The app's own `{ "type": "message", "data" }` frame from an authenticated socket. Runs in order
   * per socket (a returned promise is awaited); a throw closes that socket with 1011.
   */
  onMessage?(connection: RealtimeConnection, data: unknown): void | Promise<void>;
  /** An authenticated socket closed, with its close code (1006 when dropped). */
  onClose?(connection: RealtimeConnection, code: number): void;
}

/** The sockets attached to one server. */
export interface RealtimeGateway {
  /** Open sockets, authenticated or not. */
  readonly size: number;
  /** Open sockets that have authenticated. */
  readonly authenticatedSize: number;
  /** Authenticated sockets of one session. */
  connectionsOfSession(sessionId: string): RealtimeConnection[];
  /** Authenticated sockets of one user, across their sessions. */
  connectionsOfUser(userId: string): RealtimeConnection[];
  /** Every authenticated socket. */
  connections(): RealtimeConnection[];
  /** Sockets dropped so far without a close handshake, by cause. */
  readonly dropped: { readonly slowConsumer: number; readonly heartbeat: number };
  /** Detaches from the server and closes every socket with 1001 (going away). */
  close(): Promise<void>;
}

export const defaultRealtimePath = '/v1/realtime';

/** Open sockets per client address unless `maxSocketsPerClient` says otherwise. */
export const defaultMaxSocketsPerClient = defaultSocketsPerClient;

/** Seconds `close()` waits for clients to finish the close handshake before dropping them. */
const closeGrace = 2;

/**
 * Attaches the Tessera socket protocol (`auth`, `ready`, `token_expiring`, in-band re-auth,
 * `session_ended`, the 4xxx close codes) to a Node HTTP(S) server or to a `ws` server, so an app's
 * own socket server gets session-aware connections and can push its own messages over them.
 * Revocations reach the sockets through `sessions.onSessionEvent`, from this node or, with fan-out,
 * from any other: on the turns of the event loop after the revoking call has returned (so its HTTP
 * answer leaves first), a few hundred sockets a turn.
 *
 * @example
 * ```ts
 * const tessera = await createTessera({ store: await openStore({ dataDir: '.tessera' }) });
 * const server = http.createServer(app);
 * const realtime = attachRealtime(server, {
 *   tessera,
 *   path: '/chat',
 *   onMessage(connection, data) {
 *     for (const peer of realtime.connectionsOfUser(connection.userId!)) peer.send({ echo: data });
 *   },
 * });
 * server.listen(3000);
 * ```
 */
export function attachRealtime(target: HttpServer | HttpsServer | WebSocketServer, options: RealtimeOptions): RealtimeGateway {
  const { sessions, clock, issuer } = options.tessera;
  const scheduler = options.tessera.scheduler ?? systemScheduler;
  const path = options.path ?? defaultRealtimePath;
  const all = new Set<SocketConnection>();
  const bySession = new Map<string, Set<SocketConnection>>();
  const dropped = { slowConsumer: 0, heartbeat: 0 };
  let authenticatedSize = 0;
  const maxPerClient = options.maxSocketsPerClient === undefined ? defaultMaxSocketsPerClient : options.maxSocketsPerClient;
  const clientOf = (request: IncomingMessage) => clientSubject((options.clientAddress ?? peerAddress)(request));
  const openPerClient = new Map<string, number>();
  const clientOfConnection = new WeakMap<SocketConnection, string>();
  const overCap = (client: string) => maxPerClient !== null && (openPerClient.get(client) ?? 0) >= maxPerClient;
  const requestIds = new WeakMap<IncomingMessage, string>();
  const requestIdOf = (request: IncomingMessage): string => {
    let id = requestIds.get(request);
    if (!id) {
      id = newId('req_');
      requestIds.set(request, id);
    }
    return id;
  };

  const context: ConnectionContext = {
    sessions,
    clock,
    scheduler,
    leeway: options.leeway ?? 60,
    authTimeoutMs: (options.authTimeout ?? 10) * 1000,
    issuer,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    messageRate: options.messageRate ?? { perSecond: 20, burst: 40 },
    track(connection) {
      const sessionId = connection.sessionId!;
      let group = bySession.get(sessionId);
      if (!group) bySession.set(sessionId, (group = new Set()));
      group.add(connection);
      authenticatedSize++;
    },
    onAuthenticated(connection) {
      options.onConnection?.(connection);
    },
    async onMessage(connection, data) {
      await options.onMessage?.(connection, data);
    },
    onClosed(connection, code) {
      all.delete(connection);
      const client = clientOfConnection.get(connection);
      if (client !== undefined) {
        const left = (openPerClient.get(client) ?? 1) - 1;
        if (left > 0) openPerClient.set(client, left);
        else openPerClient.delete(client);
      }
      const sessionId = connection.sessionId;
      if (sessionId === null) return;
      const group = bySession.get(sessionId);
      if (group?.delete(connection)) authenticatedSize--;
      if (group?.size === 0) bySession.delete(sessionId);
      options.onClose?.(connection, code);
    },
    onTerminated(_connection, cause) {
      if (cause === 'slow_consumer') dropped.slowConsumer++;
      else dropped.heartbeat++;
    },
  };

  const ownServer = !(target instanceof WebSocketServer);
  const wss = ownServer ? new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 64 * 1024 }) : target;

  const onSocket = (ws: WebSocket, request: IncomingMessage) => {
    const client = clientOf(request);
    // An app's own `ws` server did the handshake already: past the cap, the socket is closed at once.
    if (overCap(client)) return ws.close(1013, 'too many sockets from this address');
    const connection = new SocketConnection(ws, request, requestIdOf(request), docsBaseUrl(issuer), context);
    all.add(connection);
    clientOfConnection.set(connection, client);
    openPerClient.set(client, (openPerClient.get(client) ?? 0) + 1);
  };
  const onHeaders = (headers: string[], request: IncomingMessage) => {
    headers.push(`X-Request-Id: ${requestIdOf(request)}`);
  };
  /** A refused upgrade still holds its client's place until its socket is gone (a client may never close). */
  const countUntilClosed = (client: string, socket: Duplex) => {
    openPerClient.set(client, (openPerClient.get(client) ?? 0) + 1);
    socket.once('close', () => {
      const left = (openPerClient.get(client) ?? 1) - 1;
      if (left > 0) openPerClient.set(client, left);
      else openPerClient.delete(client);
    });
  };
  // ws would answer a bad handshake in text/html; this answers with the envelope (own server only: an app's `ws` server is the app's).
  const onHandshakeError = (error: Error, socket: Duplex, request: IncomingMessage) => {
    const refusal = handshakeRefusal(error.message, request);
    countUntilClosed(clientOf(request), socket);
    refuseUpgrade(socket, refusal.error, requestIdOf(request), docsBaseUrl(issuer), clock.now(), refusal.headers);
  };
  wss.on('headers', onHeaders);
  if (ownServer) wss.on('wsClientError', onHandshakeError);
  if (!ownServer) wss.on('connection', onSocket);

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(request.url ?? '/', 'http://upgrade').pathname;
    const ours = pathname === path;
    // Another listener may own that path; alone (or told to), we answer rather than leave the socket hanging.
    if (!ours && !options.refuseOtherPaths && (target as HttpServer).listenerCount('upgrade') > 1) return;
    const client = clientOf(request);
    const baseUrl = docsBaseUrl(issuer);
    // Refused before the handshake, so a flood of sockets from one address costs no socket state.
    if (overCap(client)) {
      const error = new TesseraError('rate_limited', {
        message: 'Too many sockets are open from this address. Close some, then retry.',
        retryAfter: 5,
        details: [{ limit: 'sockets_per_ip', max_sockets: maxPerClient }],
      });
      refuseUpgrade(socket, error, requestIdOf(request), baseUrl, clock.now());
      return;
    }
    if (!ours) {
      countUntilClosed(client, socket);
      refuseUpgrade(socket, new TesseraError('not_found', { details: [{ path: pathname }] }), requestIdOf(request), baseUrl, clock.now());
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => onSocket(ws, request));
  };
  if (ownServer) (target as HttpServer).on('upgrade', onUpgrade);

  // Sockets are told after the revoking call has returned (and its HTTP answer has left), a chunk per turn.
  const changes = new SessionChanges({
    clock,
    baseUrl: docsBaseUrl(issuer),
    connectionsOf: (sessionId) => bySession.get(sessionId),
    ...(options.deferTurn ? { defer: options.deferTurn } : {}),
    ...(options.socketsPerTurn ? { socketsPerTurn: options.socketsPerTurn } : {}),
  });
  const stopListening = sessions.onSessionEvent((event) => {
    if (event.type === 'created' || !bySession.has(event.session.id)) return;
    changes.push(event.session);
  });

  const heartbeat = scheduler.setRepeating(
    (options.heartbeatInterval ?? 30) * 1000,
    () => {
      for (const connection of all) connection.heartbeat();
    },
    { unref: true },
  );

  const authenticated = () => [...bySession.values()].flatMap((group) => [...group]);
  let closing: Promise<void> | undefined;

  return {
    get size() {
      return all.size;
    },
    get authenticatedSize() {
      return authenticatedSize;
    },
    connectionsOfSession: (sessionId) => [...(bySession.get(sessionId) ?? [])],
    connectionsOfUser: (userId) => authenticated().filter((connection) => connection.userId === userId),
    connections: authenticated,
    dropped,
    close() {
      closing ??= (async () => {
        heartbeat.cancel();
        stopListening();
        changes.clear();
        wss.off('headers', onHeaders);
        wss.off('wsClientError', onHandshakeError);
        if (ownServer) (target as HttpServer).off('upgrade', onUpgrade);
        else wss.off('connection', onSocket);
        const sockets = [...wss.clients];
        for (const connection of all) connection.goAway();
        await waitForClose(sockets, closeGrace * 1000);
        if (ownServer) await new Promise<void>((resolve) => wss.close(() => resolve()));
      })();
      return closing;
    },
  };
}

/**
 * Waits until every socket closed; drops those still open after `timeoutMs`. On the wall clock, not the
 * scheduler: a shutdown waits on peers' sockets, and a test on manual time must still be able to close.
 */
async function waitForClose(sockets: WebSocket[], timeoutMs: number): Promise<void> {
  const open = sockets.filter((ws) => ws.readyState !== ws.CLOSED);
  if (open.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((ws) => new Promise((resolve) => ws.once('close', resolve)))),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  for (const ws of open) if (ws.readyState !== ws.CLOSED) ws.terminate();
}

/** The catalogue error (and headers) for a handshake `ws` refused with `message`. */
function handshakeRefusal(message: string, request: IncomingMessage): { error: TesseraError; headers: string[] } {
  if (message === 'Invalid HTTP method') {
    return { error: new TesseraError('method_not_allowed', { details: [{ method: request.method, allowed: ['GET'] }] }), headers: ['Allow: GET'] };
  }
  if (message === 'Invalid Upgrade header') {
    return { error: new TesseraError('upgrade_required', { details: [{ upgrade: request.headers.upgrade ?? null }] }), headers: ['Upgrade: websocket'] };
  }
  const headers = /Sec-WebSocket-Version/.test(message) ? ['Sec-WebSocket-Version: 13, 8'] : [];
  return { error: new TesseraError('invalid_request', { message: `The WebSocket handshake is invalid: ${message}.` }), headers };
}

/** An upgrade refused with `error`'s envelope (its status, Retry-After when set); then the connection closes. */
function refuseUpgrade(socket: Duplex, error: TesseraError, requestId: string, baseUrl: string, now: number, headers: readonly string[] = []): void {
  const body = JSON.stringify(errorEnvelope(error, requestId, baseUrl, now));
  // Once the answer is out the socket goes: a client that never closes its half would hold it for good.
  socket.once('finish', () => socket.destroy());
  socket.end(
    [
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Request-Id: ${requestId}`,
      ...(error.retryAfter === null ? [] : [`Retry-After: ${error.retryAfter}`]),
      ...headers,
      'Cache-Control: no-store',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

/** The connection's peer, IPv4-mapped or not (`clientSubject` unwraps it). */
function peerAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}
