import { readAccessTokenClaims } from './access-token-claims.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { requestSender, sendWithAccessToken } from './bearer-request.js';
import { createDpopProver, type DpopOption, type DpopProofRequest, type DpopProver } from './dpop-prover.js';
import { errorFromEnvelope, readErrorEnvelope } from './envelope.js';
import { isSessionEndCode, type SessionEndCode, SessionEndedError, SilentAuthFailedError, TesseraError } from './errors.js';
import { callHandler, Listeners } from './listeners.js';
import { openRealtime, type RealtimeOptions, type RealtimeSocket } from './realtime.js';
import { detectPageEnvironment, type PageEnvironment, RefreshScheduler, type WakeCause } from './refresh-scheduler.js';
import { ServerClock } from './server-clock.js';
import { type DeviceSession, requestEndSession, requestLogout, requestLogoutOthers, requestOwnSessions } from './session-endpoints.js';
import type { SessionClosedCause, SessionHandler, SessionRefreshedEvent } from './session-handler.js';
import { checkAt, endedWithAbsoluteLifetime, isDue, isExpired } from './session-timing.js';
import { memoryStorage, SessionPersistence, type TokenStorage } from './storage.js';
import { browserTabCoordinator, noTabCoordination, type TabCoordinator, type TabMessage, tabsCanRace } from './tab-coordinator.js';
import { TabPeers } from './tab-peers.js';
import { systemTimers, type Timers } from './timers.js';
import { type FetchFunction, requestRefresh } from './token-endpoint.js';
import { assertTokenGrant, dateOrNull, type HeldTokens, holdTokens, type SessionInfo, type TokenGrant } from './token-grant.js';
import { askAppForTokens } from './token-required.js';

/** Where a client session stands (the server session's own status is the server's `SessionState`). */
export type ClientSessionState =
  /**
   * Not known yet: a session kept in storage is being read back, or the other tabs are being asked
   * for one (settled by `ready`); or, in cookie mode, a new sign-in is being moved into the refresh
   * cookie (settled when `setSession()` resolves). Becomes `signed_out`, `active` or `ended`.
   */
  | 'loading'
  /** No session: never set, or after `logout()`. */
  | 'signed_out'
  /** Tokens held; the access token is fresh or will be refreshed on demand. */
  | 'active'
  /** A refresh is in flight. */
  | 'refreshing'
  /** The server ended the session (expired, revoked, unknown); tokens are cleared. */
  | 'ended';

export interface SessionClientOptions {
  /** The Tessera server, e.g. `https://auth.example.com`. */
  readonly baseUrl: string;
  /** Seconds before `exp` (on server time) at which the access token is refreshed. Default 60. */
  readonly leeway?: number;
  /** Where the session survives reloads. Default: memory only. */
  readonly storage?: TokenStorage;
  /** The storage key. Default `tessera.session`. */
  readonly storageKey?: string;
  readonly handler?: SessionHandler;
  /** The `fetch` used for every request. Default: the global `fetch`. */
  readonly fetch?: FetchFunction;
  /**
   * Keep refreshing while the page is hidden. Off by default, so a background tab does not keep an
   * idle session alive and idle timeouts mean what they say; the tab refreshes when shown again.
   */
  readonly keepAliveWhileHidden?: boolean;
  /**
   * The server runs in cookie mode: the refresh token lives in an HttpOnly cookie that page scripts
   * cannot read. Refreshes are sent with the cookie (`credentials: 'include'`) and the CSRF header;
   * the refresh token of the sign-in grant is sent once, to move it into the cookie, and none is kept.
   */
  readonly refreshTokenInCookie?: boolean;
  /** Seconds before a refresh request is abandoned. Default 10. */
  readonly requestTimeout?: number;
  /** Delays between refresh retries after `silent_auth_failed`. */
  readonly retry?: BackoffOptions;
  /**
   * Coordination with the other tabs of the origin. Default: Web Locks and `BroadcastChannel` in
   * browsers, none in Node. `false` turns it off; a `TabCoordinator` replaces it.
   */
  readonly tabs?: TabCoordinator | false;
  /** The device clock, epoch milliseconds. Default `timers.now`, which defaults to `Date.now`. */
  readonly now?: () => number;
  /**
   * Where every timer of the client comes from: the refresh schedule, the waits of the tab protocol,
   * request timeouts and the realtime socket's timers. Default: the globals (`setTimeout`,
   * `clearTimeout`, `Date.now`). A test passes a fake one to fast-forward hours in milliseconds.
   */
  readonly timers?: Timers;
  /** Random numbers in [0, 1) for retry jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Where wake-up events come from. Default: `window`/`document` when present. */
  readonly environment?: PageEnvironment;
  /**
   * DPoP (RFC 9449): the session is bound to a key of this device, so a stolen refresh or access
   * token is useless elsewhere. Off by default. With it, every refresh carries a `DPoP` proof
   * (which binds the session on its first refresh, unless the app's backend passed
   * `client.dpopThumbprint()` as `dpop_jkt` to `POST /v1/sessions`), and `client.fetch` sends a
   * token bound to the key (`cnf.jkt`) as `Authorization: DPoP` with a proof. A server's
   * `DPoP-Nonce` is kept per origin and a request it refuses for want of one is sent once more.
   *
   * `true`: the device's own key, made on first use with a private key that cannot be exported; in
   * browsers and workers kept in IndexedDB (one per `baseUrl`, shared by the origin's tabs), in
   * Node in memory for the client's life. `{ key }`: the app's own ECDSA P-256 pair.
   *
   * @example
   * ```ts
   * const client = createSessionClient({ baseUrl, dpop: true });
   * const grant = await signIn({ dpop_jkt: await client.dpopThumbprint() }); // the backend's POST /v1/sessions
   * await client.setSession(grant);
   * ```
   */
  readonly dpop?: DpopOption;
}

