import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../core/config-error.js';
import { TesseraError } from '../core/errors.js';
import type { AuditEventRecord, JournalFor, JournalWrite, WebhookMessageRecord } from '../core/journal.js';
import type { RevocationReason, SessionRecord } from '../core/session.js';
import type {
  ApiKeyOrigin,
  ApiKeyRecord,
  AuditQuery,
  PurgeableCounts,
  RefreshTokenRecord,
  RotateRefreshToken,
  RotateUnreadRefreshToken,
  SessionPage,
  SessionQuery,
  SessionStore,
  SigningKeyRecord,
  UserSearch,
  UserSummary,
} from '../core/store.js';
import type { WebhookClaim, WebhookMessageQuery, WebhookSettlement } from '../core/webhook-outbox.js';
import { type BatchOutcome, GroupCommit } from './group-commit.js';
import { createMigrationsTable, listAppliedMigrations, pendingMigrations, recordMigration } from './migrations.js';
import {
  type ApiKeyRow,
  type AuditEventRow,
  apiKeyFromRow,
  auditEventFromRow,
  auditEventToRow,
  deviceToRow,
  type RefreshTokenRow,
  refreshTokenFromRow,
  refreshTokenToRow,
  type SessionRow,
  type SigningKeyRow,
  sessionFromRow,
  sessionToRow,
  signingKeyFromRow,
  type UserSummaryRow,
  userSummaryFromRow,
  type WebhookMessageRow,
  webhookMessageFromRow,
  webhookMessagesClaimed,
  webhookMessageToRow,
} from './rows.js';
import {
  auditQueryParameters,
  type StatementName,
  sessionQueryParameters,
  sqliteStatements,
  statements,
  userSearchParameters,
  webhookParameters,
} from './statements.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/** Error codes at start that mean the file can never be this store as it is: damaged, not SQLite, not openable. */
const unusableFileCodes = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM']);

/** The error of a failed open: a ConfigError naming the file (the CLI prints one line, exit 2), else as thrown. */
function startupError(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  if (unusableFileCodes.has(code)) {
    return new ConfigError(
      `The SQLite store ${path} cannot be used: ${(error as Error).message} (${code}). If it is damaged, restore it from a backup or move it away.`,
    );
  }
  // mkdir of the data folder: not there to create, or not allowed.
  if (/^E[A-Z]+$/.test(code)) return new ConfigError(`The data folder of ${path} cannot be created: ${(error as Error).message}`);
  return error;
}

