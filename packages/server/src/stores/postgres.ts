import pg from 'pg';
import type { Scheduler } from '../core/clock.js';
import { TesseraError } from '../core/errors.js';
import type { FanoutChannel } from '../core/fanout-channel.js';
import type { AuditEventRecord, JournalFor, JournalWrite, WebhookMessageRecord } from '../core/journal.js';
import { type Log, silentLog } from '../core/log.js';
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
import { PostgresFanoutChannel } from '../fanout/postgres.js';
import { type NamedParameters, type PositionalStatement, positionalValues, postgresTypes, toPositional } from './dialect.js';
import { type BatchOutcome, PipelinedGroupCommit } from './group-commit.js';
import { createMigrationsTable, listAppliedMigrations, pendingMigrations, recordMigration } from './migrations.js';
import { isRetryable, isUniqueViolation, startupError, storeError } from './postgres-errors.js';
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
  postgresStatements,
  type StatementName,
  sessionQueryParameters,
  statements,
  userSearchParameters,
  webhookParameters,
} from './statements.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database` */
  readonly connectionString: string;
  /** Connections per node. Default 10. */
  readonly poolSize?: number;
  /** Longest wait for a connection (new or from the pool) before answering `service_unavailable`. Default 3 s. */
  readonly connectTimeoutMs?: number;
  /** Longest a statement may run, enforced by the server and, one second later, by the client. Default 5 s. */
  readonly statementTimeoutMs?: number;
  readonly log?: Log;
}

/** Taken by every node before it migrates, so nodes starting together apply each step once. */
const migrationLockKey = 7_355_608_418_001;
/** A deadlocked or serialization-failed transaction runs again this many times at most. */
const transactionAttempts = 3;

type Queryable = pg.Pool | pg.PoolClient;
/** One rotation's statement, run on a connection of a batch's transaction or on the pool alone. */
type Rotation = (on: Queryable) => Promise<SessionRecord | null>;
/** A DPoP proof's jti to take, until `expiresAt`. */
type DpopProofUse = { readonly jti: string; readonly expiresAt: number };

/**
 * The store for many nodes: PostgreSQL through a `pg` pool, on the same SQL as SQLite
 * (`statements.ts`) but for rotation, which is one statement here (`postgresStatements`): its
 * conditional UPDATE lets exactly one concurrent refresh spend a token, whichever node it runs on;
 * the losers change nothing.
 * An unreachable or overloaded database is `service_unavailable`, never a hang: connections and
 * statements have time limits, and the pool reconnects by itself when the database returns.
 */
