import type { IncomingMessage } from 'node:http';
import { type RawData, WebSocket } from 'ws';
import type { AccessTokenClaims } from '../core/access-tokens.js';
import type { Clock, Scheduler, Timer } from '../core/clock.js';
import { type SessionRecord, sessionEnd } from '../core/session.js';
import { assertActive, type SessionService, type TokenPresentation } from '../core/sessions.js';
import { type RealtimeError, realtimeError, toRealtimeError } from './close-codes.js';
import { corked, type EndingFrame, frameOf, holdReading } from './ending-frame.js';
import { MessageRate } from './message-rate.js';
import { type ClientFrame, encodeServerFrame, parseClientFrame, type ServerFrame } from './protocol.js';

/** One socket as the app sees it: who is on it, and a way to push the app's own messages. */
export interface RealtimeConnection {
  /** Unique per socket; the `request_id` of its envelopes and the `X-Request-Id` of its upgrade. */
  readonly id: string;
  /** The upgrade request (headers, remote address). */
  readonly request: IncomingMessage;
  /** The authenticated session, kept current; null until the first `auth`. */
  readonly session: SessionRecord | null;
  readonly sessionId: string | null;
  readonly userId: string | null;
  /** Claims of the access token the socket last authenticated with. */
  readonly claims: AccessTokenClaims | null;
  /** Sends `{ "type": "message", "data": data }`; false when the socket is not authenticated and open. */
  send(data: unknown): boolean;
  /** Closes the socket with a normal close (1000) or an app code (4000–4999 not used by Tessera). */
  close(code?: number, reason?: string): void;
}

/** What a connection needs from its gateway. */
export interface ConnectionContext {
  readonly sessions: SessionService;
  readonly clock: Clock;
  /** Where deadlines wait (it reaches those beyond setTimeout's ~24.8 days in steps). */
  readonly scheduler: Scheduler;
  /** Seconds before `exp` at which `token_expiring` is sent (capped at half the token's life). */
  readonly leeway: number;
  /** Milliseconds a new socket has to send `auth`. */
  readonly authTimeoutMs: number;
  /** Bytes queued for a client before it is dropped as a slow consumer. */
  readonly maxBufferedBytes: number;
  readonly messageRate: { readonly perSecond: number; readonly burst: number };
  /** The issuer: a DPoP proof on `auth` may name the socket's path under it (a proxy in front). */
  readonly issuer: string;
  /** The socket authenticated for the first time: from now on it hears its session's events. */
  track(connection: SocketConnection): void;
  /** The socket is tracked and its session was still active after that: tell the app. */
  onAuthenticated(connection: SocketConnection): void;
  /** An app `message` frame arrived on an authenticated socket. */
  onMessage(connection: SocketConnection, data: unknown): void | Promise<void>;
  /** The socket is gone, whatever the cause. */
  onClosed(connection: SocketConnection, code: number): void;
  /** Dropped without a close frame (slow consumer, dead peer). */
  onTerminated(connection: SocketConnection, cause: 'slow_consumer' | 'heartbeat'): void;
}

/**
 * The protocol state of one socket: waits for `auth`, warns before the access token's `exp`,
 * takes in-band re-authentication for the same session, and ends with the close code of whatever
 * ended it. Incoming frames and deadlines run one at a time, in order.
 */
