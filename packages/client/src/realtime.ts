import { readAccessTokenClaims } from './access-token-claims.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { errorFromEnvelope, isErrorEnvelope } from './envelope.js';
import { tesseraCloseCodes } from './error-codes.js';
import { type SessionEndCode, SessionEndedError, sessionEndCodes, TesseraError } from './errors.js';
import { callSafely } from './listeners.js';
import { detectPageEnvironment, type PageEnvironment } from './refresh-scheduler.js';
import { repeat, sleep, systemTimers, type Timers } from './timers.js';

/**
 * The part of the Web `WebSocket` the SDK uses; the browser's and `ws`'s both fit.
 *
 * The SDK only assigns the `on…` handlers, never calls them: each implementation calls them with its
 * own event type (`MessageEvent`, `ws`'s `MessageEvent`, …), of which the SDK reads `data` on
 * `message` and `code` on `close`. A parameter of `never` lets every implementation's handler type
 * fit without `any`; the handlers the SDK assigns say what they read.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** A `WebSocket` constructor: the global one in browsers, `ws`'s `WebSocket` in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Where a realtime socket stands. */
export type RealtimeStatus =
  /** Getting a token and opening the first socket. */
  | 'connecting'
  /** Authenticated: `ready` received; app messages flow. */
  | 'open'
  /** The socket dropped (network, sleep, server restart); a new one opens after a backoff, with a fresh token. */
  | 'reconnecting'
  /** Over: `close()` was called, or the session ended (the handler was told). */
  | 'closed';

export interface RealtimeOptions {
  /** The socket URL. Default: the client's `baseUrl` with a `ws:`/`wss:` scheme and `/v1/realtime`. */
  readonly url?: string;
  /** The `WebSocket` constructor. Default `globalThis.WebSocket` (Node 20 has none: pass `ws`'s). */
  readonly WebSocket?: WebSocketConstructor;
  /** Delays between reconnects. Default 1 s doubling to 30 s, with jitter. */
  readonly reconnect?: BackoffOptions;
  /** Seconds to wait for `ready` after sending `auth` before giving the socket up. Default 15. */
  readonly readyTimeout?: number;
  /** Called with the `data` of every app message from the server. */
  readonly onMessage?: (data: unknown) => void;
  /** Called on every change of `status`. */
  readonly onStatus?: (status: RealtimeStatus) => void;
}

/** A session-aware socket: see `SessionClient.realtime()`. */
export interface RealtimeSocket {
  readonly status: RealtimeStatus;
  /** The session the socket is authenticated for, once `ready`. */
  readonly sessionId: string | null;
  /** How many times a new socket was opened after the first. Token refreshes never count: they happen in band. */
  readonly reconnects: number;
  /** How many times the open socket re-authenticated in band with a new access token. */
  readonly reauthentications: number;
  /** Sends `{ "type": "message", data }`; queued while (re)connecting, up to 1,000. False once closed. */
  send(data: unknown): boolean;
  /** Calls `listener` with every app message; returns the function that stops it. */
  onMessage(listener: (data: unknown) => void): () => void;
  /** Calls `listener` on every status change; returns the function that stops it. */
  onStatus(listener: (status: RealtimeStatus) => void): () => void;
  /** Resolves at the next `ready` (at once when open); rejects if the socket closes first. */
  opened(): Promise<void>;
  /** Closes the socket for good. The session is untouched. */
  close(): void;
}

/** What the realtime socket needs from its session client. */
export interface RealtimeHost {
  readonly baseUrl: string;
  /** The client session's state, and changes to it. */
  readonly state: string;
  subscribe(listener: (state: string) => void): () => void;
  /** A fresh access token (refreshing when due, once for all callers). */
  getAccessToken(): Promise<string>;
  /** A token newer than `used`: one a refresh already brought, else a new refresh (the same single flight). */
  renewAccessToken(used: string): Promise<string>;
  /** The server ended the session: end the client session, which tells the handler once. */
  endSession(error: SessionEndedError, sessionId: string | null): void;
  /**
   * A DPoP proof for `token` on the socket (`htm: GET`, `htu`: the socket URL as http(s), `ath`),
   * sent in the `auth` frame as `dpop`; null (synchronously) when the token is not bound to a key or
   * the client proves none, and the frame goes at once, as without DPoP.
   */
  proveAccessToken?(token: string, url: string): Promise<string> | null;
  readonly environment?: PageEnvironment;
  /** Where the reconnect, ready and wake-up timers come from, and the clock that finds a late tick. Default: the globals. */
  readonly timers?: Timers;
}

