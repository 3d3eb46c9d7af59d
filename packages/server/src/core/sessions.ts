import { type CheckedDpopProof, checkDpopProof, checkTokenProof, type DpopProofProblem, dpopProofError, isJwkThumbprint } from '@tessera/verifier/core';
import { type AccessTokenClaims, type AccessTokens, tokenExpiredError } from './access-tokens.js';
import type { Clock } from './clock.js';
import { assertStorableDevice, deviceSeen, knownDevice } from './devices.js';
import type { DpopNonces } from './dpop-nonces.js';
import { TesseraError } from './errors.js';
import type { FlowPolicies, FlowPolicy } from './flows.js';
import { newId } from './ids.js';
import { type Actor, type AuditEventDraft, type Journal, systemActor } from './journal.js';
import { generateRefreshTokenFor, hashRefreshToken, identityOfRefreshToken, openSuccessor, sealSuccessor, type TokenIdentity } from './refresh-tokens.js';
import { type RevocationReason, type SessionDevice, type SessionRecord, sessionEnd, sessionState } from './session.js';
import { SessionCache } from './session-cache.js';
import { storableTextProblem } from './storable-text.js';
import type { RotateRefreshToken, SessionPage, SessionQuery, SessionStore } from './store.js';
import { assertUserId } from './user-id.js';

/** What a sign-in or a refresh hands the client. Times are epoch milliseconds. */
export interface TokenGrant {
  readonly session: SessionRecord;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: number;
}

/**
 * A session changed: revoked, refreshed. Listeners (metrics, sockets, other nodes) hear it.
 * Revocations made by another node or process are heard too, with `elsewhere: true`.
 */
export type SessionEvent =
  | { readonly type: 'created'; readonly session: SessionRecord }
  | { readonly type: 'refreshed'; readonly session: SessionRecord; readonly replayed: boolean }
  | { readonly type: 'revoked'; readonly session: SessionRecord; readonly elsewhere?: true };

export interface SessionServiceOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly flows: FlowPolicies;
  readonly accessTokens: AccessTokens;
  readonly cache?: SessionCache;
  /** Records what changes in the audit trail and the webhook outbox; without one, nothing is recorded. */
  readonly journal?: Journal;
  /** When given, a DPoP proof must carry a nonce these gave out (RFC 9449 §8). */
  readonly dpopNonces?: DpopNonces;
  /**
   * The key refresh tokens carry their session's identity under (`generateRefreshTokenFor`): the same
   * on every node of a store (`SessionStore.sharedSecret`), so any of them rotates any token unread.
   */
  readonly tokenIdentityKey: Buffer;
}

export interface CreateSessionInput {
  readonly userId: string;
  readonly flow?: string;
  readonly metadata?: Record<string, unknown>;
  /** Who starts it: the app's backend by its API key, an operator at the CLI. */
  readonly actor?: Actor;
  /** The signing-in device, as the app's backend saw it; refreshes from the device update it. */
  readonly device?: SessionDevice;
  /** The RFC 7638 thumbprint of the device's DPoP key: the session is bound to it from the start. */
  readonly dpopJkt?: string;
}

/**
 * The DPoP side of a request (RFC 9449): its `DPoP` header, and what a proof must name. The core
 * checks it against the session's binding (a refresh) or the token's `cnf.jkt` (a resource request).
 */
export interface DpopRequest {
  /** The `DPoP` header; undefined when the request has none. */
  readonly proof: string | undefined;
  readonly method: string;
  /** The URLs a proof's `htu` may name: the request's own, and the same path under the issuer (a proxy in front). */
  readonly urls: readonly string[];
  /** A socket's `auth` cannot be answered with a `DPoP-Nonce` header: its proof needs none. */
  readonly withoutNonce?: boolean;
}

/** The sealed part of a successor grant: what a retry inside the reuse interval gets back. */
interface SealedGrant {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: number;
}

/** A spent token's successor: the pair a refresh answers with, and the rotation that stores it sealed. */
interface Successor {
  readonly sealed: SealedGrant;
  readonly rotation: Omit<RotateRefreshToken, 'device' | 'dpopJkt'>;
}

