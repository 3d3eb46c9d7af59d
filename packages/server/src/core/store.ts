import type { Scheduler } from './clock.js';
import type { FanoutChannel } from './fanout-channel.js';
import type { AuditEventRecord, AuditEventType, JournalFor, JournalWrite, WebhookMessageRecord } from './journal.js';
import type { RevocationReason, SessionDevice, SessionRecord } from './session.js';
import type { WebhookClaim, WebhookMessageQuery, WebhookSettlement } from './webhook-outbox.js';

/** One refresh token, known only by the SHA-256 of its secret. */
export interface RefreshTokenRecord {
  readonly hash: string;
  readonly sessionId: string;
  readonly issuedAt: number;
  /** When it was exchanged for its successor; null while it is the live token. */
  readonly spentAt: number | null;
  /** The successor grant, sealed with a key only the holder of this token can derive. */
  readonly sealedSuccessor: string | null;
}

export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: string;
  /** The private JWK as JSON, or sealed under a key-encryption key (`core/key-encryption.ts`). */
  readonly privateJwk: string;
  readonly publicJwk: string;
  readonly createdAt: number;
  /** When it stopped signing; null for the current key. */
  readonly retiredAt: number | null;
  /** After this, no token it signed can still be valid: it leaves the JWKS. */
  readonly verifyUntil: number | null;
  /**
   * The longest access-token lifetime (seconds) any node signing with it is configured for: how long
   * it must keep verifying once retired, whatever the retiring process knows. Null for keys from before.
   */
  readonly longestTokenTtl: number | null;
}

/**
 * Where a management API key came from: `created` by `tessera api-keys create`, `supplied` with
 * `--api-key`, `generated` on a first start, `legacy` when stored before keys had names.
 */
export type ApiKeyOrigin = 'created' | 'supplied' | 'generated' | 'legacy';

/** One management API key, known only by the SHA-256 of its secret. */
export interface ApiKeyRecord {
  readonly hash: string;
  readonly name: string;
  readonly origin: ApiKeyOrigin;
  readonly createdAt: number;
  /** Null while the key is accepted. */
  readonly revokedAt: number | null;
  /** Recorded coarsely (a node writes it at most once a minute per key); null if never used. */
  readonly lastUsedAt: number | null;
}

/** Which audit events to read: newest first, strictly older than `before` when given. */
export interface AuditQuery {
  readonly userId?: string;
  readonly sessionId?: string;
  readonly type?: AuditEventType;
  /** The last event of the previous page: reading goes on from just past it. */
  readonly before?: { readonly at: number; readonly id: string };
  readonly limit: number;
}

/**
 * Which users to find: ids starting with `prefix` (code point for code point), in id order, after
 * `afterUserId` when given (the last of the previous page), at most `limit`.
 */
export interface UserSearch {
  readonly prefix: string;
  readonly afterUserId?: string;
  readonly limit: number;
  /** Sessions count as active when neither revoked nor past either end at this instant. */
  readonly now: number;
}

/** A user as the admin console's search lists them: known by their sessions. */
export interface UserSummary {
  readonly userId: string;
  readonly activeSessions: number;
  /** When the user's newest session was created (epoch ms). */
  readonly lastCreatedAt: number;
}

/** Which of a user's sessions a listing wants, by their status at the query's `now`. */
export type SessionStatusFilter = 'active' | 'expired' | 'revoked' | 'all';

/**
 * One page of a user's sessions: newest first (by creation time, then id), strictly past `before`
 * when given. "expired" means not revoked and past the idle or absolute end at `now`; "active",
 * neither revoked nor expired. Each filter applies when given.
 */
export interface SessionQuery {
  readonly userId: string;
  readonly status: SessionStatusFilter;
  readonly flow?: string;
  /** Created strictly after this time. */
  readonly createdAfter?: number;
  /** Created strictly before this time. */
  readonly createdBefore?: number;
  readonly now: number;
  /** The last session of the previous page (its creation time and id): reading goes on from just past it. */
  readonly before?: { readonly at: number; readonly id: string };
  readonly limit: number;
}

/** A page of sessions, and how many match the query's filters in all (whatever `before` and `limit`). */
export interface SessionPage {
  readonly sessions: SessionRecord[];
  readonly total: number;
}

/** What the store purge would remove (`SessionStore.countPurgeable`). */
export interface PurgeableCounts {
  readonly sealedSuccessors: number;
  readonly endedSessionTokens: number;
  readonly endedSessions: number;
  /** Seen DPoP proofs past their `expires_at`: a proof that old is refused for its `iat` anyway. */
  readonly staleDpopProofs: number;
}

export interface RotateRefreshToken {
  readonly spentHash: string;
  readonly spentAt: number;
  readonly sealedSuccessor: string;
  readonly successor: RefreshTokenRecord;
  readonly sessionId: string;
  readonly lastRefreshedAt: number;
  readonly idleExpiresAt: number | null;
  /** The device as this refresh saw it, written in the same update (`core/devices.ts`). */
  readonly device: SessionDevice | null;
  /**
   * The thumbprint of the refresh's DPoP key: binds a session not yet bound (a bound one keeps its
   * key). An unread rotation refuses a session bound to another key, or bound when this is null.
   */
  readonly dpopJkt: string | null;
}