export class PostgresSessionStore implements SessionStore {
  readonly #pool: pg.Pool;
  readonly #options: PostgresStoreOptions;
  readonly #log: Log;
  readonly #compiled: Record<StatementName, PositionalStatement>;
  readonly #rotate = toPositional(postgresStatements.rotateRefreshToken);
  readonly #rotateUnread = toPositional(postgresStatements.rotateUnreadRefreshToken);
  readonly #claimWebhookMessages = toPositional(postgresStatements.claimWebhookMessages);
  readonly #claimExpired = toPositional(postgresStatements.claimExpiredSessions);
  readonly #rememberDpopProofsStatement = toPositional(postgresStatements.rememberDpopProofs);
  /** DPoP proofs' jti, taken in groups like refreshes: every DPoP request takes one, whoami included. */
  readonly #dpopProofs = new PipelinedGroupCommit((batch: readonly DpopProofUse[]) => this.#rememberDpopProofs(batch), {
    maxBatch: 256,
    concurrency: 4,
  });
  /**
   * Refreshes of this node, committed in groups: at most eight transactions at a time (of the pool's
   * ten connections by default), 64 rotations each. A group's rotations run one after another on its
   * connection, so fewer groups at a time would leave the node waiting on round trips (two: 1,300–
   * 2,150 refreshes/s here, eight: 1,700–2,500; BENCHMARKS.md, issue 17).
   */
  readonly #rotations = new PipelinedGroupCommit((batch: readonly Rotation[]) => this.#rotateBatch(batch), {
    maxBatch: 64,
    concurrency: 8,
  });
  #closed = false;

  /** Connects, and applies pending migrations under an advisory lock. */
  static async open(options: PostgresStoreOptions): Promise<PostgresSessionStore> {
    const store = new PostgresSessionStore(options);
    try {
      await store.#migrate();
    } catch (error) {
      await store.close();
      throw startupError(error);
    }
    return store;
  }

  private constructor(options: PostgresStoreOptions) {
    this.#options = options;
    this.#log = options.log ?? silentLog;
    const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
      statement_timeout: statementTimeoutMs,
      // The client gives up too, for a connection that went silent (server frozen, network cut).
      query_timeout: statementTimeoutMs + 1_000,
      // A node that stops mid-transaction must not hold row locks for long.
      idle_in_transaction_session_timeout: statementTimeoutMs * 2,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      types: postgresTypes,
      application_name: 'tessera',
    });
    // An idle connection dropped by the server: the pool replaces it; without a listener it would crash the node.
    this.#pool.on('error', (error) => this.#log.warn({ err: error }, 'postgres: idle connection lost'));
    this.#compiled = Object.fromEntries((Object.keys(statements) as StatementName[]).map((name) => [name, toPositional(statements[name])])) as Record<
      StatementName,
      PositionalStatement
    >;
  }

  async createSession(session: SessionRecord, refreshToken: RefreshTokenRecord, journal?: JournalFor<SessionRecord>): Promise<void> {
    await this.#transaction(async (client) => {
      await this.#query(client, 'insertSession', sessionToRow(session));
      await this.#query(client, 'insertRefreshToken', refreshTokenToRow(refreshToken));
      if (journal) await this.#writeJournal(client, journal(session));
    });
  }

  async importSessions(sessions: readonly { readonly session: SessionRecord; readonly refreshToken: RefreshTokenRecord }[]): Promise<void> {
    await this.#transaction(async (client) => {
      for (const { session, refreshToken } of sessions) {
        await this.#query(client, 'insertSession', sessionToRow(session));
        await this.#query(client, 'insertRefreshToken', refreshTokenToRow(refreshToken));
      }
    });
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const [row] = await this.#rows<SessionRow>('getSession', { id });
    return row ? sessionFromRow(row) : null;
  }

  async findRefreshToken(hash: string): Promise<{ token: RefreshTokenRecord; session: SessionRecord } | null> {
    const [row] = await this.#rows<RefreshTokenRow & SessionRow>('getRefreshTokenWithSession', { hash });
    return row ? { token: refreshTokenFromRow(row), session: sessionFromRow(row) } : null;
  }

  rotateRefreshToken(rotation: RotateRefreshToken): Promise<SessionRecord | null> {
    // The successor is born live: the statement inserts it with spent_at and sealed_successor NULL.
    return this.#rotations.submit(async (on) => {
      const result = await on.query({
        name: 'tessera_rotateRefreshToken',
        text: this.#rotate.text,
        values: positionalValues(this.#rotate, {
          session_id: rotation.sessionId,
          spent_hash: rotation.spentHash,
          spent_at: rotation.spentAt,
          sealed_successor: rotation.sealedSuccessor,
          last_refreshed_at: rotation.lastRefreshedAt,
          idle_expires_at: rotation.idleExpiresAt,
          ...deviceToRow(rotation.device),
          dpop_jkt: rotation.dpopJkt,
          successor_hash: rotation.successor.hash,
          issued_at: rotation.successor.issuedAt,
        }),
      });
      const row = result.rows[0] as SessionRow | undefined;
      return row ? sessionFromRow(row) : null;
    });
  }

  /**
   * The whole refresh in one round trip, no read first (`SessionStore.rotateUnreadRefreshToken`),
   * committed with the other rotations that arrive while earlier ones commit (`#rotations`).
   */
  rotateUnreadRefreshToken(rotation: RotateUnreadRefreshToken): Promise<SessionRecord | null> {
    return this.#rotations.submit((on) => this.#rotateUnreadOn(on, rotation));
  }

  /**
   * Rotations submitted together: one alone runs as its own statement; several share a transaction,
   * so one WAL flush commits them all. Each statement sees the ones before it, as when they ran one
   * after another: the one-successor rule holds in the batch as between nodes. A batch that fails as
   * a whole (a deadlock with another node's batch after its retries, a constraint) runs again piece
   * by piece, so a piece's error is its own; an unreachable database fails them all at once.
   */
  async #rotateBatch(batch: readonly Rotation[]): Promise<BatchOutcome<SessionRecord | null>[]> {
    if (batch.length > 1) {
      try {
        const sessions = await this.#transaction(async (client) => {
          const rotated: (SessionRecord | null)[] = [];
          for (const rotate of batch) rotated.push(await rotate(client));
          return rotated;
        });
        return sessions.map((value) => ({ ok: true, value }));
      } catch (error) {
        if (error instanceof TesseraError && error.code === 'service_unavailable') return batch.map(() => ({ ok: false, error }));
      }
    }
    return Promise.all(
      batch.map((rotate) =>
        this.#run(() => rotate(this.#pool)).then(
          (value): BatchOutcome<SessionRecord | null> => ({ ok: true, value }),
          (error: unknown): BatchOutcome<SessionRecord | null> => ({ ok: false, error }),
        ),
      ),
    );
  }

  async #rotateUnreadOn(on: Queryable, rotation: RotateUnreadRefreshToken): Promise<SessionRecord | null> {
    const result = await on.query({
      name: 'tessera_rotateUnreadRefreshToken',
      text: this.#rotateUnread.text,
      values: positionalValues(this.#rotateUnread, {
        session_id: rotation.sessionId,
        now: rotation.now,
        spent_hash: rotation.spentHash,
        spent_at: rotation.spentAt,
        sealed_successor: rotation.sealedSuccessor,
        last_refreshed_at: rotation.lastRefreshedAt,
        idle_expires_at: rotation.idleExpiresAt,
        seen_user_agent: rotation.seen?.userAgent ?? null,
        seen_browser: rotation.seen?.browser ?? null,
        seen_os: rotation.seen?.os ?? null,
        seen_ip: rotation.seen?.ip ?? null,
        dpop_jkt: rotation.dpopJkt,
        successor_hash: rotation.successor.hash,
        issued_at: rotation.successor.issuedAt,
      }),
    });
    const row = result.rows[0] as SessionRow | undefined;
    return row ? sessionFromRow(row) : null;
  }

  async sharedSecret(name: string, candidate: string, now: number): Promise<string> {
    await this.#run(() => this.#query(this.#pool, 'offerSharedSecret', { name, secret: candidate, created_at: now }));
    const [row] = await this.#rows<{ secret: string }>('getSharedSecret', { name });
    if (!row) throw new TesseraError('service_unavailable', { retryAfter: 1, message: 'The shared secret could not be read. Retry.' });
    return row.secret;
  }

  rememberDpopProof(jti: string, expiresAt: number): Promise<boolean> {
    return this.#dpopProofs.submit({ jti, expiresAt });
  }

  /**
   * The proofs submitted together, in one statement. A jti twice in the batch is new the first time
   * only, as if they had run one after another; a failed statement fails them all (it is one insert).
   */
  async #rememberDpopProofs(batch: readonly DpopProofUse[]): Promise<BatchOutcome<boolean>[]> {
    const first = new Map<string, number>();
    batch.forEach(({ jti }, i) => {
      if (!first.has(jti)) first.set(jti, i);
    });
    const unique = [...first.keys()];
    const expiresAt = unique.map((jti) => batch[first.get(jti)!]!.expiresAt);
    try {
      const result = await this.#run(() =>
        this.#pool.query({
          name: 'tessera_rememberDpopProofs',
          text: this.#rememberDpopProofsStatement.text,
          values: positionalValues(this.#rememberDpopProofsStatement, { jtis: unique, expires_at: expiresAt }),
        }),
      );
      const taken = new Set((result.rows as { jti: string }[]).map((row) => row.jti));
      return batch.map(({ jti }, i) => ({ ok: true, value: first.get(jti) === i && taken.has(jti) }));
    } catch (error) {
      return batch.map(() => ({ ok: false, error }));
    }
  }

  async revokeSession(id: string, reason: RevocationReason, at: number, journal?: JournalFor<SessionRecord>): Promise<SessionRecord | null> {
    const revoke = async (on: Queryable) => {
      const row = (await this.#query(on, 'revokeSession', { id, reason, at })).rows[0] as SessionRow | undefined;
      return row ? sessionFromRow(row) : null;
    };
    if (!journal) return this.#run(() => revoke(this.#pool));
    return this.#transaction(async (client) => {
      const revoked = await revoke(client);
      if (revoked) await this.#writeJournal(client, journal(revoked));
      return revoked;
    });
  }

  async revokeUserSessions(
    userId: string,
    reason: RevocationReason,
    at: number,
    exceptSessionId?: string,
    journal?: JournalFor<SessionRecord[]>,
  ): Promise<SessionRecord[]> {
    const revoke = async (on: Queryable) => {
      const result = await this.#query(on, 'revokeUserSessions', { user_id: userId, reason, now: at, except: exceptSessionId ?? null });
      return (result.rows as SessionRow[]).map(sessionFromRow);
    };
    if (!journal) return this.#run(() => revoke(this.#pool));
    return this.#transaction(async (client) => {
      const revoked = await revoke(client);
      if (revoked.length > 0) await this.#writeJournal(client, journal(revoked));
      return revoked;
    });
  }

  async listActiveSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const rows = await this.#rows<SessionRow>('listActiveSessions', { user_id: userId, now });
    return rows.map(sessionFromRow);
  }

  async listSessions(query: SessionQuery): Promise<SessionPage> {
    const parameters = sessionQueryParameters(query);
    // One snapshot for both statements: the page and the count see the same sessions.
    return this.#transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const rows = (await this.#query(client, 'listSessions', parameters)).rows as SessionRow[];
      const [count] = (await this.#query(client, 'countSessions', parameters)).rows as { n: number | string }[];
      return { sessions: rows.map(sessionFromRow), total: Number(count?.n ?? 0) };
    });
  }

  async searchUsers(search: UserSearch): Promise<UserSummary[]> {
    const rows = await this.#rows<UserSummaryRow>('searchUsers', userSearchParameters(search));
    return rows.map(userSummaryFromRow);
  }

  async listRevokedSince(since: number): Promise<SessionRecord[]> {
    const rows = await this.#rows<SessionRow>('listRevokedSince', { since });
    return rows.map(sessionFromRow);
  }

  async countRevokedBetween(after: number, upTo: number): Promise<number> {
    const [row] = await this.#rows<{ n: string | number }>('countRevokedBetween', { after, up_to: upTo });
    return Number(row?.n ?? 0);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.#rows<SigningKeyRow>('listSigningKeys', {});
    return rows.map(signingKeyFromRow);
  }

  async addSigningKey(key: SigningKeyRecord, verifyUntil: number | null, journal?: JournalFor<SigningKeyRecord>): Promise<void> {
    await this.#transaction(async (client) => {
      if (verifyUntil !== null) await this.#query(client, 'retireSigningKeys', { retired_at: key.createdAt, verify_until: verifyUntil });
      await this.#query(client, 'insertSigningKey', {
        kid: key.kid,
        alg: key.alg,
        private_jwk: key.privateJwk,
        public_jwk: key.publicJwk,
        created_at: key.createdAt,
        longest_token_ttl: key.longestTokenTtl,
      });
      if (journal) await this.#writeJournal(client, journal(key));
    });
  }

  async replaceSigningKeyPrivateJwk(kid: string, privateJwk: string): Promise<void> {
    await this.#rows('replaceSigningKeyPrivateJwk', { kid, private_jwk: privateJwk });
  }

  async extendSigningKeyTtl(kid: string, ttl: number): Promise<void> {
    await this.#rows('extendSigningKeyTtl', { kid, ttl });
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.#rows<ApiKeyRow>('listApiKeys', {});
    return rows.map(apiKeyFromRow);
  }

  /**
   * Two nodes started at once with the same `--api-key` insert the same row at once; the later one can
   * meet the live-name index before its ON CONFLICT sees the other's row, and fail. Once that row is
   * committed, running again takes the ON CONFLICT path.
   */
  async putApiKey(key: ApiKeyRecord, journal?: JournalFor<ApiKeyRecord>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#transaction(async (client) => {
          await this.#query(client, 'putApiKey', { hash: key.hash, name: key.name, origin: key.origin, created_at: key.createdAt });
          if (journal) await this.#writeJournal(client, journal(key));
        });
        return;
      } catch (error) {
        if (attempt >= transactionAttempts || !isUniqueViolation(error)) throw error;
      }
    }
  }

  async revokeApiKey(name: string, at: number, journal?: JournalFor<string>): Promise<boolean> {
    return this.#transaction(async (client) => {
      const revoked = ((await this.#query(client, 'revokeApiKey', { name, at })).rowCount ?? 0) > 0;
      if (revoked && journal) await this.#writeJournal(client, journal(name));
      return revoked;
    });
  }

  async revokeApiKeysOfOrigin(origin: ApiKeyOrigin, at: number, exceptHash: string | null, journal?: JournalFor<ApiKeyRecord[]>): Promise<number> {
    return this.#transaction(async (client) => {
      const revoked = ((await this.#query(client, 'revokeApiKeysOfOrigin', { origin, at, except: exceptHash })).rows as ApiKeyRow[]).map(apiKeyFromRow);
      if (revoked.length > 0 && journal) await this.#writeJournal(client, journal(revoked));
      return revoked.length;
    });
  }

  async recordApiKeyUse(hash: string, at: number): Promise<void> {
    await this.#rows('recordApiKeyUse', { hash, at });
  }

  async appendJournal(write: JournalWrite): Promise<void> {
    await this.#transaction((client) => this.#writeJournal(client, write));
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditEventRecord[]> {
    const rows = await this.#rows<AuditEventRow>('listAuditEvents', auditQueryParameters(query));
    return rows.map(auditEventFromRow);
  }

  async claimWebhookMessages(claim: WebhookClaim): Promise<WebhookMessageRecord[]> {
    const statement = this.#claimWebhookMessages;
    const result = await this.#run(() =>
      this.#pool.query({
        name: 'tessera_claimWebhookMessages_skipLocked',
        text: statement.text,
        values: positionalValues(statement, webhookParameters.claim(claim)),
      }),
    );
    return webhookMessagesClaimed(result.rows as WebhookMessageRow[]);
  }

  async settleWebhookMessage(settlement: WebhookSettlement): Promise<WebhookMessageRecord | null> {
    const [row] = await this.#rows<WebhookMessageRow>('settleWebhookMessage', webhookParameters.settle(settlement));
    return row ? webhookMessageFromRow(row) : null;
  }

  async listWebhookMessages(query: WebhookMessageQuery): Promise<WebhookMessageRecord[]> {
    const rows = await this.#rows<WebhookMessageRow>('listWebhookMessages', webhookParameters.list(query));
    return rows.map(webhookMessageFromRow);
  }

  async getWebhookMessage(id: string): Promise<WebhookMessageRecord | null> {
    const [row] = await this.#rows<WebhookMessageRow>('getWebhookMessage', { id });
    return row ? webhookMessageFromRow(row) : null;
  }

  async retryWebhookMessage(id: string, at: number): Promise<WebhookMessageRecord | null> {
    const [row] = await this.#rows<WebhookMessageRow>('retryWebhookMessage', { id, at });
    return row ? webhookMessageFromRow(row) : null;
  }

  async recordExpiredSessions(now: number, limit: number, journal: JournalFor<SessionRecord[]>): Promise<SessionRecord[]> {
    return this.#transaction(async (client) => {
      const claim = this.#claimExpired;
      const result = await client.query({ name: 'tessera_claimExpiredSessionsSkipLocked', text: claim.text, values: positionalValues(claim, { now, limit }) });
      const expired = (result.rows as SessionRow[]).map(sessionFromRow);
      if (expired.length > 0) await this.#writeJournal(client, journal(expired));
      return expired;
    });
  }

  async countActiveSessionsByFlow(now: number): Promise<Map<string, number>> {
    const rows = await this.#rows<{ flow: string; n: string | number }>('countActiveSessionsByFlow', { now });
    return new Map(rows.map((row) => [row.flow, Number(row.n)]));
  }

  async purgeAuditEvents(before: number, limit: number): Promise<number> {
    const result = await this.#run(() => this.#query(this.#pool, 'purgeAuditEvents', { before, limit }));
    return result.rowCount ?? 0;
  }

  async purgeSettledWebhookMessages(before: number, limit: number): Promise<number> {
    const result = await this.#run(() => this.#query(this.#pool, 'purgeSettledWebhookMessages', { before, limit }));
    return result.rowCount ?? 0;
  }

  async clearSealedSuccessors(spentBefore: number, limit: number): Promise<number> {
    const result = await this.#run(() => this.#query(this.#pool, 'clearSealedSuccessors', { spent_before: spentBefore, limit }));
    return result.rowCount ?? 0;
  }

  async purgeEndedSessionTokens(endedBefore: number, limit: number): Promise<number> {
    const result = await this.#run(() => this.#query(this.#pool, 'purgeEndedSessionTokens', { ended_before: endedBefore, limit }));
    return result.rowCount ?? 0;
  }

  async purgeEndedSessions(endedBefore: number, limit: number): Promise<number> {
    // The row count is of sessions only, not of the tokens the cascade removes with them.
    const result = await this.#run(() => this.#query(this.#pool, 'purgeEndedSessions', { ended_before: endedBefore, limit }));
    return result.rowCount ?? 0;
  }

  async purgeStaleDpopProofs(before: number, limit: number): Promise<number> {
    const result = await this.#run(() => this.#query(this.#pool, 'purgeStaleDpopProofs', { before, limit }));
    return result.rowCount ?? 0;
  }

  async countPurgeable(spentBefore: number, endedBefore: number, proofsBefore = 0): Promise<PurgeableCounts> {
    return this.#transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const count = async (
        name: 'countSealedSuccessorsBefore' | 'countEndedSessionTokens' | 'countEndedSessions' | 'countStaleDpopProofs',
        parameters: NamedParameters,
      ) => {
        const [row] = (await this.#query(client, name, parameters)).rows as { n: string | number }[];
        return Number(row?.n ?? 0);
      };
      return {
        sealedSuccessors: await count('countSealedSuccessorsBefore', { spent_before: spentBefore }),
        endedSessionTokens: await count('countEndedSessionTokens', { ended_before: endedBefore }),
        endedSessions: await count('countEndedSessions', { ended_before: endedBefore }),
        staleDpopProofs: await count('countStaleDpopProofs', { before: proofsBefore }),
      };
    });
  }

  async claimLease(name: string, owner: string, now: number, until: number): Promise<boolean> {
    const rows = await this.#rows('claimLease', { name, owner, now, lease_until: until });
    return rows.length > 0;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.#rows('releaseLease', { name, owner });
  }

  /** Inside a transaction: the audit events and webhook messages of a change. */
  async #writeJournal(client: pg.PoolClient, write: JournalWrite): Promise<void> {
    for (const event of write.events) await this.#query(client, 'insertAuditEvent', { ...auditEventToRow(event) });
    for (const message of write.messages) await this.#query(client, 'insertWebhookMessage', { ...webhookMessageToRow(message) });
  }

  async ping(): Promise<void> {
    await this.#rows('ping', {});
  }

  /** LISTEN/NOTIFY on this database: fan-out between nodes without Redis. */
  openFanoutChannel(options: { readonly scheduler?: Scheduler } = {}): FanoutChannel {
    return new PostgresFanoutChannel({
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      connectionString: this.#options.connectionString,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 3_000,
      notify: async (channel, payload) => {
        await this.#run(() => this.#pool.query('SELECT pg_notify($1, $2)', [channel, payload]));
      },
      log: this.#log,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** One statement outside a transaction, retried like a transaction on deadlock. */
  async #rows<R>(name: StatementName, parameters: NamedParameters): Promise<R[]> {
    const result = await this.#run(() => this.#query(this.#pool, name, parameters));
    return result.rows as R[];
  }

  #query(on: Queryable, name: StatementName, parameters: NamedParameters): Promise<pg.QueryResult> {
    const statement = this.#compiled[name];
    // Named: each connection parses and plans it once.
    return on.query({ name: `tessera_${name}`, text: statement.text, values: positionalValues(statement, parameters) });
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#run(async () => {
      const client = await this.#pool.connect();
      let healthy = true;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          healthy = false;
        });
        throw error;
      } finally {
        // A connection that could not even roll back is dropped, not handed to the next request.
        client.release(healthy ? undefined : true);
      }
    });
  }

  /** Runs `work`, again on deadlock or serialization failure, and maps an unreachable database to `service_unavailable`. */
  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new TesseraError('service_unavailable', { retryAfter: 1, message: 'The store is closed.' });
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (isRetryable(error) && attempt < transactionAttempts) continue;
        throw storeError(error);
      }
    }
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      // Waits for any other node migrating; released at COMMIT. Migrations may outlast the statement timeout.
      await client.query("SET LOCAL statement_timeout = '120s'");
      await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
      await client.query(createMigrationsTable);
      const applied = await client.query<{ version: number }>(listAppliedMigrations);
      const record = toPositional(recordMigration);
      for (const migration of pendingMigrations(applied.rows.map((row) => row.version))) {
        await client.query(migration.sql);
        await client.query(record.text, positionalValues(record, { version: migration.version, name: migration.name, applied_at: Date.now() }));
        this.#log.info({ version: migration.version, name: migration.name }, 'postgres: migration applied');
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