/**
 * The part of the public `SessionClient` API a worker-mode socket uses. Declared here, not imported
 * from session-client.ts: that module opens sockets through this one, and the two must not import
 * each other. A `SessionClient` fits it.
 */
export interface PublicSessionLike {
  readonly state: string;
  subscribe(listener: (state: string) => void): () => void;
  getAccessToken(): Promise<string>;
  fetch(input: string): Promise<Response>;
  dpopProof?(request: { method: string; url: string; accessToken?: string }): Promise<string | null>;
}

const outboxLimit = 1000;
/** A wake-up check: a tick this late means the device slept, so the socket is probed. */
const tickMs = 15_000;
const lateMs = 10_000;

/** Close codes of the sessions that are over (4002–4005, from the catalogue); the socket does not come back. */
const sessionEndCloses: Readonly<Record<number, SessionEndCode>> = Object.fromEntries(
  sessionEndCodes.flatMap((code) => (Object.hasOwn(tesseraCloseCodes, code) ? [[tesseraCloseCodes[code as keyof typeof tesseraCloseCodes], code]] : [])),
);

/**
 * Opens the realtime socket for `host`'s session. See `SessionClient.realtime()`.
 * @internal
 */
export function openRealtime(host: RealtimeHost, options: RealtimeOptions = {}): RealtimeSocket {
  return new TesseraRealtimeSocket(host, options);
}

/** How long a client that cannot force a refresh waits for a newer token, and how often it looks. */
const renewalPolls = 10;
const renewalPollMs = 500;

/**
 * A host from the public `SessionClient` API alone, for clients whose refresh runs elsewhere (worker
 * mode): renewal waits for the refresh the session's own schedule makes, and an ending heard on the
 * socket is confirmed over HTTP (`GET /v1/session` through `client.fetch`), which ends the session
 * where it lives and tells every page once.
 * @internal
 */
export function publicClientHost(client: PublicSessionLike, url: string | undefined, timers: Timers = systemTimers): RealtimeHost {
  if (!url) throw new TypeError('realtime(): a worker-mode client needs { url }, e.g. wss://auth.example.com/v1/realtime');
  const baseUrl = url.replace(/^ws/, 'http').replace(/\/v1\/realtime\/?$/, '');
  return {
    baseUrl,
    timers,
    get state() {
      return client.state;
    },
    subscribe: (listener) => client.subscribe(listener),
    getAccessToken: () => client.getAccessToken(),
    async renewAccessToken(used) {
      for (let poll = 0; poll < renewalPolls; poll++) {
        const token = await client.getAccessToken();
        if (token !== used) return token;
        await sleep(timers, renewalPollMs);
      }
      return client.getAccessToken();
    },
    endSession() {
      client.fetch(`${baseUrl}/v1/session`).catch(() => {});
    },
    proveAccessToken(token, socketUrl) {
      if (!client.dpopProof || readAccessTokenClaims(token).boundKey === null) return null;
      return client.dpopProof({ method: 'GET', url: socketUrl, accessToken: token }).then((proof) => {
        if (proof === null) throw new Error('The token is bound to a DPoP key, and the session worker proves none.');
        return proof;
      });
    },
  };
}

class TesseraRealtimeSocket implements RealtimeSocket {
  readonly #host: RealtimeHost;
  readonly #url: string;
  readonly #WebSocket: WebSocketConstructor;
  readonly #backoff: Backoff;
  readonly #readyTimeoutMs: number;
  readonly #timers: Timers;
  readonly #messageListeners = new Set<(data: unknown) => void>();
  readonly #statusListeners = new Set<(status: RealtimeStatus) => void>();
  readonly #openedWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();
  readonly #stop: (() => void)[] = [];