/**
 * A rotation of a token the caller has not read (`SessionStore.rotateUnreadRefreshToken`): what a
 * rotation writes, with the device as this refresh `seen` it (merged into the stored one by
 * `deviceSeen`'s rule), and `now` to judge the session active at.
 */
export interface RotateUnreadRefreshToken extends Omit<RotateRefreshToken, 'device'> {
  readonly now: number;
  readonly seen: SessionDevice | null;
}

/**
 * Everything the core needs to keep. Implementations are thin: the rules live in the core.
 * Every method that changes a session bumps its `version`. A method given a `journal` writes what it
 * returns (audit events, webhook messages) in the same transaction as the change, and only when
 * something changed: a crash keeps both or neither.
 */
export interface SessionStore {
  createSession(session: SessionRecord, refreshToken: RefreshTokenRecord, journal?: JournalFor<SessionRecord>): Promise<void>;
  /**
   * Stores many new sessions, each with its live refresh token, in one transaction: all or none. A
   * bulk import, with no journal (the bench seeds a million sessions through it).
   */
  importSessions(sessions: readonly { readonly session: SessionRecord; readonly refreshToken: RefreshTokenRecord }[]): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  findRefreshToken(hash: string): Promise<{ token: RefreshTokenRecord; session: SessionRecord } | null>;
  /**
   * Atomically: spend `spentHash` if it is still live, push the session's idle end, record its
   * device, count the refresh and store the successor. Returns the updated session, or null when
   * the token was already spent or the session revoked meanwhile (another request won the race).
   */
  rotateRefreshToken(rotation: RotateRefreshToken): Promise<SessionRecord | null>;
  /**
   * Optional, for a store where each statement is a network round trip: a rotation as one statement,
   * with no read before it. It checks what that read would have: the token is live and belongs to
   * `sessionId`, the session is active at `now` (neither revoked nor past an end). Returns the
   * renewed session, or null when any check fails and nothing changed: the caller then reads and decides.
   */
  rotateUnreadRefreshToken?(rotation: RotateUnreadRefreshToken): Promise<SessionRecord | null>;
  /**
   * Records a DPoP proof's `jti` until `expiresAt` (epoch ms); false when it is already recorded: a
   * replayed proof. Every node sharing the store sees the same answer.
   */
  rememberDpopProof(jti: string, expiresAt: number): Promise<boolean>;
  /**
   * The secret stored under `name`: `candidate` if none was (it is stored then), else the one stored
   * first. However many nodes offer one at once, all get the same.
   */
  sharedSecret(name: string, candidate: string, now: number): Promise<string>;
  /** Revokes the session if it is not revoked yet; returns it updated, or null when nothing changed. */
  revokeSession(id: string, reason: RevocationReason, at: number, journal?: JournalFor<SessionRecord>): Promise<SessionRecord | null>;
  /** Revokes every unrevoked, unexpired session of the user but `exceptSessionId`; returns those it revoked. */
  revokeUserSessions(
    userId: string,
    reason: RevocationReason,
    at: number,
    exceptSessionId?: string,
    journal?: JournalFor<SessionRecord[]>,
  ): Promise<SessionRecord[]>;
  /** Sessions of the user neither revoked nor expired at `now`, newest first. */
  listActiveSessions(userId: string, now: number): Promise<SessionRecord[]>;
  /** A page of the user's sessions matching `query`, newest first, and the count of all that match. */
  listSessions(query: SessionQuery): Promise<SessionPage>;
  /** Users with at least one stored session whose id starts with `search.prefix`, in id order (see `UserSearch`). */
  searchUsers(search: UserSearch): Promise<UserSummary[]>;
  /**
   * Sessions revoked strictly after `since` (by their `revokedAt`), oldest first: how a node catches
   * up on revocations it was not told about (another process, a lost subscription).
   */
  listRevokedSince(since: number): Promise<SessionRecord[]>;
  /** How many sessions were revoked after `after` and up to `upTo` (by their `revokedAt`). */
  countRevokedBetween(after: number, upTo: number): Promise<number>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Adds `key` as the current one; with `verifyUntil`, first retires every current key (they verify until then). */
  addSigningKey(key: SigningKeyRecord, verifyUntil: number | null, journal?: JournalFor<SigningKeyRecord>): Promise<void>;
  /** Replaces the stored private JWK of `kid` (sealed again under another key-encryption key). */
  replaceSigningKeyPrivateJwk(kid: string, privateJwk: string): Promise<void>;
  /** Raises the key's `longestTokenTtl` to `ttl` seconds, unless it is already as long. */
  extendSigningKeyTtl(kid: string, ttl: number): Promise<void>;