/** Error codes that mean "the store cannot answer now", not "the request is wrong". */
const unavailableCodes = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_FULL', 'SQLITE_READONLY']);

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every
 * transaction runs to completion before another request's statement can start: rotation is atomic
 * by construction within a process, and `BEGIN IMMEDIATE` serialises it across processes.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #transactions: ReturnType<typeof prepareTransactions>;
  readonly #rotations = new GroupCommit<QueuedRotation, SessionRecord | null>((batch) => this.#rotateBatch(batch), rotationBatchLimit);
  readonly #dpopProofs = new GroupCommit<{ readonly jti: string; readonly expiresAt: number }, boolean>(
    (batch) => this.#rememberDpopProofs(batch),
    rotationBatchLimit,
  );
  #takeSpentWithSealedSuccessor: Database.Statement | undefined;
  readonly #path: string;
  /** Operations run (`#run`), until the checkpointer starts. */
  #operations = 0;
  #checkpointer: WalCheckpointer | undefined;

  /**
   * Opens (creating it if needed) the database file at `path` and applies pending migrations. A file
   * that cannot be a store (damaged, not SQLite, not openable) is a ConfigError that names it.
   */
  constructor(path: string) {
    this.#path = path;
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') prepareOwnerOnlyFile(path);
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // A burst of writes (an import, a purge) leaves the log file as large as it grew: cut back to
      // this when the log starts afresh. Steady refreshes keep it near 8 MiB (`WalCheckpointer`).
      db.pragma(`journal_size_limit = ${walFileLimitBytes}`);
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      migrate(db);
      this.#statements = prepareStatements(db);
      this.#db = db;
      this.#transactions = prepareTransactions(db, this.#statements);
    } catch (error) {
      db?.close();
      throw startupError(path, error);
    }
  }

  async createSession(session: SessionRecord, refreshToken: RefreshTokenRecord, journal?: JournalFor<SessionRecord>): Promise<void> {
    this.#run(() =>
      this.#db
        .transaction(() => {
          this.#statements.insertSession.run(sessionToRow(session));
          this.#statements.insertRefreshToken.run(refreshTokenToRow(refreshToken));
          if (journal) this.#writeJournal(journal(session));
        })
        .immediate(),
    );
  }

  /**
   * A bulk load's keys are random (session ids across their creation times, token hashes, user ids),
   * so its inserts land on pages all over five indexes: far more than SQLite's default page cache
   * (2 MiB) holds, and each page it drops is read back and written to the log again. The import
   * widens the connection's cache to `importCacheKiB` while it runs and gives the memory back after.
   * A million sessions in batches of 250,000: 28 s instead of 47 s (BENCHMARKS.md, 2026-12-03).
   */
  async importSessions(sessions: readonly { readonly session: SessionRecord; readonly refreshToken: RefreshTokenRecord }[]): Promise<void> {
    this.#run(() => {
      const cacheSize = this.#db.pragma('cache_size', { simple: true }) as number;
      this.#db.pragma(`cache_size = -${importCacheKiB}`);
      try {
        this.#db
          .transaction(() => {
            for (const { session, refreshToken } of sessions) {
              this.#statements.insertSession.run(sessionToRow(session));
              this.#statements.insertRefreshToken.run(refreshTokenToRow(refreshToken));
            }
          })
          .immediate();
      } finally {
        this.#db.pragma(`cache_size = ${cacheSize}`);
      }
    });
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = this.#run(() => this.#statements.getSession.get({ id }) as SessionRow | undefined);
    return row ? sessionFromRow(row) : null;
  }

  async findRefreshToken(hash: string): Promise<{ token: RefreshTokenRecord; session: SessionRecord } | null> {
    const row = this.#run(() => this.#statements.getRefreshTokenWithSession.get({ hash }) as (RefreshTokenRow & SessionRow) | undefined);
    return row ? { token: refreshTokenFromRow(row), session: sessionFromRow(row) } : null;
  }

  /**
   * Group commit: rotations submitted in one event-loop turn run on the next in one `BEGIN IMMEDIATE`
   * … `COMMIT`, each in a savepoint of its own, and each answers once that COMMIT is done. Each
   * rotation's conditional UPDATE decides it alone, exactly as in a transaction of its own: the
   * second rotation of a token in a batch finds it spent and loses the race. One COMMIT (the WAL
   * write) per batch instead of per refresh is most of what a rotation costs here.
   */
  async rotateRefreshToken(rotation: RotateRefreshToken): Promise<SessionRecord | null> {
    return this.#rotations.submit({ unread: false, rotation });
  }

  /** The rotation without the read before it (`SessionStore.rotateUnreadRefreshToken`), in the same batches. */
  async rotateUnreadRefreshToken(rotation: RotateUnreadRefreshToken): Promise<SessionRecord | null> {
    return this.#rotations.submit({ unread: true, rotation });
  }

  async sharedSecret(name: string, candidate: string, now: number): Promise<string> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          this.#statements.offerSharedSecret.run({ name, secret: candidate, created_at: now });
          return (this.#statements.getSharedSecret.get({ name }) as { secret: string }).secret;
        })
        .immediate(),
    );
  }

  /**
   * Group commit, as for rotations: the proofs of one event-loop turn are taken in one transaction
   * (a COMMIT per proof was most of what a DPoP request added here). A jti twice in one batch is
   * refused the second time: the first insert is already visible to it.
   */
  async rememberDpopProof(jti: string, expiresAt: number): Promise<boolean> {
    return this.#dpopProofs.submit({ jti, expiresAt });
  }

  #rememberDpopProofs(batch: readonly { readonly jti: string; readonly expiresAt: number }[]): BatchOutcome<boolean>[] {
    return this.#run(() =>
      this.#db
        .transaction(() =>
          batch.map(
            ({ jti, expiresAt }): BatchOutcome<boolean> => ({
              ok: true,
              value: this.#statements.rememberDpopProof.run({ jti, expires_at: expiresAt }).changes === 1,
            }),
          ),
        )
        .immediate(),
    );
  }

  /** One batch of rotations, one transaction; a rotation that fails alone is rolled back to its savepoint. */
  #rotateBatch(batch: readonly QueuedRotation[]): BatchOutcome<SessionRecord | null>[] {
    return this.#run(() =>
      this.#transactions.batch.immediate(batch, (queued: QueuedRotation): BatchOutcome<SessionRecord | null> => {
        try {
          // Nested in the batch's transaction, better-sqlite3 runs it as a savepoint.
          const rotate = () => (queued.unread ? this.#transactions.unreadRotation(queued.rotation) : this.#transactions.rotation(queued.rotation));
          return { ok: true, value: lostRaceAsNull(rotate) };
        } catch (error) {
          // An error that ended the whole transaction (I/O, disk full) fails the batch: nothing is committed.
          if (!this.#db.inTransaction) throw error;
          return { ok: false, error: this.#storeError(error) };
        }
      }),
    );
  }

  async revokeSession(id: string, reason: RevocationReason, at: number, journal?: JournalFor<SessionRecord>): Promise<SessionRecord | null> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const row = this.#statements.revokeSession.get({ id, reason, at }) as SessionRow | undefined;
          const revoked = row ? sessionFromRow(row) : null;
          if (revoked && journal) this.#writeJournal(journal(revoked));
          return revoked;
        })
        .immediate(),
    );
  }

  async revokeUserSessions(
    userId: string,
    reason: RevocationReason,
    at: number,
    exceptSessionId?: string,
    journal?: JournalFor<SessionRecord[]>,
  ): Promise<SessionRecord[]> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const rows = this.#statements.revokeUserSessions.all({ user_id: userId, reason, now: at, except: exceptSessionId ?? null }) as SessionRow[];
          const revoked = rows.map(sessionFromRow);
          if (revoked.length > 0 && journal) this.#writeJournal(journal(revoked));
          return revoked;
        })
        .immediate(),
    );
  }

  async listActiveSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const rows = this.#run(() => this.#statements.listActiveSessions.all({ user_id: userId, now }) as SessionRow[]);
    return rows.map(sessionFromRow);
  }

  async listSessions(query: SessionQuery): Promise<SessionPage> {
    const parameters = sessionQueryParameters(query);
    // One read transaction: the page and the count see the same sessions.
    return this.#run(() =>
      this.#db.transaction(() => {
        const rows = this.#statements.listSessions.all(parameters) as SessionRow[];
        const { n } = this.#statements.countSessions.get(parameters) as { n: number };
        return { sessions: rows.map(sessionFromRow), total: n };
      })(),
    );
  }

  async searchUsers(search: UserSearch): Promise<UserSummary[]> {
    const rows = this.#run(() => this.#statements.searchUsers.all(userSearchParameters(search)) as UserSummaryRow[]);
    return rows.map(userSummaryFromRow);
  }

  async listRevokedSince(since: number): Promise<SessionRecord[]> {
    const rows = this.#run(() => this.#statements.listRevokedSince.all({ since }) as SessionRow[]);
    return rows.map(sessionFromRow);
  }

  async countRevokedBetween(after: number, upTo: number): Promise<number> {
    const row = this.#run(() => this.#statements.countRevokedBetween.get({ after, up_to: upTo }) as { n: number });
    return row.n;
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = this.#run(() => this.#statements.listSigningKeys.all() as SigningKeyRow[]);
    return rows.map(signingKeyFromRow);
  }

  async addSigningKey(key: SigningKeyRecord, verifyUntil: number | null, journal?: JournalFor<SigningKeyRecord>): Promise<void> {
    this.#run(() =>
      this.#db
        .transaction(() => {
          if (verifyUntil !== null) this.#statements.retireSigningKeys.run({ retired_at: key.createdAt, verify_until: verifyUntil });
          this.#statements.insertSigningKey.run({
            kid: key.kid,
            alg: key.alg,
            private_jwk: key.privateJwk,
            public_jwk: key.publicJwk,
            created_at: key.createdAt,
            longest_token_ttl: key.longestTokenTtl,
          });
          if (journal) this.#writeJournal(journal(key));
        })
        .immediate(),
    );
  }

  async replaceSigningKeyPrivateJwk(kid: string, privateJwk: string): Promise<void> {
    this.#run(() => this.#statements.replaceSigningKeyPrivateJwk.run({ kid, private_jwk: privateJwk }));
  }

  async extendSigningKeyTtl(kid: string, ttl: number): Promise<void> {
    this.#run(() => this.#statements.extendSigningKeyTtl.run({ kid, ttl }));
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = this.#run(() => this.#statements.listApiKeys.all() as ApiKeyRow[]);
    return rows.map(apiKeyFromRow);
  }

  async putApiKey(key: ApiKeyRecord, journal?: JournalFor<ApiKeyRecord>): Promise<void> {
    this.#run(() =>
      this.#db
        .transaction(() => {
          this.#statements.putApiKey.run({ hash: key.hash, name: key.name, origin: key.origin, created_at: key.createdAt });
          if (journal) this.#writeJournal(journal(key));
        })
        .immediate(),
    );
  }

  async revokeApiKey(name: string, at: number, journal?: JournalFor<string>): Promise<boolean> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const revoked = this.#statements.revokeApiKey.run({ name, at }).changes > 0;
          if (revoked && journal) this.#writeJournal(journal(name));
          return revoked;
        })
        .immediate(),
    );
  }

  async revokeApiKeysOfOrigin(origin: ApiKeyOrigin, at: number, exceptHash: string | null, journal?: JournalFor<ApiKeyRecord[]>): Promise<number> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const revoked = (this.#statements.revokeApiKeysOfOrigin.all({ origin, at, except: exceptHash }) as ApiKeyRow[]).map(apiKeyFromRow);
          if (revoked.length > 0 && journal) this.#writeJournal(journal(revoked));
          return revoked.length;
        })
        .immediate(),
    );
  }

  async recordApiKeyUse(hash: string, at: number): Promise<void> {
    this.#run(() => this.#statements.recordApiKeyUse.run({ hash, at }));
  }

  async appendJournal(write: JournalWrite): Promise<void> {
    this.#run(() => this.#db.transaction(() => this.#writeJournal(write)).immediate());
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditEventRecord[]> {
    const rows = this.#run(() => this.#statements.listAuditEvents.all(auditQueryParameters(query)) as AuditEventRow[]);
    return rows.map(auditEventFromRow);
  }

  async claimWebhookMessages(claim: WebhookClaim): Promise<WebhookMessageRecord[]> {
    const rows = this.#run(() => this.#statements.claimWebhookMessages.all(webhookParameters.claim(claim)) as WebhookMessageRow[]);
    return webhookMessagesClaimed(rows);
  }

  async settleWebhookMessage(settlement: WebhookSettlement): Promise<WebhookMessageRecord | null> {
    const row = this.#run(() => this.#statements.settleWebhookMessage.get(webhookParameters.settle(settlement)) as WebhookMessageRow | undefined);
    return row ? webhookMessageFromRow(row) : null;
  }

  async listWebhookMessages(query: WebhookMessageQuery): Promise<WebhookMessageRecord[]> {
    const rows = this.#run(() => this.#statements.listWebhookMessages.all(webhookParameters.list(query)) as WebhookMessageRow[]);
    return rows.map(webhookMessageFromRow);
  }

  async getWebhookMessage(id: string): Promise<WebhookMessageRecord | null> {
    const row = this.#run(() => this.#statements.getWebhookMessage.get({ id }) as WebhookMessageRow | undefined);
    return row ? webhookMessageFromRow(row) : null;
  }

  async retryWebhookMessage(id: string, at: number): Promise<WebhookMessageRecord | null> {
    const row = this.#run(() => this.#statements.retryWebhookMessage.get({ id, at }) as WebhookMessageRow | undefined);
    return row ? webhookMessageFromRow(row) : null;
  }

  async recordExpiredSessions(now: number, limit: number, journal: JournalFor<SessionRecord[]>): Promise<SessionRecord[]> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const expired = (this.#statements.claimExpiredSessions.all({ now, limit }) as SessionRow[]).map(sessionFromRow);
          if (expired.length > 0) this.#writeJournal(journal(expired));
          return expired;
        })
        .immediate(),
    );
  }

  async countActiveSessionsByFlow(now: number): Promise<Map<string, number>> {
    const rows = this.#run(() => this.#statements.countActiveSessionsByFlow.all({ now }) as { flow: string; n: number }[]);
    return new Map(rows.map((row) => [row.flow, Number(row.n)]));
  }

  async purgeAuditEvents(before: number, limit: number): Promise<number> {
    return this.#run(() => this.#statements.purgeAuditEvents.run({ before, limit }).changes);
  }

  async purgeSettledWebhookMessages(before: number, limit: number): Promise<number> {
    return this.#run(() => this.#statements.purgeSettledWebhookMessages.run({ before, limit }).changes);
  }

  async clearSealedSuccessors(spentBefore: number, limit: number): Promise<number> {
    this.#takeSpentWithSealedSuccessor ??= this.#db.prepare(sqliteStatements.takeSpentWithSealedSuccessor);
    const take = this.#takeSpentWithSealedSuccessor;
    // Out and back in without the successor (see `sqliteStatements`): the same token, spent as it was.
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const rows = take.all({ spent_before: spentBefore, limit }) as Omit<RefreshTokenRow, 'sealed_successor'>[];
          for (const row of rows) this.#statements.insertRefreshToken.run({ ...row, sealed_successor: null });
          return rows.length;
        })
        .immediate(),
    );
  }

  async purgeEndedSessionTokens(endedBefore: number, limit: number): Promise<number> {
    return this.#run(() => this.#statements.purgeEndedSessionTokens.run({ ended_before: endedBefore, limit }).changes);
  }

  async purgeEndedSessions(endedBefore: number, limit: number): Promise<number> {
    // `changes` counts the sessions only, not the tokens the cascade removes with them.
    return this.#run(() => this.#statements.purgeEndedSessions.run({ ended_before: endedBefore, limit }).changes);
  }

  async purgeStaleDpopProofs(before: number, limit: number): Promise<number> {
    return this.#run(() => this.#statements.purgeStaleDpopProofs.run({ before, limit }).changes);
  }

  async countPurgeable(spentBefore: number, endedBefore: number, proofsBefore = 0): Promise<PurgeableCounts> {
    const count = (name: 'countSealedSuccessorsBefore' | 'countEndedSessionTokens' | 'countEndedSessions') =>
      Number((this.#statements[name].get({ spent_before: spentBefore, ended_before: endedBefore }) as { n: number }).n);
    return this.#run(() =>
      this.#db.transaction(() => ({
        sealedSuccessors: count('countSealedSuccessorsBefore'),
        endedSessionTokens: count('countEndedSessionTokens'),
        endedSessions: count('countEndedSessions'),
        staleDpopProofs: Number((this.#statements.countStaleDpopProofs.get({ before: proofsBefore }) as { n: number }).n),
      }))(),
    );
  }

  async claimLease(name: string, owner: string, now: number, until: number): Promise<boolean> {
    return this.#run(() => this.#statements.claimLease.get({ name, owner, now, lease_until: until }) !== undefined);
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    this.#run(() => this.#statements.releaseLease.run({ name, owner }));
  }

  /** Inside a transaction: the audit events and webhook messages of a change. */
  #writeJournal(write: JournalWrite): void {
    for (const event of write.events) this.#statements.insertAuditEvent.run(auditEventToRow(event));
    for (const message of write.messages) this.#statements.insertWebhookMessage.run(webhookMessageToRow(message));
  }

  async ping(): Promise<void> {
    this.#run(() => this.#statements.ping.get());
  }

  async close(): Promise<void> {
    // Rotations and proofs still queued are committed and answered, not dropped.
    if (this.#db.open) this.#rotations.drain();
    if (this.#db.open) this.#dpopProofs.drain();
    await this.#checkpointer?.stop();
    if (this.#db.open) this.#db.close();
  }

  /** Runs a statement, turning "cannot answer now" into `service_unavailable`. */
  #run<T>(work: () => T): T {
    if (++this.#operations === checkpointerAfterOperations) this.#startCheckpointer();
    try {
      return work();
    } catch (error) {
      throw this.#storeError(error);
    }
  }

  /** A file store in service checkpoints on a thread; where none can start, SQLite goes on checkpointing in its commits. */
  #startCheckpointer(): void {
    if (this.#path === ':memory:' || !this.#db.open) return;
    try {
      this.#checkpointer = WalCheckpointer.start(this.#path, this.#db);
    } catch {
      // No thread (a resource limit, a runtime without workers): the request goes on regardless.
    }
  }

  #storeError(error: unknown): unknown {
    if (isUnavailable(error) || !this.#db.open) return new TesseraError('service_unavailable', { retryAfter: 1, cause: error });
    return error;
  }
}

/** A rotation waiting for its batch: of a token the core read first, or of one it did not. */
type QueuedRotation =
  | { readonly unread: false; readonly rotation: RotateRefreshToken }
  | { readonly unread: true; readonly rotation: RotateUnreadRefreshToken };

/** Most rotations in one transaction: enough for every connection of a busy node, few enough to answer them soon. */
const rotationBatchLimit = 256;

/**
 * Store operations after which a file store checkpoints its log on a thread of its own
 * (`WalCheckpointer`): a store in service (sign-ins, refreshes, revocations), not one a test or a
 * CLI command opens for a moment (a thread costs ~50 ms of CPU to start).
 */
const checkpointerAfterOperations = 256;

/** The page cache an import runs with (`importSessions`), in KiB: 256 MiB. */
const importCacheKiB = 256 * 1024;

/** The size the write-ahead log's file is cut back to after a burst: 32 MiB. */
const walFileLimitBytes = 32 * 2 ** 20;

/**
 * Transactions prepared once (better-sqlite3 builds a wrapper per `transaction()` call):
 * - `rotation`: spend, renew, insert the successor, or roll back with `LostRace`;
 * - `batch`: runs `each` on every rotation of a batch inside one transaction and returns what each gave.
 */
function prepareTransactions(db: Database.Database, statements: Record<StatementName, Database.Statement>) {
  const rotation = db.transaction((rotation: RotateRefreshToken): SessionRecord | null => {
    const spent = statements.spendRefreshToken.run({
      hash: rotation.spentHash,
      spent_at: rotation.spentAt,
      sealed_successor: rotation.sealedSuccessor,
    });
    if (spent.changes !== 1) return null;
    const row = statements.renewSession.get({
      id: rotation.sessionId,
      last_refreshed_at: rotation.lastRefreshedAt,
      idle_expires_at: rotation.idleExpiresAt,
      ...deviceToRow(rotation.device),
      dpop_jkt: rotation.dpopJkt,
    }) as SessionRow | undefined;
    if (!row) throw new LostRace();
    statements.insertRefreshToken.run(refreshTokenToRow(rotation.successor));
    return sessionFromRow(row);
  });
  const unreadRotation = db.transaction((rotation: RotateUnreadRefreshToken): SessionRecord | null => {
    const spent = statements.spendUnreadRefreshToken.run({
      hash: rotation.spentHash,
      session_id: rotation.sessionId,
      now: rotation.now,
      spent_at: rotation.spentAt,
      sealed_successor: rotation.sealedSuccessor,
      dpop_jkt: rotation.dpopJkt,
    });
    if (spent.changes !== 1) return null;
    const row = statements.renewUnreadSession.get({
      id: rotation.sessionId,
      last_refreshed_at: rotation.lastRefreshedAt,
      idle_expires_at: rotation.idleExpiresAt,
      seen_user_agent: rotation.seen?.userAgent ?? null,
      seen_browser: rotation.seen?.browser ?? null,
      seen_os: rotation.seen?.os ?? null,
      seen_ip: rotation.seen?.ip ?? null,
      dpop_jkt: rotation.dpopJkt,
    }) as SessionRow | undefined;
    if (!row) throw new LostRace();
    statements.insertRefreshToken.run(refreshTokenToRow(rotation.successor));
    return sessionFromRow(row);
  });
  const batch = db.transaction((work: readonly QueuedRotation[], each: (queued: QueuedRotation) => BatchOutcome<SessionRecord | null>) => work.map(each));
  return { rotation, unreadRotation, batch };
}

/**
 * The file holds refresh-token hashes, API-key hashes and signing private keys: a new folder is made
 * 0700 and the file 0600 (an existing file is narrowed to 0600). SQLite gives the -wal and -shm files
 * the database file's mode.
 */
function prepareOwnerOnlyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) narrowToOwner(file);
  }
}