/** The answer of `logoutOthers()`. */
export interface LogoutOthersResult {
  /** How many other sessions were revoked. */
  readonly revoked: number;
  readonly sessionIds: readonly string[];
}

/** A session on one device, kept fresh: see {@link createSessionClient}. */
export interface SessionClient {
  /** Where the session stands. */
  readonly state: ClientSessionState;
  /** Milliseconds the device clock is ahead of the server's (negative when behind). */
  readonly clockSkew: number;
  /** The id of the held session, or null. */
  readonly sessionId: string | null;
  /** Settles once a session kept in storage has been read back. */
  readonly ready: Promise<void>;
  /** The session as the server last described it (from the sign-in or refresh answer), or null. */
  readonly session: SessionInfo | null;
  /** When the held access token expires, on the server's clock; null when none is held or its expiry is unknown. */
  readonly accessTokenExpiresAt: Date | null;
  /** Why the session ended, while `state` is `ended` (and after, until a new session is set); else null. */
  readonly endError: SessionEndedError | null;
  /**
   * Calls `listener` on every change of `state`, and when the held tokens change without one
   * (another tab's refresh, a new sign-in); returns the function that stops it.
   */
  subscribe(listener: (state: ClientSessionState) => void): () => void;
  /**
   * Starts holding the tokens an app's backend got from `POST /v1/sessions`. A grant of the held
   * session that has already been rotated past (handed over again after a refresh, here or in
   * another tab) is ignored: its refresh token is spent, and presenting it would look like theft.
   *
   * Resolves once the session survives a reload: at once where the storage keeps what is needed;
   * in cookie mode once the grant's refresh token has been exchanged for the refresh cookie (one
   * refresh, made here, before it resolves). Rejects when that exchange fails; a transient failure
   * keeps the session in this page and retries it with backoff.
   */
  setSession(tokens: TokenGrant): Promise<void>;
  /**
   * A fresh access token. Refreshes when `exp − leeway` has passed on server time; any number of
   * concurrent callers share one refresh. Throws `SessionEndedError` when the session is over,
   * `SilentAuthFailedError` when the server could not be reached and the token is expired.
   */
  getAccessToken(): Promise<string>;
  /**
   * `fetch` with the bearer token attached. On a 401 whose envelope says `token_expired` it refreshes
   * once and retries once; a 401 with a code that ends the session ends it here too; any other 401
   * (the app's own) is returned untouched. A `ReadableStream` body cannot be sent twice: pass a
   * string, `Blob`, `FormData` or a `Request`.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Signs out: revokes the session on the server (best effort) and clears it here and in other tabs. */
  logout(): Promise<void>;
  /** Revokes the user's other sessions (`signed_out_elsewhere`); this one stays. */
  logoutOthers(): Promise<LogoutOthersResult>;
  /**
   * The user's active sessions, newest first, for a "your devices" page: each with its browser, OS,
   * address and when it was last seen; `current` marks this one.
   *
   * @example
   * ```ts
   * for (const s of await client.sessions()) {
   *   console.log(`${s.browser} on ${s.os} · ${s.ip} · ${s.lastSeenAt.toLocaleString()}${s.current ? ' (this device)' : ''}`);
   * }
   * ```
   */
  sessions(): Promise<DeviceSession[]>;
  /**
   * Ends one of the user's sessions by id ("sign out that device", `signed_out_elsewhere`). The
   * held session's own id signs out here, as `logout()` does. Another user's id is `not_found`.
   */
  endSession(id: string): Promise<void>;
  /** Stops timers, listeners and the tab channel. The tokens stay usable on demand. */
  dispose(): void;
  /**
   * The RFC 7638 thumbprint (SHA-256, base64url) of the client's DPoP key, made on first use; null
   * when the client was created without `dpop`. Send it to the app's backend at sign-in, to pass on
   * as `dpop_jkt` to `POST /v1/sessions`: the session is bound from its first token on.
   *
   * @example
   * ```ts
   * const jkt = await client.dpopThumbprint();
   * const grant = await (await fetch('/api/sign-in', { method: 'POST', body: JSON.stringify({ ...credentials, dpop_jkt: jkt }) })).json();
   * ```
   */
  dpopThumbprint(): Promise<string | null>;
  /**
   * A DPoP proof for a request the app sends itself (another HTTP client, a socket): `htm` and
   * `htu` from `request`, `ath` when `accessToken` is given, the server's latest nonce for that
   * origin, `iat` on the server's clock. Null when the client was created without `dpop`.
   *
   * @example
   * ```ts
   * const token = await client.getAccessToken();
   * const proof = await client.dpopProof({ method: 'GET', url: 'https://api.example.com/orders', accessToken: token });
   * await fetch('https://api.example.com/orders', { headers: { authorization: `DPoP ${token}`, dpop: proof ?? '' } });
   * ```
   */
  dpopProof(request: DpopProofRequest): Promise<string | null>;
  /**
   * A socket to the server's `/v1/realtime` for this session: authenticated with `getAccessToken()`,
   * re-authenticated in band when the token is expiring (never reconnecting for it), reconnected
   * with backoff and a fresh token after a network loss or sleep, and ended through the handler
   * (`onSessionRevoked`, `onSessionExpired`, `onSessionClosed`) when the server ends the session.
   *
   * @example
   * ```ts
   * const socket = client.realtime({ onMessage: (data) => render(data) }); // Node 20: { WebSocket } from 'ws'
   * socket.send({ text: 'hello' });
   * ```
   */
  realtime(options?: RealtimeOptions): RealtimeSocket;
}