  /** Every API key, revoked ones too, oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /**
   * Stores `key`, live. A key with the same hash is made live again under the new name and origin;
   * another live key of the same name is refused (throws).
   */
  putApiKey(key: ApiKeyRecord, journal?: JournalFor<ApiKeyRecord>): Promise<void>;
  /** Revokes the live key named `name`; false when there is none. */
  revokeApiKey(name: string, at: number, journal?: JournalFor<string>): Promise<boolean>;
  /** Revokes every live key of `origin` but the one hashed `exceptHash`; returns how many (and journals those it revoked, when any). */
  revokeApiKeysOfOrigin(origin: ApiKeyOrigin, at: number, exceptHash: string | null, journal?: JournalFor<ApiKeyRecord[]>): Promise<number>;
  /** Records a use of the key at `at`, unless a later one is recorded. */
  recordApiKeyUse(hash: string, at: number): Promise<void>;

  /** Writes audit events and webhook messages that record no change of this store's (one transaction). */
  appendJournal(write: JournalWrite): Promise<void>;
  /** Audit events matching `query`, newest first (by time, then id), at most `query.limit`. */
  listAuditEvents(query: AuditQuery): Promise<AuditEventRecord[]>;
  /**
   * Atomically claims up to `limit` sessions past an end (idle or absolute) at `now`, not revoked and
   * whose expiry is not yet recorded, marks them recorded and writes `journal`'s events with them;
   * returns them. However many nodes sweep at once, each session is returned (and recorded) once.
   */
  recordExpiredSessions(now: number, limit: number, journal: JournalFor<SessionRecord[]>): Promise<SessionRecord[]>;
  /** How many sessions are active at `now`, per flow (flows with none are absent); an indexed read. */
  countActiveSessionsByFlow(now: number): Promise<Map<string, number>>;
  /** Deletes up to `limit` audit events older than `before` (oldest first); returns how many. */
  purgeAuditEvents(before: number, limit: number): Promise<number>;
  /** Deletes up to `limit` webhook messages settled (delivered or given up) and created before `before`; returns how many. */
  purgeSettledWebhookMessages(before: number, limit: number): Promise<number>;

  /**
   * The store purge (`core/store-purge.ts`). Sets the sealed successor of up to `limit` tokens spent
   * before `spentBefore` to null (the spent token itself stays: reuse detection still knows it);
   * returns how many. A live token (never spent) is never touched.
   */
  clearSealedSuccessors(spentBefore: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` refresh tokens of sessions that ended before `endedBefore`: revoked then, or
   * not revoked and their expiry recorded (`recordExpiredSessions`) then. Returns how many.
   */
  purgeEndedSessionTokens(endedBefore: number, limit: number): Promise<number>;
  /** Deletes up to `limit` sessions that ended before `endedBefore` (as above), with any token left; returns how many. */
  purgeEndedSessions(endedBefore: number, limit: number): Promise<number>;
  /** Deletes up to `limit` remembered DPoP proofs whose `expires_at` is before `before`; returns how many. */
  purgeStaleDpopProofs(before: number, limit: number): Promise<number>;
  /** What the purges above would remove now (proofs stale before `proofsBefore`, none by default), counted without removing anything. */
  countPurgeable(spentBefore: number, endedBefore: number, proofsBefore?: number): Promise<PurgeableCounts>;
  /**
   * Takes the lease `name` for `owner` until `until`, or renews it when `owner` holds it; true then.
   * False while another owner holds it past `now`. However many nodes claim at once, one holds it.
   */
  claimLease(name: string, owner: string, now: number, until: number): Promise<boolean>;
  /** Gives the lease up, if `owner` holds it. */
  releaseLease(name: string, owner: string): Promise<void>;

  /**
   * The webhook outbox (`core/webhook-outbox.ts`). Claims at most `limit` messages due by `now` whose
   * lease is free or ran out, for `owner` until `leaseUntil`, in one conditional UPDATE: two nodes
   * claiming at once never get the same message. Oldest due first.
   */
  claimWebhookMessages(claim: WebhookClaim): Promise<WebhookMessageRecord[]>;
  /** Writes an attempt's outcome and frees the lease, only while `owner` holds it; null when it does not (another node took over). */
  settleWebhookMessage(settlement: WebhookSettlement): Promise<WebhookMessageRecord | null>;
  /** Messages matching `query`, newest first (by creation, then id), at most `query.limit`. */
  listWebhookMessages(query: WebhookMessageQuery): Promise<WebhookMessageRecord[]>;
  getWebhookMessage(id: string): Promise<WebhookMessageRecord | null>;
  /** Makes an undelivered message (failed or pending) due at `at` again; null when there is none or it was delivered. */
  retryWebhookMessage(id: string, at: number): Promise<WebhookMessageRecord | null>;

  /**
   * A channel between the nodes sharing this store, when the database can carry one
   * (PostgreSQL LISTEN/NOTIFY); undefined for a store only one node uses. Its reconnects and
   * heartbeats wait on `scheduler` when one is given.
   */
  openFanoutChannel?(options?: { readonly scheduler?: Scheduler }): FanoutChannel;

  /** Resolves when the store answers; throws `service_unavailable` when it cannot. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