/**
 * How a request presented an access token: `Authorization: Bearer`, or `Authorization: DPoP` with its
 * proof (a socket's `auth` frame says the same with or without its `dpop` field).
 */
export type TokenPresentation = { readonly scheme: 'bearer' } | { readonly scheme: 'dpop'; readonly dpop: DpopRequest };

/** A rotation can lose a race at most this many times before the answer is settled by the winner. */
const rotationAttempts = 3;

/** Seconds a DPoP proof is accepted after its `iat`, and ahead of the clock (a device's fast clock). */
const dpopProofMaxAge = 60;
const dpopClockSkew = 5;

/**
 * The session rules, in one place: create, refresh (single-use rotation with a grace window and
 * reuse detection), authenticate, revoke. Knows nothing of HTTP, SQL or sockets.
 */
export class SessionService {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #flows: FlowPolicies;
  readonly #accessTokens: AccessTokens;
  readonly #cache: SessionCache;
  readonly #journal: Journal | undefined;
  readonly #dpopNonces: DpopNonces | undefined;
  readonly #listeners = new Set<(event: SessionEvent) => void>();
  readonly #tokenIdentityKey: Buffer;

  constructor(options: SessionServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#flows = options.flows;
    this.#accessTokens = options.accessTokens;
    this.#cache = options.cache ?? new SessionCache();
    this.#journal = options.journal;
    this.#dpopNonces = options.dpopNonces;
    this.#tokenIdentityKey = options.tokenIdentityKey;
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onSessionEvent(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drops cached state for a session changed elsewhere (another node, another process). */
  forgetSession(id: string, version?: number): void {
    this.#cache.forget(id, version);
  }

  /** Drops every cached session state: after a gap in what this node was told (a lost subscription). */
  forgetAllSessions(): void {
    this.#cache.clear();
  }

  /**
   * A session revoked by another node or process: keeps its state and tells local listeners
   * (sockets on this node) as if it had been revoked here.
   */
  revokedElsewhere(session: SessionRecord): void {
    this.#cache.set(session, this.#clock.now());
    this.#emit({ type: 'revoked', session, elsewhere: true });
  }

  /** The names of the configured flows. */
  get flowNames(): string[] {
    return Object.keys(this.#flows);
  }

  /** Starts a session in `flow` and issues its first token pair. */
  async createSession(input: CreateSessionInput): Promise<TokenGrant> {
    assertUserId(input.userId);
    const flowName = input.flow ?? 'default';
    const flow = Object.hasOwn(this.#flows, flowName) ? this.#flows[flowName] : undefined;
    if (!flow) {
      throw new TesseraError('invalid_request', {
        message: `Unknown flow "${flowName}".`,
        details: [{ field: 'flow', message: `must be one of: ${this.flowNames.join(', ')}` }],
      });
    }
    if (input.device) assertStorableDevice(input.device);
    if (input.dpopJkt !== undefined) assertDpopJkt(input.dpopJkt, flowName, flow);
    const now = this.#clock.now();
    const session: SessionRecord = {
      id: newId('ses_', now),
      userId: input.userId,
      flow: flowName,
      createdAt: now,
      lastRefreshedAt: null,
      expiresAt: now + flow.absoluteLifetime * 1000,
      idleExpiresAt: idleEnd(flow, now, now + flow.absoluteLifetime * 1000),
      revokedAt: null,
      revokedReason: null,
      metadata: input.metadata ?? {},
      device: input.device ? knownDevice(input.device) : null,
      refreshCount: 0,
      dpopJkt: input.dpopJkt ?? null,
      version: 1,
    };
    const refreshToken = generateRefreshTokenFor(session, this.#tokenIdentityKey);
    const access = await this.#accessTokens.sign(session, flow.accessTokenTtl, sessionEnd(session));
    const journal = this.#journal;
    await this.#store.createSession(
      session,
      { hash: hashRefreshToken(refreshToken), sessionId: session.id, issuedAt: now, spentAt: null, sealedSuccessor: null },
      journal && ((created) => journal.write([{ type: 'session.created', session: created, actor: input.actor ?? systemActor }])),
    );
    this.#cache.set(session, now);
    this.#emit({ type: 'created', session });
    return {
      session,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt: sessionEnd(session),
    };
  }

  /**
   * Exchanges a refresh token for a new pair. The token is spent; presenting it again within the
   * flow's reuse interval returns the same successor pair, after it revokes the session
   * (`reuse_detected`). `seen` is the refreshing device (its user agent, its address): recorded with
   * the rotation, in the same write. `dpop` is the request's DPoP proof: a session bound to a key
   * refreshes only with that key's proof (`#dpopKeyOf`).
   */
  async refreshSession(refreshToken: string, seen?: SessionDevice, dpop?: DpopRequest): Promise<TokenGrant> {
    const hash = hashRefreshToken(refreshToken);
    // Any node's token carries its session: rotated in one statement where the store can, no read first.
    const issued = this.#store.rotateUnreadRefreshToken ? identityOfRefreshToken(refreshToken, this.#tokenIdentityKey) : null;
    // The proof is checked once per request: its jti is taken then, and a second check would call it a replay.
    let dpopJkt: string | null | undefined;
    if (issued) {
      // A refused proof is judged after the read below: a session that has ended says so first.
      dpopJkt = await this.#dpopKeyOf(issued, this.#flowOf(issued), dpop, 'after a read');
      if (dpopJkt !== undefined) {
        const grant = await this.#issueUnreadSuccessor(refreshToken, hash, { ...issued, dpopJkt }, seen);
        if (grant) return grant;
      }
      // Refused (spent, revoked, expired, gone): read the token and decide as for any other.
    }
    for (let attempt = 0; attempt < rotationAttempts; attempt++) {
      const found = await this.#store.findRefreshToken(hash);
      if (!found) throw new TesseraError('session_not_found');
      const { token, session } = found;
      const now = this.#clock.now();
      assertActive(session, now);
      const flow = this.#flowOf(session);
      if (dpopJkt === undefined) dpopJkt = await this.#dpopKeyOf(session, flow, dpop);

      if (token.spentAt !== null) {
        return this.#replaySpentToken(refreshToken, token.spentAt, token.sealedSuccessor, session, flow, now);
      }

      const grant = await this.#issueSuccessor(refreshToken, hash, { ...session, dpopJkt: session.dpopJkt ?? dpopJkt }, flow, now, seen);
      if (grant) return grant;
      // Another request spent the token first: go round and answer as a retry of the winner.
    }
    throw new TesseraError('service_unavailable', { retryAfter: 1, message: 'The refresh could not be settled. Retry.' });
  }

  async #issueSuccessor(
    spentToken: string,
    spentHash: string,
    session: SessionRecord,
    flow: FlowPolicy,
    now: number,
    seen: SessionDevice | undefined,
  ): Promise<TokenGrant | null> {
    const successor = await this.#successorOf(spentToken, spentHash, session, flow, now);
    const updated = await this.#store.rotateRefreshToken({ ...successor.rotation, device: deviceSeen(session.device, seen), dpopJkt: session.dpopJkt });
    return this.#afterRotation(updated, successor.sealed, now);
  }

  /**
   * The rotation of a token that carries its session, without reading it first: the store checks in
   * the same statement what the read would have (live token, active session). Null when it refuses.
   */
  async #issueUnreadSuccessor(spentToken: string, spentHash: string, session: TokenIdentity, seen: SessionDevice | undefined): Promise<TokenGrant | null> {
    const rotateUnread = this.#store.rotateUnreadRefreshToken;
    if (!rotateUnread) return null;
    const now = this.#clock.now();
    const successor = await this.#successorOf(spentToken, spentHash, session, this.#flowOf(session), now);
    const updated = await rotateUnread.call(this.#store, { ...successor.rotation, now, seen: seen ?? null, dpopJkt: session.dpopJkt });
    return this.#afterRotation(updated, successor.sealed, now);
  }

  /** The successor pair of a spent token, signed and sealed, and the rotation that stores it. */
  async #successorOf(spentToken: string, spentHash: string, session: TokenIdentity, flow: FlowPolicy, now: number): Promise<Successor> {
    const idleExpiresAt = idleEnd(flow, now, session.expiresAt);
    const ends = sessionEnd({ expiresAt: session.expiresAt, idleExpiresAt });
    const refreshToken = generateRefreshTokenFor(session, this.#tokenIdentityKey);
    const access = await this.#accessTokens.sign(session, flow.accessTokenTtl, ends);
    const sealed: SealedGrant = {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt: ends,
    };
    const rotation = {
      spentHash,
      spentAt: now,
      sealedSuccessor: sealSuccessor(spentToken, sealed),
      successor: { hash: hashRefreshToken(refreshToken), sessionId: session.id, issuedAt: now, spentAt: null, sealedSuccessor: null },
      sessionId: session.id,
      lastRefreshedAt: now,
      idleExpiresAt,
    };
    return { sealed, rotation };
  }

  #afterRotation(updated: SessionRecord | null, sealed: SealedGrant, now: number): TokenGrant | null {
    if (!updated) return null;
    this.#cache.set(updated, now);
    this.#emit({ type: 'refreshed', session: updated, replayed: false });
    return { session: updated, ...sealed };
  }

  /**
   * The DPoP key a refresh of `session` rotates under: the session's own when it is bound (the
   * request must carry that key's proof), the proof's key when the flow binds on first use, or null
   * (a bearer refresh). A bound session refreshed without its key's proof is suspected theft: the
   * flow's `dpop_misuse` revokes it (`reuse_detected`) or only refuses. Every refusal is
   * `dpop_proof_invalid`. A proof's `jti` is taken once across the nodes sharing the store.
   * `'after a read'`: a refusal is neither acted on nor thrown but answered `undefined`, for the caller
   * to read the session and ask again (the proof's `jti` was not taken).
   */
  async #dpopKeyOf(session: Pick<SessionRecord, 'id' | 'dpopJkt'>, flow: FlowPolicy, dpop: DpopRequest | undefined): Promise<string | null>;
  async #dpopKeyOf(
    session: Pick<SessionRecord, 'id' | 'dpopJkt'>,
    flow: FlowPolicy,
    dpop: DpopRequest | undefined,
    refusal: 'after a read',
  ): Promise<string | null | undefined>;
  async #dpopKeyOf(
    session: Pick<SessionRecord, 'id' | 'dpopJkt'>,
    flow: FlowPolicy,
    dpop: DpopRequest | undefined,
    refusal?: 'after a read',
  ): Promise<string | null | undefined> {
    const bound = session.dpopJkt;
    if (bound === null && flow.dpop === 'off') return null;
    const refuse = async (reason: DpopProofProblem, error: unknown): Promise<undefined> => {
      if (refusal === 'after a read') return undefined;
      // A stale nonce is the server's doing, not a thief's: every client meets one now and then.
      if (bound !== null && flow.dpopMisuse === 'revoke' && reason !== 'nonce') {
        await this.revokeSession(session.id, 'reuse_detected', systemActor, { dpop_proof: reason });
      }
      throw error;
    };
    if (dpop?.proof === undefined) {
      if (bound === null && flow.dpop === 'allowed') return null;
      return refuse('missing', dpopProofError('missing', 'This session refreshes only with a DPoP proof of its key, in the DPoP header.'));
    }
    try {
      const checked = await this.#checkProof(dpop, bound !== null ? { boundTo: bound } : {});
      await this.#takeProof(checked);
      return bound ?? checked.jkt;
    } catch (error) {
      const problem = dpopProblemOf(error);
      // Not the proof's fault (the store cannot answer): no verdict on the session.
      if (problem === undefined) throw error;
      return refuse(problem, error);
    }
  }