const defaultStorageKey = 'tessera.session';

/**
 * A client session: holds the tokens, refreshes them once for all callers, on server time, through
 * sleep, background tabs and network blips, and tells the app once when the session is over.
 *
 * @example
 * ```ts
 * const client = createSessionClient({
 *   baseUrl: 'https://auth.example.com',
 *   handler: { onSessionRevoked: (reason) => showSignIn(reason), onSessionExpired: () => showSignIn() },
 * });
 * client.setSession(await (await fetch('/api/sign-in', { method: 'POST', body })).json());
 * const res = await client.fetch('/api/orders'); // bearer attached, refreshed when due
 * ```
 */
export function createSessionClient(options: SessionClientOptions): SessionClient {
  return new TesseraSessionClient(options);
}

/** The refresh in flight, and the session generation it belongs to. */
type RefreshRun = { readonly generation: number; readonly promise: Promise<HeldTokens> };

class TesseraSessionClient implements SessionClient {
  readonly ready: Promise<void>;
  readonly #baseUrl: string;
  readonly #leeway: number;
  readonly #store: SessionPersistence;
  readonly #handler: SessionHandler;
  readonly #fetch: FetchFunction;
  readonly #keepAliveWhileHidden: boolean;
  readonly #refreshTokenInCookie: boolean;
  readonly #requestTimeout: number;
  readonly #clock: ServerClock;
  readonly #timers: Timers;
  readonly #backoff: Backoff;
  readonly #scheduler: RefreshScheduler;
  readonly #tabs: TabCoordinator;
  readonly #stopListeningToTabs: () => void;
  readonly #listeners = new Listeners<ClientSessionState>();
  /** The client's DPoP key and nonces; null when DPoP is off. */
  readonly #dpop: DpopProver | null;

  #state: ClientSessionState = 'loading';
  #tokens: HeldTokens | null = null;
  #session: SessionInfo | null = null;
  #endError: SessionEndedError | null = null;
  /** Bumped whenever the held session is replaced or ends, so late answers for the old one change nothing. */
  #generation = 0;
  #refreshRun: RefreshRun | null = null;
  #failing = false;
  #retryAt: number | null = null;
  #blockedUntil = 0;
  #disposed = false;
  /** The waits and bookkeeping of the tab protocol. */
  readonly #peers: TabPeers;