  #status: RealtimeStatus = 'connecting';
  #ws: WebSocketLike | null = null;
  /** The token sent in the last `auth` on the current socket. */
  #token: string | null = null;
  /** A token the server refused as expired: the next connect renews past it. */
  #rejectedToken: string | null = null;
  #sessionId: string | null = null;
  #lastError: TesseraError | null = null;
  #renewing = false;
  #everOpened = false;
  #attempt = 0;
  #reconnects = 0;
  #reauthentications = 0;
  #outbox: string[] = [];
  #retryTimer: unknown = null;
  #readyTimer: unknown = null;
  #lastTick: number;

  constructor(host: RealtimeHost, options: RealtimeOptions) {
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketClass) throw new TypeError('realtime(): no global WebSocket here (Node 20): pass { WebSocket } from the "ws" package');
    this.#host = host;
    this.#timers = host.timers ?? systemTimers;
    this.#lastTick = this.#timers.now();
    this.#WebSocket = WebSocketClass;
    this.#url = options.url ?? `${host.baseUrl.replace(/^http/, 'ws')}/v1/realtime`;
    this.#backoff = new Backoff({ initialDelay: 1, maxDelay: 30, ...options.reconnect });
    this.#readyTimeoutMs = (options.readyTimeout ?? 15) * 1000;
    if (options.onMessage) this.#messageListeners.add(options.onMessage);
    if (options.onStatus) this.#statusListeners.add(options.onStatus);
    this.#stop.push(host.subscribe((state) => this.#onSessionState(state)));
    this.#listenForWakeUps(host.environment ?? detectPageEnvironment());
    void this.#connect();
  }

  get status(): RealtimeStatus {
    return this.#status;
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  get reauthentications(): number {
    return this.#reauthentications;
  }

  send(data: unknown): boolean {
    if (this.#status === 'closed') return false;
    const frame = JSON.stringify({ type: 'message', data });
    if (this.#status === 'open' && this.#ws?.readyState === 1) {
      this.#ws.send(frame);
      return true;
    }
    if (this.#outbox.length >= outboxLimit) this.#outbox.shift();
    this.#outbox.push(frame);
    return true;
  }

  onMessage(listener: (data: unknown) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  onStatus(listener: (status: RealtimeStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  opened(): Promise<void> {
    if (this.#status === 'open') return Promise.resolve();
    if (this.#status === 'closed') return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => this.#openedWaiters.add({ resolve, reject }));
  }

  close(): void {
    this.#finish();
  }

  // ── Connecting ───────────────────────────────────────────────────────────────

  async #connect(): Promise<void> {
    const attempt = ++this.#attempt;
    this.#clearRetry();
    if (this.#everOpened) this.#reconnects += 1;
    let token: string;
    try {
      const rejected = this.#rejectedToken;
      token = rejected ? await this.#host.renewAccessToken(rejected) : await this.#host.getAccessToken();
    } catch (error) {
      if (attempt !== this.#attempt || this.#status === 'closed') return;
      if (error instanceof SessionEndedError || this.#host.state === 'ended' || this.#host.state === 'signed_out') {
        this.#finish();
        return;
      }
      this.#retryLater(error instanceof TesseraError ? error.retryAfter : null);
      return;
    }
    if (attempt !== this.#attempt || this.#status === 'closed') return;
    this.#rejectedToken = null;
    this.#lastError = null;
    const ws = new this.#WebSocket(this.#url);
    this.#ws = ws;
    this.#token = token;
    ws.onopen = () => this.#authenticate(ws, token);
    ws.onmessage = (event: { data: unknown }) => this.#onFrame(ws, event.data);
    ws.onclose = (event: { code: number }) => this.#onClose(ws, event.code);
    // A failed socket also fires `close`, which decides what happens next.
    ws.onerror = () => {};
  }

  /** Sends `auth`; a `ready` must follow within the ready timeout (awake), else the socket is given up. */
  #authenticate(ws: WebSocketLike, token: string): void {
    if (ws !== this.#ws || ws.readyState !== 1) return;
    this.#token = token;
    const proving = this.#host.proveAccessToken?.(token, this.#url) ?? null;
    if (proving === null) ws.send(JSON.stringify({ type: 'auth', access_token: token }));
    else {
      // Sent when signed, if the socket and token are still the ones; a proof that cannot be made
      // leaves the frame unsent, and the ready timer gives the socket up.
      proving.then(
        (proof) => {
          if (ws === this.#ws && ws.readyState === 1 && this.#token === token) ws.send(JSON.stringify({ type: 'auth', access_token: token, dpop: proof }));
        },
        () => {},
      );
    }
    this.#awaitReady(ws);
  }

  /**
   * Gives `ws` up ('no ready') if no `ready` comes within the ready timeout of time awake. A timer
   * that fires late (the device slept, the tab was frozen) proves nothing: the `ready` may be waiting
   * to be read, so the wait starts again.
   */
  #awaitReady(ws: WebSocketLike): void {
    if (this.#readyTimer !== null) this.#timers.clearTimeout(this.#readyTimer);
    const due = this.#timers.now() + this.#readyTimeoutMs;
    this.#readyTimer = this.#timers.setTimeout(() => {
      this.#readyTimer = null;
      if (ws !== this.#ws) return;
      if (this.#timers.now() - due > lateMs) this.#awaitReady(ws);
      else ws.close(4000, 'no ready');
    }, this.#readyTimeoutMs);
  }

  #onFrame(ws: WebSocketLike, raw: unknown): void {
    if (ws !== this.#ws || typeof raw !== 'string') return;
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return;
    }
    switch (frame['type']) {
      case 'ready':
        this.#onReady(typeof frame['session_id'] === 'string' ? frame['session_id'] : null);
        return;
      case 'token_expiring':
        void this.#renew();
        return;
      case 'session_ended': {
        const error = isErrorEnvelope(frame['error']) ? errorFromEnvelope(frame['error'], 401) : null;
        this.#endSession(error instanceof SessionEndedError ? error : new SessionEndedError('session_revoked'));
        return;
      }
      case 'error':
        if (isErrorEnvelope(frame['error'])) this.#lastError = errorFromEnvelope(frame['error'], 0);
        return;
      case 'message':
        for (const listener of [...this.#messageListeners]) callSafely(() => listener(frame['data']));
        return;
    }
  }

  #onReady(sessionId: string | null): void {
    if (this.#readyTimer !== null) this.#timers.clearTimeout(this.#readyTimer);
    this.#readyTimer = null;
    this.#sessionId = sessionId;
    this.#everOpened = true;
    this.#backoff.reset();
    this.#setStatus('open');
    for (const waiter of [...this.#openedWaiters]) waiter.resolve();
    this.#openedWaiters.clear();
    const ws = this.#ws;
    for (const frame of this.#outbox.splice(0)) ws?.send(frame);
  }

  #onClose(ws: WebSocketLike, code: number): void {
    if (ws !== this.#ws) return;
    this.#ws = null;
    if (this.#readyTimer !== null) this.#timers.clearTimeout(this.#readyTimer);
    this.#readyTimer = null;
    if (this.#status === 'closed') return;
    const ended = sessionEndCloses[code];
    const mismatch = code === tesseraCloseCodes.token_invalid && this.#lastError?.details[0]?.['reason'] === 'session_mismatch';
    if (ended && !mismatch) {
      const told = this.#lastError instanceof SessionEndedError ? this.#lastError : new SessionEndedError(ended);
      this.#endSession(told);
      return;
    }
    if (code === tesseraCloseCodes.token_expired) this.#rejectedToken = this.#token;
    this.#retryLater(this.#lastError?.retryAfter ?? null);
  }

  #retryLater(retryAfter: number | null): void {
    this.#setStatus(this.#everOpened ? 'reconnecting' : 'connecting');
    this.#clearRetry();
    this.#retryTimer = this.#timers.setTimeout(() => void this.#connect(), this.#backoff.nextDelay(retryAfter));
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  // ── Tokens in band ───────────────────────────────────────────────────────────

  /** `token_expiring`: a newer token (the client's single-flight refresh), sent on the same socket. */
  async #renew(): Promise<void> {
    const used = this.#token;
    if (this.#renewing || used === null) return;
    this.#renewing = true;
    try {
      this.#reauthenticate(await this.#host.renewAccessToken(used));
    } catch {
      // A session that ended is reported by the client; a failed refresh leaves the token to expire (4001), then a reconnect.
    } finally {
      this.#renewing = false;
    }
  }

  /** Sends `auth` with `token` on the open socket; a token of another session needs a new socket. */
  #reauthenticate(token: string): void {
    const ws = this.#ws;
    if (!ws || this.#status !== 'open' || token === this.#token) return;
    if (readAccessTokenClaims(token).sessionId !== this.#sessionId) {
      ws.close(1000, 'session changed');
      return;
    }
    this.#reauthentications += 1;
    this.#authenticate(ws, token);
  }

  /** The client refreshed on its own (schedule, another tab): the socket takes the new token too. */
  #onSessionState(state: string): void {
    if (state === 'ended' || state === 'signed_out') {
      this.#finish();
      return;
    }
    if (state === 'active' && this.#status === 'open') {
      this.#host.getAccessToken().then(
        (token) => this.#reauthenticate(token),
        () => {},
      );
    }
  }

  /** After sleep or a network change, an "open" socket may be dead: re-authenticating probes it (no `ready` → reconnect). */
  #probe(): void {
    if (this.#status === 'reconnecting' || this.#status === 'connecting') {
      if (this.#retryTimer !== null) void this.#connect();
      return;
    }
    const ws = this.#ws;
    if (this.#status !== 'open' || !ws) return;
    this.#host.getAccessToken().then(
      (token) => {
        if (ws !== this.#ws) return;
        if (token !== this.#token && readAccessTokenClaims(token).sessionId === this.#sessionId) this.#reauthentications += 1;
        this.#authenticate(ws, token);
      },
      () => {},
    );
  }

  #listenForWakeUps(environment: PageEnvironment): void {
    const { target, document } = environment;
    const onWake = () => this.#probe();
    const onVisibility = () => {
      if (document?.visibilityState === 'visible') this.#probe();
    };
    for (const type of ['online', 'pageshow']) target?.addEventListener(type, onWake);
    document?.addEventListener('visibilitychange', onVisibility);
    const stopTicking = repeat(
      this.#timers,
      () => {
        const now = this.#timers.now();
        if (now - this.#lastTick > tickMs + lateMs) this.#probe();
        this.#lastTick = now;
      },
      tickMs,
      true,
    );
    this.#stop.push(() => {
      for (const type of ['online', 'pageshow']) target?.removeEventListener(type, onWake);
      document?.removeEventListener('visibilitychange', onVisibility);
      stopTicking();
    });
  }

  // ── Ending ───────────────────────────────────────────────────────────────────

  /** `session_ended`: the client session ends (its handler hears it once), and this socket is over. */
  #endSession(error: SessionEndedError): void {
    const sessionId = this.#sessionId;
    this.#finish();
    this.#host.endSession(error, sessionId);
  }

  #finish(): void {
    if (this.#status === 'closed') return;
    this.#setStatus('closed');
    this.#attempt += 1;
    this.#clearRetry();
    if (this.#readyTimer !== null) this.#timers.clearTimeout(this.#readyTimer);
    this.#readyTimer = null;
    for (const stop of this.#stop.splice(0)) stop();
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, 'closed by the client');
    this.#outbox = [];
    for (const waiter of [...this.#openedWaiters]) waiter.reject(this.#closedError());
    this.#openedWaiters.clear();
  }

  #closedError(): Error {
    return this.#lastError ?? new Error('The realtime socket is closed.');
  }

  #setStatus(status: RealtimeStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of [...this.#statusListeners]) callSafely(() => listener(status));
  }
}