  async #replaySpentToken(
    spentToken: string,
    spentAt: number,
    sealedSuccessor: string | null,
    session: SessionRecord,
    flow: FlowPolicy,
    now: number,
  ): Promise<TokenGrant> {
    const withinGrace = now - spentAt <= flow.reuseInterval * 1000;
    const successor = withinGrace && sealedSuccessor !== null ? openSuccessor(spentToken, sealedSuccessor) : null;
    if (isSealedGrant(successor)) {
      this.#emit({ type: 'refreshed', session, replayed: true });
      return { session, ...successor };
    }
    // A spent token after its grace window: someone holds a copy. End this session, and only this one.
    const revoked = await this.revokeSession(session.id, 'reuse_detected', systemActor, { spent_at: new Date(spentAt).toISOString() });
    throw revokedError(revoked ?? (await this.#store.getSession(session.id)) ?? session);
  }

  /**
   * Verifies an access token and checks its session's current state, so a revoked or expired
   * session is reported even while the token itself is unexpired. An expired token of an ended
   * session gets the session's code too: refreshing cannot help it. `token_expired` means the
   * session lives.
   */
  async authenticate(accessToken: string, presented?: TokenPresentation): Promise<{ session: SessionRecord; claims: AccessTokenClaims }> {
    const { claims, expired } = await this.#accessTokens.check(accessToken);
    const session = await this.#cachedSession(claims.sid);
    if (!session || session.userId !== claims.sub) throw new TesseraError('session_not_found');
    assertActive(session, this.#clock.now());
    if (expired) throw tokenExpiredError(claims.exp);
    // A bearer token bound to nothing (every whoami without DPoP) has nothing more to prove.
    const needsProof = presented !== undefined && (presented.scheme === 'dpop' || claims.cnf !== undefined);
    if (needsProof) await this.#assertProofOfPossession(accessToken, claims, presented);
    return { session, claims };
  }

  /**
   * A token bound to a key (`cnf.jkt`) is used only with a proof of that key for this request (RFC
   * 9449 §7): the verifier's rule (`checkTokenProof`), against each URL the request may be named by;
   * a proof's `jti` is taken once. Bearer use of a bound token is refused.
   */
  async #assertProofOfPossession(accessToken: string, claims: AccessTokenClaims, presented: TokenPresentation): Promise<void> {
    const dpop = presented.scheme === 'dpop' ? presented.dpop : undefined;
    const checked = await checkTokenProof(accessToken, claims, {
      scheme: presented.scheme,
      proof: dpop?.proof,
      method: dpop?.method ?? '',
      url: dpop?.urls ?? '',
      now: this.#clock.now(),
      maxAge: dpopProofMaxAge,
      clockSkew: dpopClockSkew,
      ...this.#nonceCheck(dpop),
    });
    if (checked) await this.#takeProof(checked);
  }

  /** The proof checked once, its `htu` against each URL the request may be named by; throws `dpop_proof_invalid`. */
  #checkProof(dpop: DpopRequest, expect: { readonly boundTo?: string; readonly accessToken?: string }): Promise<CheckedDpopProof> {
    return checkDpopProof(dpop.proof, {
      method: dpop.method,
      url: dpop.urls,
      now: this.#clock.now(),
      maxAge: dpopProofMaxAge,
      clockSkew: dpopClockSkew,
      ...this.#nonceCheck(dpop),
      ...expect,
    });
  }

  /** The nonce rule for a proof of `dpop`: one of ours, when nonces are on and the request can be told one. */
  #nonceCheck(dpop: DpopRequest | undefined): { acceptsNonce?: (nonce: string | undefined) => boolean } {
    const nonces = this.#dpopNonces;
    if (!nonces || dpop?.withoutNonce) return {};
    return { acceptsNonce: (nonce) => nonces.accepts(nonce) };
  }

  /** Takes a proof's `jti` until no clock would accept the proof again; a second use anywhere is `replayed`. */
  async #takeProof(checked: CheckedDpopProof): Promise<void> {
    const staleAt = (checked.iat + dpopProofMaxAge + dpopClockSkew) * 1000;
    if (!(await this.#store.rememberDpopProof(checked.jti, Math.max(staleAt, this.#clock.now())))) {
      throw dpopProofError('replayed', 'This DPoP proof was used before. Make a new one for each request.');
    }
  }

  /** The session with this id, whatever its status. */
  async getSession(id: string): Promise<SessionRecord | null> {
    assertSessionId(id);
    return this.#store.getSession(id);
  }

  /** The user's sessions that are neither expired nor revoked. */
  async listActiveSessions(userId: string): Promise<SessionRecord[]> {
    assertUserId(userId);
    return this.#store.listActiveSessions(userId, this.#clock.now());
  }

  /**
   * The active sessions of `current`'s user, newest first: the user's own "your devices" list. The
   * user id comes from the store, as for `revokeOtherSessions`.
   */
  async listOwnSessions(current: SessionRecord): Promise<SessionRecord[]> {
    return this.#store.listActiveSessions(current.userId, this.#clock.now());
  }

  /**
   * The user ends one of their own sessions ("sign out that device"): `signed_out_elsewhere`, or
   * `logout` when it is `current` itself. Another user's session is `not_found`, as if there were
   * none; one that had already ended is returned as it is.
   */
  async revokeOwnSession(current: SessionRecord, id: string): Promise<SessionRecord> {
    const target = await this.getSession(id);
    if (!target || target.userId !== current.userId) throw new TesseraError('not_found', { message: 'You have no session with this id.' });
    const reason: RevocationReason = target.id === current.id ? 'logout' : 'signed_out_elsewhere';
    return (await this.revokeSession(id, reason, { type: 'user', id: current.userId })) ?? (await this.#store.getSession(id)) ?? target;
  }

  /**
   * A page of the user's sessions under `query`'s filters, by their status now, newest first, and how
   * many match in all: for an operator paging through them, not for the rules. Status is judged at
   * `now` (the clock's, unless the caller shows the sessions as of another moment).
   */
  async listSessions(query: Omit<SessionQuery, 'now'> & { readonly now?: number }): Promise<SessionPage> {
    assertUserId(query.userId);
    return this.#store.listSessions({ ...query, now: query.now ?? this.#clock.now() });
  }

  /**
   * Ends an active session; returns it updated, or null when it had already ended. `actor` is who
   * asked (recorded in the audit trail); `details` say more about a reuse.
   */
  async revokeSession(id: string, reason: RevocationReason, actor: Actor = systemActor, details?: Record<string, unknown>): Promise<SessionRecord | null> {
    assertSessionId(id);
    const now = this.#clock.now();
    const current = await this.#store.getSession(id);
    if (!current || sessionState(current, now).status !== 'active') return null;
    const journal = this.#journal;
    const revoked = await this.#store.revokeSession(
      id,
      reason,
      now,
      journal && ((session) => journal.write(revocationEvents(session, reason, actor, details))),
    );
    if (revoked) this.#afterRevoke(revoked);
    return revoked;
  }

  /** Ends every active session of the user, but `exceptSessionId`; returns those it ended. */
  async revokeUserSessions(userId: string, reason: RevocationReason, actor: Actor = systemActor, exceptSessionId?: string): Promise<SessionRecord[]> {
    assertUserId(userId);
    return this.#revokeUserSessions(userId, reason, actor, exceptSessionId);
  }

  /**
   * The user's own "sign out everywhere else": every active session of `current`'s user but it.
   * The user id comes from the store, so an id kept from before the user-id rule still works.
   */
  async revokeOtherSessions(current: SessionRecord, reason: RevocationReason): Promise<SessionRecord[]> {
    return this.#revokeUserSessions(current.userId, reason, { type: 'user', id: current.userId }, current.id);
  }

  async #revokeUserSessions(userId: string, reason: RevocationReason, actor: Actor, exceptSessionId?: string): Promise<SessionRecord[]> {
    const journal = this.#journal;
    const revoked = await this.#store.revokeUserSessions(
      userId,
      reason,
      this.#clock.now(),
      exceptSessionId,
      journal && ((sessions) => journal.forSessions(sessions, (session) => revocationEvents(session, reason, actor))),
    );
    for (const session of revoked) this.#afterRevoke(session);
    return revoked;
  }

  #afterRevoke(session: SessionRecord): void {
    this.#cache.set(session, this.#clock.now());
    this.#emit({ type: 'revoked', session });
  }

  async #cachedSession(id: string): Promise<SessionRecord | null> {
    const now = this.#clock.now();
    const cached = this.#cache.get(id, now);
    // A copy that has reached its end is read again: another node may have pushed the idle end since.
    if (cached && sessionState(cached, now).status !== 'expired') return cached;
    const session = await this.#store.getSession(id);
    if (session) this.#cache.set(session, now);
    return session;
  }

  #flowOf(session: Pick<SessionRecord, 'flow'>): FlowPolicy {
    // A flow removed from the config keeps working under the default rules rather than stranding its sessions.
    const own = Object.hasOwn(this.#flows, session.flow) ? this.#flows[session.flow] : undefined;
    return own ?? this.#flows['default'] ?? Object.values(this.#flows)[0]!;
  }

  #emit(event: SessionEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** A `dpop_jkt` at sign-in: a SHA-256 JWK thumbprint, for a flow that uses DPoP. */