function narrowToOwner(file: string): void {
  try {
    chmodSync(file, 0o600);
  } catch {
    // Owned by another user (a read-only deployment): opening it is still that deployment's choice.
  }
}

/** Thrown inside a transaction to roll it back when the session was revoked under a rotation. */
class LostRace extends Error {}

/** A transaction that threw `LostRace` rolled back: the rotation lost to a revocation, which the caller reads as null. */
function lostRaceAsNull<T>(transaction: () => T): T | null {
  try {
    return transaction();
  } catch (error) {
    if (error instanceof LostRace) return null;
    throw error;
  }
}

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && [...unavailableCodes].some((prefix) => code.startsWith(prefix));
}

function migrate(db: Database.Database): void {
  db.exec(createMigrationsTable);
  db.transaction(() => {
    const applied = (db.prepare(listAppliedMigrations).all() as { version: number }[]).map((row) => row.version);
    for (const migration of pendingMigrations(applied)) {
      db.exec(migration.sql);
      db.prepare(recordMigration).run({ version: migration.version, name: migration.name, applied_at: Date.now() });
    }
  }).immediate();
}

/** The shared statements, prepared once. */
function prepareStatements(db: Database.Database): Record<StatementName, Database.Statement> {
  const prepared = {} as Record<StatementName, Database.Statement>;
  for (const name of Object.keys(statements) as StatementName[]) prepared[name] = db.prepare(statements[name]);
  return prepared;
}