  constructor(options: SessionClientOptions) {
    if (typeof options.baseUrl !== 'string' || options.baseUrl === '') throw new TypeError('createSessionClient: baseUrl is required');
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#leeway = Math.max(0, options.leeway ?? 60) * 1000;
    this.#store = new SessionPersistence(options.storage ?? memoryStorage(), options.storageKey ?? defaultStorageKey);
    this.#handler = options.handler ?? {};
    const customFetch = options.fetch;
    this.#fetch = customFetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#keepAliveWhileHidden = options.keepAliveWhileHidden === true;
    this.#refreshTokenInCookie = options.refreshTokenInCookie === true;
    this.#requestTimeout = Math.max(0.001, options.requestTimeout ?? 10) * 1000;
    const timers = options.timers ?? systemTimers;
    this.#timers = timers;
    const deviceNow = options.now ?? (() => timers.now());
    this.#clock = new ServerClock(deviceNow);
    this.#dpop = createDpopProver(options.dpop, this.#baseUrl, () => this.#clock.now());
    this.#backoff = new Backoff(options.retry, options.random);
    this.#scheduler = new RefreshScheduler({
      deviceNow,
      environment: options.environment ?? detectPageEnvironment(),
      timers,
      onWake: (cause) => this.#onWake(cause),
    });
    this.#tabs = options.tabs === false ? noTabCoordination : (options.tabs ?? defaultTabs(this.#baseUrl, timers));
    this.#peers = new TabPeers(this.#tabs, timers, this.#requestTimeout);
    this.#stopListeningToTabs = this.#tabs.subscribe((message) => this.#onTabMessage(message));
    this.#scheduler.start();
    this.ready = this.#restore();
  }

  get state(): ClientSessionState {
    return this.#state;
  }

  get clockSkew(): number {
    return Math.round(this.#clock.skew);
  }

  get sessionId(): string | null {
    return this.#tokens?.sessionId ?? null;
  }

  get session(): SessionInfo | null {
    return this.#session;
  }

  get accessTokenExpiresAt(): Date | null {
    return dateOrNull(this.#tokens?.accessTokenExpiresAt ?? null);
  }

  get endError(): SessionEndedError | null {
    return this.#endError;
  }

  subscribe(listener: (state: ClientSessionState) => void): () => void {
    return this.#listeners.add(listener);
  }

  setSession(grant: TokenGrant): Promise<void> {
    assertTokenGrant(grant);
    const tokens = holdTokens(grant);
    // A grant this session has already rotated past (an app handing over its sign-in answer again)
    // would put a spent refresh token back in play, here and in every tab: the newer tokens stay.
    if (this.#isStale(tokens)) return Promise.resolve();
    this.#learnTimeFromGrant(grant, tokens);
    this.#generation += 1;
    this.#endError = null;
    this.#session = grant.session ?? null;
    this.#hold(tokens);
    this.#tabs.publish({ type: 'tokens', tokens, clockSkew: this.#clock.skew, session: this.#session });
    // In cookie mode the grant's refresh token lives only in this page until it is exchanged for the
    // cookie: a reload before the first refresh would lose the session. Exchanged now, before this resolves.
    if (this.#refreshTokenInCookie && tokens.refreshToken !== null) return this.#refresh().then(() => this.#store.written);
    return this.#store.written;
  }

  async getAccessToken(): Promise<string> {
    await this.ready;
    const tokens = this.#tokens;
    if (!tokens) return (await this.#tokensWithoutSession()).accessToken;
    if (!this.#isDue(tokens)) return tokens.accessToken;
    try {
      return (await this.#refresh()).accessToken;
    } catch (error) {
      // The refresh failed but the token has not expired yet: it still works.
      const usable = !(error instanceof SessionEndedError) && this.#tokens === tokens && !this.#isExpired(tokens);
      if (usable) return tokens.accessToken;
      throw error;
    }
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = requestSender(input, init, this.#fetch);
    const token = await this.getAccessToken();
    const generation = this.#generation;
    const response = await sendWithAccessToken(request, token, this.#dpop);
    if (response.status !== 401) return response;
    const envelope = await readErrorEnvelope(response);
    if (!envelope) return response;
    if (isSessionEndCode(envelope.error)) {
      this.#endSession(errorFromEnvelope(envelope, response.status) as SessionEndedError, generation);
      return response;
    }
    if (envelope.error !== 'token_expired') return response;
    const fresh = await this.#refreshAfterRejection(token, generation);
    const retried = await sendWithAccessToken(request, fresh.accessToken, this.#dpop);
    if (retried.status === 401) await this.#endIfTerminal(retried, this.#generation);
    return retried;
  }

  async logout(): Promise<void> {
    await this.ready;
    if (!this.#tokens) {
      if (this.#state === 'ended') this.#setState('signed_out');
      return;
    }
    let token: string | null = null;
    try {
      token = await this.getAccessToken();
    } catch {
      token = null;
    }
    if (!this.#tokens) return;
    const sessionId = this.#tokens.sessionId;
    this.#clear('signed_out');
    this.#tabs.publish({ type: 'signed_out', sessionId });
    this.#notify('onSessionClosed', 'logout');
    if (token !== null) await this.#revokeOnServer(token);
  }

  logoutOthers(): Promise<LogoutOthersResult> {
    return requestLogoutOthers(() => this.fetch(`${this.#baseUrl}/v1/session/logout-others`, { method: 'POST' }));
  }

  sessions(): Promise<DeviceSession[]> {
    return requestOwnSessions(() => this.fetch(`${this.#baseUrl}/v1/session/sessions`));
  }

  async endSession(id: string): Promise<void> {
    await this.ready;
    if (id === this.sessionId) return this.logout();
    await requestEndSession(() => this.fetch(`${this.#baseUrl}/v1/session/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }));
  }

  async dpopThumbprint(): Promise<string | null> {
    return this.#dpop === null ? null : this.#dpop.thumbprint();
  }

  async dpopProof(request: DpopProofRequest): Promise<string | null> {
    return this.#dpop === null ? null : this.#dpop.proof(request);
  }

  realtime(options: RealtimeOptions = {}): RealtimeSocket {
    const state = () => this.#state;
    const dpop = this.#dpop;
    return openRealtime(
      {
        baseUrl: this.#baseUrl,
        timers: this.#timers,
        get state() {
          return state();
        },
        subscribe: (listener) => this.subscribe(listener),
        getAccessToken: () => this.getAccessToken(),
        renewAccessToken: async (used) => (await this.#refreshAfterRejection(used, this.#generation)).accessToken,
        proveAccessToken: (token, url) =>
          dpop === null || readAccessTokenClaims(token).boundKey === null ? null : dpop.proof({ method: 'GET', url, accessToken: token }),
        endSession: (error, sessionId) => {
          if (sessionId === null || this.#tokens?.sessionId === sessionId) this.#endSession(error, this.#generation);
        },
      },
      options,
    );
  }

  dispose(): void {
    this.#disposed = true;
    this.#peers.settleRequests(null, 'settled');
    this.#scheduler.stop();
    this.#stopListeningToTabs();
    this.#tabs.close();
  }

  // ── Holding, ending, persisting ──────────────────────────────────────────────

  /**
   * Reads a stored session back. What this tab cannot continue by itself (no refresh token kept, or
   * nothing stored) another open tab may hold: it is asked, and a stored session that nothing here
   * can continue ends with `refresh_token_unavailable`, told to the app, never dropped in silence.
   */
  async #restore(): Promise<void> {
    const generation = this.#generation;
    const stored = await this.#store.load();
    if (generation !== this.#generation) return;
    if (stored) this.#clock.restore(stored.clockSkew);
    if (stored && (this.#canRefresh(stored.tokens) || !this.#isExpired(stored.tokens))) {
      this.#session = stored.session;
      this.#hold(stored.tokens);
      // Usable for now; a tab holding the refresh token hands it over when asked.
      if (!this.#canRefresh(stored.tokens)) void this.#peers.ask(stored.tokens.sessionId);
      return;
    }
    const answer = await this.#peers.ask(stored?.tokens.sessionId ?? null);
    if (generation !== this.#generation || this.#disposed) return;
    if (!stored) {
      // A tab that holds a session is open but frozen: this tab cannot have it, and says so.
      if (answer === 'silent') this.#endWithoutSession(refreshTokenUnavailable(true));
      else this.#setState('signed_out');
      return;
    }
    this.#session = stored.session;
    this.#tokens = stored.tokens;
    if (answer === 'failed') {
      // A tab holds the session but could not refresh it yet (the server is out of reach): kept, asked again later.
      this.#setState('active');
      this.#afterFailure(new SilentAuthFailedError({ message: 'The tab that holds the refresh token could not refresh the session yet.' }));
      return;
    }
    this.#endSession(refreshTokenUnavailable(answer === 'silent'), generation);
  }

  /** Ends what this tab was about to have (nothing held yet): `ended`, the handler told once. */
  #endWithoutSession(error: SessionEndedError): void {
    this.#endError = error;
    this.#setState('ended');
    this.#notify('onSessionError', error);
    this.#notify('onSessionClosed', error.code);
  }

  /** Makes `tokens` the held ones: state active, persisted, next refresh scheduled. */
  #hold(tokens: HeldTokens): void {
    this.#tokens = tokens;
    this.#tabs.setHoldingSession?.(true);
    this.#failing = false;
    this.#retryAt = null;
    this.#blockedUntil = 0;
    this.#backoff.reset();
    // In cookie mode a refresh token in hand is the sign-in grant's, not yet in the cookie: the
    // session would not survive a reload yet. Not `active` (an app showing the user signed in invites
    // that reload) and not stored (the page would come back with tokens nothing can refresh).
    const handOffPending = this.#refreshTokenInCookie && tokens.refreshToken !== null;
    const state = handOffPending ? 'loading' : 'active';
    // Already in that state (another tab's tokens, a new sign-in): subscribers still hear of the change.
    if (this.#state === state) this.#callListeners();
    else this.#setState(state);
    if (!handOffPending) this.#persist(tokens);
    this.#reschedule();
  }

  /** The server ended the session: cleared once, the handler told once, no retry. */
  #endSession(error: SessionEndedError, generation: number, fromOtherTab = false): void {
    if (generation !== this.#generation || !this.#tokens) return;
    const sessionId = this.#tokens.sessionId;
    this.#endError = error;
    this.#clear('ended');
    if (!fromOtherTab) {
      this.#tabs.publish({ type: 'ended', sessionId, error: { code: error.code, message: error.message, details: error.details } });
    }
    if (error.code === 'session_expired') this.#notify('onSessionExpired', error);
    else if (error.code === 'session_revoked') this.#notify('onSessionRevoked', error.reason ?? 'admin', error);
    else this.#notify('onSessionError', error);
    this.#notify('onSessionClosed', error.code);
  }

  async #endIfTerminal(response: Response, generation: number): Promise<void> {
    const envelope = await readErrorEnvelope(response);
    if (envelope && isSessionEndCode(envelope.error)) this.#endSession(errorFromEnvelope(envelope, response.status) as SessionEndedError, generation);
  }

  #clear(state: 'ended' | 'signed_out'): void {
    this.#generation += 1;
    this.#tokens = null;
    this.#tabs.setHoldingSession?.(false);
    this.#session = null;
    this.#failing = false;
    this.#retryAt = null;
    this.#backoff.reset();
    this.#scheduler.scheduleAt(null);
    this.#store.clear();
    this.#peers.settleRequests(null, 'settled');
    this.#setState(state);
  }

  #persist(tokens: HeldTokens): void {
    this.#store.save(tokens, this.#clock.skew, this.#session);
  }

  #setState(state: ClientSessionState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#callListeners();
  }

  #callListeners(): void {
    this.#listeners.emit(this.#state);
  }

  #notify<K extends keyof SessionHandler>(name: K, ...args: Parameters<NonNullable<SessionHandler[K]>>): void {
    callHandler(this.#handler, name, args);
  }

  // ── Time ─────────────────────────────────────────────────────────────────────

  /** Whether the held tokens are due for refresh now (see `session-timing.ts`). */
  #isDue(tokens: HeldTokens): boolean {
    return isDue(tokens, this.#session, this.#clock.now(), this.#leeway);
  }

  #isExpired(tokens: HeldTokens): boolean {
    return isExpired(tokens, this.#clock.now());
  }

  #learnTimeFromGrant(grant: TokenGrant, tokens: HeldTokens, sentAt?: number): void {
    const receivedAt = this.#clock.deviceNow();
    const serverTime = grant.server_time ? Date.parse(grant.server_time) : Number.NaN;
    if (!Number.isNaN(serverTime)) {
      this.#clock.observe({ serverTime, sentAt: sentAt ?? receivedAt, receivedAt, untimed: sentAt === undefined });
    } else if (tokens.accessTokenIssuedAt !== null) {
      this.#clock.observe({
        serverTime: tokens.accessTokenIssuedAt,
        sentAt: sentAt ?? receivedAt,
        receivedAt,
        resolution: 1000,
        untimed: sentAt === undefined,
      });
    }
  }

  #reschedule(): void {
    const tokens = this.#tokens;
    if (!tokens) {
      this.#scheduler.scheduleAt(null);
      return;
    }
    if (this.#failing && this.#retryAt !== null) {
      this.#scheduler.scheduleAt(Math.max(this.#retryAt, this.#blockedUntil));
      return;
    }
    // A tab that cannot refresh by itself gives the holder's own refresh a moment to arrive before asking for it.
    const at = checkAt(tokens, this.#session, this.#leeway, this.#canRefresh(tokens));
    this.#scheduler.scheduleAt(at === null ? null : this.#clock.toDeviceTime(at));
  }

  /** A due time passed, or the page woke up: refresh now if due (or a retry is), else wait for the next due time. */
  #onWake(_cause: WakeCause): void {
    const tokens = this.#tokens;
    if (!tokens || this.#refreshRun?.generation === this.#generation) return;
    // A hidden page does not keep an idle session alive; it catches up when shown.
    if (this.#scheduler.hidden && !this.#keepAliveWhileHidden) return;
    const retryDue = this.#failing && this.#retryAt !== null && this.#clock.deviceNow() >= this.#retryAt;
    if (!this.#isDue(tokens) && !retryDue) {
      this.#reschedule();
      return;
    }
    this.#refresh().catch(() => {
      // Reported through the handler and retried on schedule; never left without a next check.
      if (this.#scheduler.dueAt === null) this.#reschedule();
    });
  }

  // ── Refreshing ───────────────────────────────────────────────────────────────

  /** One refresh for every concurrent caller of this session. */
  #refresh(): Promise<HeldTokens> {
    const generation = this.#generation;
    if (this.#refreshRun?.generation === generation) return this.#refreshRun.promise;
    const promise = this.#runRefresh(generation).finally(() => {
      if (this.#refreshRun?.promise === promise) this.#refreshRun = null;
    });
    this.#refreshRun = { generation, promise };
    return promise;
  }

  /** After a `token_expired` for `usedToken`: reuse a refresh that already happened, else refresh. */
  async #refreshAfterRejection(usedToken: string, generation: number): Promise<HeldTokens> {
    const current = this.#tokens;
    if (generation === this.#generation && current && current.accessToken !== usedToken && !this.#isDue(current)) return current;
    return this.#refresh();
  }

  async #runRefresh(generation: number): Promise<HeldTokens> {
    const before = this.#tokens;
    if (before === null && !this.#handler.onTokenRequired) throw this.#noSessionError();
    const absoluteEnd = before === null ? null : endedWithAbsoluteLifetime(before, this.#session, this.#clock.now());
    if (absoluteEnd !== null) {
      // Its last token has run out with the session's absolute lifetime: asking the server would only
      // bring tokens that are expired as they are issued. Ended here, as the server will have it.
      // (Run out long ago, the server is asked: the client was away, or its clock was set forward.)
      const ended = new SessionEndedError('session_expired', { details: [{ reason: 'absolute', expired_at: new Date(absoluteEnd).toISOString() }] });
      this.#endSession(ended, generation);
      throw ended;
    }
    const wait = this.#blockedUntil - this.#clock.deviceNow();
    if (wait > 0) {
      throw new SilentAuthFailedError({ message: 'The server asked to wait before the next refresh.', retryAfter: Math.ceil(wait / 1000) });
    }
    // A sign-in being handed off to the cookie stays `loading` until it is done.
    if (this.#state !== 'loading') this.#setState('refreshing');
    try {
      // A tab that cannot refresh by itself asks the one that can, outside the lock the other takes to refresh.
      const fresh =
        before !== null && !this.#canRefresh(before)
          ? await this.#tokensFromOtherTab(before)
          : await this.#tabs.runExclusive(() => this.#refreshUnderLock(before, generation));
      if (generation !== this.#generation) return this.#settledElsewhere();
      if (fresh === null) {
        this.#setState(this.#tokens ? 'active' : 'signed_out');
        return this.#settledElsewhere();
      }
      this.#hold(fresh);
      this.#notify('onSessionRefreshed', this.#refreshedEvent(fresh, false));
      return fresh;
    } catch (error) {
      if (generation !== this.#generation) return this.#settledElsewhere();
      const failure = asTesseraError(error);
      if (failure instanceof SessionEndedError) {
        this.#endSession(failure, generation);
        throw failure;
      }
      this.#afterFailure(failure);
      throw failure;
    }
  }

  /**
   * Runs under the tab lock. Returns null when no request is needed any more (another tab's tokens
   * arrived meanwhile, or the session changed); else gets new tokens and tells the other tabs
   * before the lock is released.
   */
  async #refreshUnderLock(before: HeldTokens | null, generation: number): Promise<HeldTokens | null> {
    if (before) {
      await this.#peers.awaitPresented(before.refreshToken);
      await this.#adoptFromSharedStorage(before);
      if (this.#tokens === before) await this.#peers.askForSuccessor(before);
    }
    const current = this.#tokens;
    if (generation !== this.#generation) return null;
    if (current && current !== before && !this.#isDue(current)) return null;
    const refreshToken = current?.refreshToken ?? null;
    const fromServer = current !== null && (refreshToken !== null || this.#refreshTokenInCookie);
    const tokens = fromServer ? await this.#presentRefreshToken(refreshToken, current.sessionId) : await this.#tokensFromApp();
    if (refreshToken) {
      this.#peers.markSpent(refreshToken);
      this.#tabs.recordSpent?.(refreshToken);
    }
    this.#tabs.publish({ type: 'tokens', tokens, clockSkew: this.#clock.skew, spent: refreshToken ?? null, session: this.#session });
    return tokens;
  }

  /**
   * `POST /v1/token/refresh` with `refreshToken`, or with the refresh cookie when it is null; the
   * other tabs hear that this refresh token is being presented.
   */
  async #presentRefreshToken(refreshToken: string | null, sessionId: string | null): Promise<HeldTokens> {
    if (refreshToken !== null) this.#tabs.publish({ type: 'refreshing', sessionId, refreshToken });
    try {
      const answer = await requestRefresh({
        fetch: this.#fetch,
        url: `${this.#baseUrl}/v1/token/refresh`,
        refreshToken,
        withCookie: this.#refreshTokenInCookie,
        timeout: this.#requestTimeout,
        deviceNow: () => this.#clock.deviceNow(),
        timers: this.#timers,
        ...(this.#dpop === null ? {} : { dpop: this.#dpop }),
      });
      const held = holdTokens(answer.grant);
      // In cookie mode the successor is in the cookie; a copy in page memory would only be a target.
      const tokens = this.#refreshTokenInCookie ? { ...held, refreshToken: null } : held;
      this.#learnTimeFromGrant(answer.grant, tokens, answer.sentAt);
      this.#session = answer.grant.session ?? this.#session;
      return tokens;
    } catch (error) {
      if (!(error instanceof SessionEndedError) && refreshToken !== null) this.#tabs.publish({ type: 'refresh_failed', sessionId, refreshToken });
      throw error;
    }
  }

  /**
   * For a tab without a refresh token: asks the tab that holds one. Null when tokens arrived (held
   * already) or the session ended or changed meanwhile.
   */
  async #tokensFromOtherTab(before: HeldTokens): Promise<HeldTokens | null> {
    const answer = await this.#peers.ask(before.sessionId);
    if (this.#tokens !== before || answer === 'tokens' || answer === 'settled') return null;
    if (answer === 'failed') throw new SilentAuthFailedError({ message: 'The tab that holds the refresh token could not refresh the session.' });
    throw refreshTokenUnavailable(answer === 'silent');
  }

  /**
   * Another tab needs tokens: a tab that can refresh says so at once, then sends its tokens, and
   * refreshes first when they are due, hidden or not, since that tab is waiting on it.
   */
  #answerWanted(sessionId: string | null): void {
    const current = this.#tokens;
    // Only tabs that hold a session are counted (`countOthers`), so only they answer.
    if (current === null) return;
    const canHelp = (sessionId === null || sessionId === current.sessionId) && (current.refreshToken !== null || this.#refreshTokenInCookie);
    if (!canHelp) {
      this.#tabs.publish({ type: 'cannot_help', sessionId });
      return;
    }
    this.#tabs.publish({ type: 'holder', sessionId: current.sessionId });
    if (!this.#isDue(current)) {
      this.#tabs.publish({ type: 'tokens', tokens: current, clockSkew: this.#clock.skew, session: this.#session });
      return;
    }
    // The refresh tells every tab its tokens.
    this.#refresh().catch((error: unknown) => {
      if (!(error instanceof SessionEndedError)) this.#tabs.publish({ type: 'refresh_failed', sessionId: current.sessionId, refreshToken: '' });
    });
  }

  /** Asks the app's backend through `handler.onTokenRequired`. */
  async #tokensFromApp(): Promise<HeldTokens> {
    const grant = await askAppForTokens(this.#handler, this.#requestTimeout, this.#timers);
    const tokens = holdTokens(grant);
    this.#learnTimeFromGrant(grant, tokens);
    this.#session = grant.session ?? this.#session;
    return tokens;
  }

  /** A silent failure: the session is kept, retried with backoff; the handler hears the first of a streak. */
  #afterFailure(error: TesseraError): void {
    this.#setState(this.#tokens ? 'active' : 'signed_out');
    const firstOfStreak = !this.#failing;
    const now = this.#clock.deviceNow();
    if (error.retryAfter !== null) this.#blockedUntil = now + error.retryAfter * 1000;
    if (this.#tokens) {
      this.#failing = true;
      this.#retryAt = now + this.#backoff.nextDelay(error.retryAfter);
      this.#reschedule();
    }
    if (firstOfStreak) this.#notify('onSessionError', error);
  }

  /** The answer for callers of a refresh whose session was replaced or ended meanwhile. */
  #settledElsewhere(): HeldTokens {
    if (this.#tokens) return this.#tokens;
    throw this.#noSessionError();
  }

  #noSessionError(): TesseraError {
    return this.#endError ?? new TesseraError('token_missing', { message: 'No session: call setSession() after sign-in.' });
  }

  async #tokensWithoutSession(): Promise<HeldTokens> {
    if (this.#state === 'ended' || !this.#handler.onTokenRequired) throw this.#noSessionError();
    return this.#refresh();
  }

  #refreshedEvent(tokens: HeldTokens, fromOtherTab: boolean): SessionRefreshedEvent {
    return {
      accessToken: tokens.accessToken,
      accessTokenExpiresAt: dateOrNull(tokens.accessTokenExpiresAt),
      sessionId: tokens.sessionId,
      session: this.#session,
      fromOtherTab,
    };
  }

  /** Revokes the session on the server; what goes wrong is told to the app, the session being gone here all the same. */
  async #revokeOnServer(accessToken: string): Promise<void> {
    const error = await requestLogout({
      fetch: this.#fetch,
      url: `${this.#baseUrl}/v1/session/logout`,
      accessToken,
      withCookie: this.#refreshTokenInCookie,
      timeout: this.#requestTimeout,
      timers: this.#timers,
      dpop: this.#dpop,
    });
    if (error) this.#notify('onSessionError', error);
  }

  // ── Other tabs ───────────────────────────────────────────────────────────────

  #onTabMessage(message: TabMessage): void {
    const current = this.#tokens;
    switch (message.type) {
      case 'tokens': {
        if (message.spent) this.#peers.markSpent(message.spent);
        if (this.#isStale(message.tokens)) return;
        const sameSession = current !== null && current.sessionId === message.tokens.sessionId;
        // Another tab's sign-in is taken only by a tab that holds no session.
        if (!sameSession && current !== null) return;
        // The same tokens: news only to a tab that lacked the refresh token they carry.
        if (current?.accessToken === message.tokens.accessToken && (current.refreshToken !== null || message.tokens.refreshToken === null)) {
          this.#peers.settleRequests(current.sessionId, 'tokens');
          return;
        }
        if (!sameSession) {
          this.#generation += 1;
          this.#endError = null;
        }
        this.#clock.restore(message.clockSkew);
        if (message.session?.id === message.tokens.sessionId) this.#session = message.session;
        else if (!sameSession) this.#session = null;
        this.#hold(message.tokens);
        this.#peers.settlePresented();
        this.#peers.settleRequests(message.tokens.sessionId, 'tokens');
        if (sameSession) this.#notify('onSessionRefreshed', this.#refreshedEvent(message.tokens, true));
        return;
      }
      case 'wanted':
        this.#answerWanted(message.sessionId);
        return;
      case 'holder':
        this.#peers.holderAnswered(message.sessionId);
        return;
      case 'cannot_help':
        this.#peers.declined(message.sessionId);
        return;
      case 'refreshing':
        if (current?.refreshToken === message.refreshToken) this.#peers.presentedElsewhere(message.refreshToken);
        return;
      case 'refresh_failed':
        this.#peers.settlePresented();
        if (current && current.sessionId === message.sessionId && !this.#canRefresh(current)) this.#peers.settleRequests(message.sessionId, 'failed');
        return;
      case 'missed':
        // A tab that slept through a refresh asks for its successor: sent by a tab that knows it.
        if (!current || current.sessionId !== message.sessionId || !this.#peers.isSpent(message.refreshToken) || current.refreshToken === message.refreshToken)
          return;
        this.#tabs.publish({ type: 'tokens', tokens: current, clockSkew: this.#clock.skew, spent: message.refreshToken, session: this.#session });
        return;
      case 'ended': {
        if (!current || current.sessionId !== message.sessionId || !isSessionEndCode(message.error.code as SessionEndCode)) return;
        this.#peers.settlePresented();
        const error = new SessionEndedError(message.error.code as SessionEndCode, { message: message.error.message, details: message.error.details });
        this.#endSession(error, this.#generation, true);
        return;
      }
      case 'signed_out':
        if (!current || current.sessionId !== message.sessionId) return;
        this.#peers.settlePresented();
        this.#clear('signed_out');
        this.#notify('onSessionClosed', 'logout' satisfies SessionClosedCause);
        return;
    }
  }

  /** Whether the client can get new tokens for `tokens`: a refresh token, the refresh cookie, or the app. */
  #canRefresh(tokens: HeldTokens): boolean {
    return tokens.refreshToken !== null || this.#refreshTokenInCookie || this.#handler.onTokenRequired !== undefined;
  }

  /** Whether `tokens` are older than what this client knows (see `TabPeers.isStale`). */
  #isStale(tokens: HeldTokens): boolean {
    return this.#peers.isStale(tokens, this.#tokens);
  }

  /** With storage shared by tabs (localStorage holding the refresh token), another tab's refresh is found there. */
  async #adoptFromSharedStorage(before: HeldTokens): Promise<void> {
    if (!this.#store.keepsRefreshToken) return;
    const stored = await this.#store.loadAfterWrites();
    const current = this.#tokens;
    if (!stored || !current || current !== before) return;
    const newer =
      stored.tokens.sessionId === current.sessionId &&
      stored.tokens.refreshToken !== null &&
      stored.tokens.refreshToken !== current.refreshToken &&
      !this.#isStale(stored.tokens);
    if (!newer) return;
    this.#session = stored.session ?? this.#session;
    this.#hold(stored.tokens);
    this.#notify('onSessionRefreshed', this.#refreshedEvent(stored.tokens, true));
  }
}

/**
 * The session cannot go on here: no refresh token in this tab, and no other tab answered with one;
 * `holderFrozen`: tabs holding a session are open but did not answer (frozen).
 */
function refreshTokenUnavailable(holderFrozen = false): SessionEndedError {
  return new SessionEndedError('refresh_token_unavailable', {
    message: holderFrozen
      ? 'The tab that holds the session did not answer (it is frozen or busy): the session cannot be refreshed here. Showing that tab again brings it back; else sign in again.'
      : 'This page holds no refresh token (its storage keeps none) and no other open tab answered with one: the session cannot be refreshed here. Please sign in again.',
    details: [{ reason: holderFrozen ? 'holder_not_answering' : 'no_tab_holds_refresh_token' }],
  });
}

function asTesseraError(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  return new SilentAuthFailedError({ message: 'The refresh failed unexpectedly.', cause: error });
}

function defaultTabs(baseUrl: string, timers: Timers): TabCoordinator {
  return tabsCanRace() ? browserTabCoordinator(`tessera:${baseUrl}`, { timers }) : noTabCoordination;
}