function assertDpopJkt(jkt: unknown, flowName: string, flow: FlowPolicy): void {
  if (!isJwkThumbprint(jkt)) {
    throw new TesseraError('invalid_request', {
      message: 'dpop_jkt must be the RFC 7638 SHA-256 thumbprint of the DPoP public key (43 base64url characters).',
      details: [{ field: 'dpop_jkt', message: 'must be a SHA-256 JWK thumbprint' }],
    });
  }
  if (flow.dpop === 'off') {
    throw new TesseraError('invalid_request', {
      message: `The flow "${flowName}" does not use DPoP: set its "dpop" to "allowed" or "required" to bind sessions to a key.`,
      details: [{ field: 'dpop_jkt', message: `flow "${flowName}" has dpop "off"` }],
    });
  }
}

/** The `reason` of a `dpop_proof_invalid` error, else undefined. */
function dpopProblemOf(error: unknown): DpopProofProblem | undefined {
  if (!(error instanceof TesseraError) || error.code !== 'dpop_proof_invalid') return undefined;
  const reason = (error.details?.[0] as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? (reason as DpopProofProblem) : undefined;
}

/** A session id from outside that no store could hold (a NUL, an unpaired surrogate) is a malformed request. */
function assertSessionId(id: string): void {
  const problem = storableTextProblem(id);
  if (problem) throw new TesseraError('invalid_request', { message: `The session id ${problem}.`, details: [{ field: 'id', message: problem }] });
}

/** A revocation's audit events: `session.revoked`, preceded by `session.reuse_detected` when reuse was the reason. */
function revocationEvents(session: SessionRecord, reason: RevocationReason, actor: Actor, details?: Record<string, unknown>): AuditEventDraft[] {
  const revoked: AuditEventDraft = { type: 'session.revoked', session, actor, reason };
  if (reason !== 'reuse_detected') return [revoked];
  return [{ type: 'session.reuse_detected', session, actor, reason, ...(details ? { details } : {}) }, revoked];
}

function idleEnd(flow: FlowPolicy, now: number, absoluteEnd: number): number | null {
  return flow.idleTimeout === null ? null : Math.min(now + flow.idleTimeout * 1000, absoluteEnd);
}

function isSealedGrant(value: unknown): value is SealedGrant {
  if (typeof value !== 'object' || value === null) return false;
  const grant = value as Record<string, unknown>;
  return typeof grant['accessToken'] === 'string' && typeof grant['refreshToken'] === 'string';
}

/** Throws `session_revoked` or `session_expired` with its reason unless the session is active at `now`. */
export function assertActive(session: SessionRecord, now: number): void {
  const state = sessionState(session, now);
  if (state.status === 'revoked') throw revokedError(session);
  if (state.status === 'expired') {
    throw new TesseraError('session_expired', {
      details: [{ reason: state.reason, expired_at: new Date(state.at).toISOString() }],
    });
  }
}

function revokedError(session: SessionRecord): TesseraError {
  return new TesseraError('session_revoked', {
    details: [
      {
        reason: session.revokedReason ?? 'admin',
        revoked_at: new Date(session.revokedAt ?? 0).toISOString(),
      },
    ],
  });
}