export class SocketConnection implements RealtimeConnection {
  readonly id: string;
  readonly request: IncomingMessage;
  /** Origin for `doc_url`s in envelopes: the host the client reached. */
  readonly #baseUrl: string;
  readonly #ws: WebSocket;
  readonly #context: ConnectionContext;
  readonly #rate: MessageRate;
  #session: SessionRecord | null = null;
  #claims: AccessTokenClaims | null = null;
  #warned = false;
  /** An `auth` arrived: the auth timeout is met, however long its check takes. */
  #authReceived = false;
  #closing = false;
  #alive = true;
  #timer: Timer | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(ws: WebSocket, request: IncomingMessage, id: string, baseUrl: string, context: ConnectionContext) {
    this.id = id;
    this.request = request;
    this.#baseUrl = baseUrl;
    this.#ws = ws;
    this.#context = context;
    this.#rate = new MessageRate(context.messageRate);
    ws.on('message', (raw, isBinary) => this.#onFrame(raw, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    // Protocol errors (bad frames, oversized messages) are answered by ws with a close; nothing to throw.
    ws.on('error', () => {});
    ws.once('close', (code) => {
      this.#closing = true;
      this.#clearTimer();
      context.onClosed(this, code);
    });
    this.#setTimer(context.authTimeoutMs, () => {
      if (!this.#authReceived) this.fail(realtimeError('token_missing', { message: `No "auth" message within ${context.authTimeoutMs / 1000} s.` }));
    });
  }

  get session(): SessionRecord | null {
    return this.#session;
  }

  get sessionId(): string | null {
    return this.#session?.id ?? null;
  }

  get userId(): string | null {
    return this.#session?.userId ?? null;
  }

  get claims(): AccessTokenClaims | null {
    return this.#claims;
  }

  send(data: unknown): boolean {
    if (this.#session === null) return false;
    return this.#sendFrame({ type: 'message', data });
  }

  close(code = 1000, reason = ''): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#clearTimer();
    this.#ws.close(code, reason);
  }

  /** Sends `session_ended` (or `error`) with the envelope, then closes with the matching code. */
  fail(error: RealtimeError): void {
    if (this.#closing) return;
    const frame = encodeServerFrame(frameOf(error, this.id, this.#baseUrl, this.#context.clock.now()));
    corked(this.#ws, () => {
      this.#sendText(frame);
      this.close(error.closeCode, error.code);
    });
  }

  /** Like `fail`, with the frame serialised once for every socket it ends. */
  end(ending: EndingFrame): void {
    if (this.#closing) return;
    corked(this.#ws, () => {
      this.#sendText(ending.textFor(this.id));
      this.close(ending.error.closeCode, ending.error.code);
    });
  }

  /**
   * The session changed (refreshed, or revoked here or on another node): follow the change, or end
   * the socket with `ending`, the frame the gateway worked out once for all sockets of the session.
   * An ended socket stops being read until the returned function is called (`holdReading`).
   */
  sessionChanged(session: SessionRecord, ending: EndingFrame | null): (() => void) | undefined {
    if (this.#closing || this.#session?.id !== session.id || session.version < this.#session.version) return undefined;
    if (ending) {
      this.end(ending);
      return holdReading(this.#ws);
    }
    this.#session = session;
    this.#schedule();
    return undefined;
  }

  /** Heartbeat: pings a live peer; drops one that did not answer the previous ping. */
  heartbeat(): void {
    if (this.#closing) return;
    if (!this.#alive) {
      this.#terminate('heartbeat');
      return;
    }
    this.#alive = false;
    this.#ws.ping();
  }

  /** Closes with 1001 (going away) for a server shutdown. */
  goAway(): void {
    this.close(1001, 'server shutting down');
  }

  // ── Incoming ─────────────────────────────────────────────────────────────────

  #onFrame(raw: RawData, isBinary: boolean): void {
    if (this.#closing) return;
    if (!this.#rate.take()) {
      this.fail(realtimeError('rate_limited', { message: 'Too many messages on this socket.', retryAfter: 1 }));
      return;
    }
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(raw, isBinary);
    } catch (error) {
      this.fail(toRealtimeError(error));
      return;
    }
    if (frame.type === 'auth') {
      this.#authReceived = true;
      const { accessToken, dpop } = frame;
      this.#enqueue(() => this.#authenticate(accessToken, dpop));
      return;
    }
    const data = frame.data;
    this.#enqueue(async () => {
      if (this.#session === null) throw realtimeError('invalid_request', { message: 'The first message must be "auth".' });
      await this.#context.onMessage(this, data);
    });
  }

  async #authenticate(accessToken: string, dpop: string | undefined): Promise<void> {
    const { session, claims } = await this.#context.sessions.authenticate(accessToken, this.#presentation(dpop));
    if (this.#closing) return;
    const first = this.#session === null;
    if (!first && session.id !== this.#session!.id) {
      throw realtimeError('token_invalid', {
        message: 'This socket belongs to another session: open a new socket for this token.',
        details: [{ reason: 'session_mismatch' }],
      });
    }
    const warnedOf = this.#claims;
    this.#session = session;
    this.#claims = claims;
    // One warning per `exp`: a token that ends no later than the one warned about (a refresh within the
    // second of its `iat` brings the same whole-second `exp`) is not warned about again, or 1 s tokens loop.
    if (warnedOf === null || claims.exp > warnedOf.exp) this.#warned = false;
    if (first) {
      this.#context.track(this);
      // A revocation between the read above and `track` was emitted before this socket could hear it: read again.
      await this.#recheckSession();
      if (this.#closing) return;
    }
    this.#sendFrame({ type: 'ready', session_id: session.id, access_token_expires_at: new Date(claims.exp * 1000).toISOString() });
    this.#schedule();
    if (first) this.#context.onAuthenticated(this);
  }

  /** Runs `step` after everything queued before it; a failure closes the socket with its code. */
  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(async () => {
        if (!this.#closing) await step();
      })
      .catch((error: unknown) => this.fail(toRealtimeError(error)));
  }

  /**
   * How `auth` presented its token: with a `dpop` proof, one for `GET` and this socket's URL, as the
   * client wrote it with an http(s) scheme (RFC 9449 names no ws: one), or under the issuer.
   */
  #presentation(dpop: string | undefined): TokenPresentation {
    if (dpop === undefined) return { scheme: 'bearer' };
    const path = (this.request.url ?? '/').split('?')[0]!;
    const host = this.request.headers.host ?? '';
    const urls = [`https://${host}${path}`, `http://${host}${path}`, `${this.#context.issuer}${path}`];
    return { scheme: 'dpop', dpop: { proof: dpop, method: 'GET', urls, withoutNonce: true } };
  }

  // ── Deadlines: token_expiring, token expiry, session end ─────────────────────

  /** Arms the timer for the next deadline of the current token and session. */
  #schedule(): void {
    const deadlines = this.#deadlines();
    if (!deadlines) return;
    const next = Math.min(...[deadlines.warnAt, deadlines.tokenEnd, deadlines.sessionEnd].filter((at): at is number => at !== null));
    this.#setTimer(next - this.#context.clock.now(), () => this.#enqueue(() => this.#onDeadline()));
  }

  async #onDeadline(): Promise<void> {
    const deadlines = this.#deadlines();
    if (!deadlines) return;
    const now = this.#context.clock.now();
    if (now >= deadlines.sessionEnd) {
      await this.#recheckSession();
      if (this.#closing) return;
    } else if (deadlines.tokenEnd !== null && now >= deadlines.tokenEnd) {
      throw realtimeError('token_expired', {
        message: 'The access token expired: re-authenticate in band before exp.',
        details: [{ expired_at: new Date(deadlines.tokenEnd).toISOString() }],
      });
    } else if (deadlines.warnAt !== null && now >= deadlines.warnAt) {
      this.#warned = true;
      this.#sendFrame({ type: 'token_expiring', access_token_expires_at: new Date(this.#claims!.exp * 1000).toISOString() });
    }
    this.#schedule();
  }

  /**
   * When to warn, when the token ends the socket, when the session may end. A token cut short by
   * the session's end is not a token expiry: the socket waits for the session end (4005). Refreshing
   * cannot help a token cut by the absolute end, so no warning is sent for it.
   */
  #deadlines(): { warnAt: number | null; tokenEnd: number | null; sessionEnd: number } | null {
    const session = this.#session;
    const claims = this.#claims;
    if (!session || !claims || this.#closing) return null;
    const exp = claims.exp * 1000;
    const end = sessionEnd(session);
    const cutBySession = exp > end - 1000;
    const cutByAbsoluteEnd = cutBySession && (session.idleExpiresAt === null || session.expiresAt <= session.idleExpiresAt);
    const lifetime = Math.max(0, exp - claims.iat * 1000);
    const warnAt = this.#warned || cutByAbsoluteEnd ? null : exp - Math.min(this.#context.leeway * 1000, lifetime / 2);
    return { warnAt, tokenEnd: cutBySession ? null : exp, sessionEnd: end };
  }

  /** At the session's end as last known: read it again (another node may have refreshed it) and end or follow it. */
  async #recheckSession(): Promise<void> {
    const current = await this.#context.sessions.getSession(this.#session!.id);
    if (this.#closing) return;
    if (!current) throw realtimeError('session_not_found');
    assertActive(current, this.#context.clock.now());
    this.#session = current;
  }

  #setTimer(delayMs: number, run: () => void): void {
    this.#clearTimer();
    this.#timer = this.#context.scheduler.setTimer(delayMs, () => {
      this.#timer = null;
      run();
    });
  }

  #clearTimer(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  // ── Outgoing ─────────────────────────────────────────────────────────────────

  #sendFrame(frame: ServerFrame): boolean {
    return this.#sendText(encodeServerFrame(frame));
  }

  #sendText(text: string): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    if (this.#ws.bufferedAmount > this.#context.maxBufferedBytes) {
      // A slow consumer: its close frame would wait behind the backlog, so drop it outright.
      this.#terminate('slow_consumer');
      return false;
    }
    this.#ws.send(text);
    return true;
  }

  #terminate(cause: 'slow_consumer' | 'heartbeat'): void {
    this.#closing = true;
    this.#clearTimer();
    this.#context.onTerminated(this, cause);
    this.#ws.terminate();
  }
}
