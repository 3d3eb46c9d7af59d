import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TesseraError } from '../core/errors.js';
import type { RevocationReason, SessionRecord } from '../core/session.js';
import type { RefreshTokenRecord, RotateRefreshToken, SessionStore, SigningKeyRecord } from '../core/store.js';
import { migrations } from './migrations.js';
import {
  refreshTokenFromRow,
  sessionColumns,
  sessionFromRow,
  sessionToRow,
  signingKeyFromRow,
  type RefreshTokenRow,
  type SessionRow,
  type SigningKeyRow,
} from './rows.js';

const activeAt = 'revoked_at IS NULL AND expires_at > @now AND (idle_expires_at IS NULL OR idle_expires_at > @now)';

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

  /** Opens (creating it if needed) the database file at `path` and applies pending migrations. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('foreign_keys = ON');
    migrate(this.#db);
    this.#statements = prepareStatements(this.#db);
  }

  async createSession(session: SessionRecord, refreshToken: RefreshTokenRecord): Promise<void> {
    this.#run(() =>
      this.#db.transaction(() => {
        this.#statements.insertSession.run(sessionToRow(session));
        this.#statements.insertRefreshToken.run(refreshTokenParams(refreshToken));
      }).immediate(),
    );
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = this.#run(() => this.#statements.getSession.get(id) as SessionRow | undefined);
    return row ? sessionFromRow(row) : null;
  }

  async findRefreshToken(hash: string): Promise<{ token: RefreshTokenRecord; session: SessionRecord } | null> {
    return this.#run(() => {
      const tokenRow = this.#statements.getRefreshToken.get(hash) as RefreshTokenRow | undefined;
      if (!tokenRow) return null;
      const sessionRow = this.#statements.getSession.get(tokenRow.session_id) as SessionRow | undefined;
      if (!sessionRow) return null;
      return { token: refreshTokenFromRow(tokenRow), session: sessionFromRow(sessionRow) };
    });
  }

  async rotateRefreshToken(rotation: RotateRefreshToken): Promise<SessionRecord | null> {
    return this.#run(() =>
      this.#db.transaction((): SessionRecord | null => {
        const spent = this.#statements.spendRefreshToken.run({
          hash: rotation.spentHash,
          spent_at: rotation.spentAt,
          sealed_successor: rotation.sealedSuccessor,
        });
        if (spent.changes !== 1) return null;
        const row = this.#statements.renewSession.get({
          id: rotation.sessionId,
          last_refreshed_at: rotation.lastRefreshedAt,
          idle_expires_at: rotation.idleExpiresAt,
        }) as SessionRow | undefined;
        if (!row) throw new LostRace();
        this.#statements.insertRefreshToken.run(refreshTokenParams(rotation.successor));
        return sessionFromRow(row);
      }).immediate(),
    );
  }

  async revokeSession(id: string, reason: RevocationReason, at: number): Promise<SessionRecord | null> {
    const row = this.#run(() => this.#statements.revokeSession.get({ id, reason, at }) as SessionRow | undefined);
    return row ? sessionFromRow(row) : null;
  }

  async revokeUserSessions(userId: string, reason: RevocationReason, at: number, exceptSessionId?: string): Promise<SessionRecord[]> {
    const rows = this.#run(
      () =>
        this.#statements.revokeUserSessions.all({ user_id: userId, reason, now: at, except: exceptSessionId ?? null }) as SessionRow[],
    );
    return rows.map(sessionFromRow);
  }

  async listActiveSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const rows = this.#run(() => this.#statements.listActiveSessions.all({ user_id: userId, now }) as SessionRow[]);
    return rows.map(sessionFromRow);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = this.#run(() => this.#statements.listSigningKeys.all() as SigningKeyRow[]);
    return rows.map(signingKeyFromRow);
  }

  async addSigningKey(key: SigningKeyRecord, verifyUntil: number | null): Promise<void> {
    this.#run(() =>
      this.#db.transaction(() => {
        if (verifyUntil !== null) this.#statements.retireSigningKeys.run({ retired_at: key.createdAt, verify_until: verifyUntil });
        this.#statements.insertSigningKey.run({
          kid: key.kid,
          alg: key.alg,
          private_jwk: key.privateJwk,
          public_jwk: key.publicJwk,
          created_at: key.createdAt,
        });
      }).immediate(),
    );
  }

  async listApiKeyHashes(): Promise<string[]> {
    const rows = this.#run(() => this.#statements.listApiKeys.all() as { hash: string }[]);
    return rows.map((row) => row.hash);
  }

  async addApiKeyHash(hash: string, at: number): Promise<void> {
    this.#run(() => this.#statements.insertApiKey.run({ hash, created_at: at }));
  }

  async ping(): Promise<void> {
    this.#run(() => this.#db.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** Runs a statement, turning "cannot answer now" into `service_unavailable` and a lost race into null. */
  #run<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof LostRace) return null as T;
      if (isUnavailable(error) || !this.#db.open) {
        throw new TesseraError('service_unavailable', { retryAfter: 1, cause: error });
      }
      throw error;
    }
  }
}

/** Thrown inside a transaction to roll it back when the session was revoked under a rotation. */
class LostRace extends Error {}

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && [...unavailableCodes].some((prefix) => code.startsWith(prefix));
}

function refreshTokenParams(token: RefreshTokenRecord): RefreshTokenRow {
  return {
    hash: token.hash,
    session_id: token.sessionId,
    issued_at: token.issuedAt,
    spent_at: token.spentAt,
    sealed_successor: token.sealedSuccessor,
  };
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  db.transaction(() => {
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => row.version));
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }
  }).immediate();
}

function prepareStatements(db: Database.Database) {
  const columns = sessionColumns.join(', ');
  const values = sessionColumns.map((column) => `@${column}`).join(', ');
  return {
    insertSession: db.prepare(`INSERT INTO sessions (${columns}) VALUES (${values})`),
    getSession: db.prepare('SELECT * FROM sessions WHERE id = ?'),
    insertRefreshToken: db.prepare(
      'INSERT INTO refresh_tokens (hash, session_id, issued_at, spent_at, sealed_successor) VALUES (@hash, @session_id, @issued_at, @spent_at, @sealed_successor)',
    ),
    getRefreshToken: db.prepare('SELECT * FROM refresh_tokens WHERE hash = ?'),
    spendRefreshToken: db.prepare(
      'UPDATE refresh_tokens SET spent_at = @spent_at, sealed_successor = @sealed_successor WHERE hash = @hash AND spent_at IS NULL',
    ),
    renewSession: db.prepare(
      'UPDATE sessions SET last_refreshed_at = @last_refreshed_at, idle_expires_at = @idle_expires_at, version = version + 1 WHERE id = @id AND revoked_at IS NULL RETURNING *',
    ),
    revokeSession: db.prepare(
      'UPDATE sessions SET revoked_at = @at, revoked_reason = @reason, version = version + 1 WHERE id = @id AND revoked_at IS NULL RETURNING *',
    ),
    revokeUserSessions: db.prepare(
      `UPDATE sessions SET revoked_at = @now, revoked_reason = @reason, version = version + 1
       WHERE user_id = @user_id AND ${activeAt} AND (@except IS NULL OR id <> @except) RETURNING *`,
    ),
    listActiveSessions: db.prepare(`SELECT * FROM sessions WHERE user_id = @user_id AND ${activeAt} ORDER BY created_at DESC, id DESC`),
    listSigningKeys: db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    retireSigningKeys: db.prepare(
      'UPDATE signing_keys SET retired_at = @retired_at, verify_until = @verify_until WHERE retired_at IS NULL',
    ),
    insertSigningKey: db.prepare(
      'INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at) VALUES (@kid, @alg, @private_jwk, @public_jwk, @created_at)',
    ),
    listApiKeys: db.prepare('SELECT hash FROM api_keys ORDER BY created_at'),
    insertApiKey: db.prepare('INSERT INTO api_keys (hash, created_at) VALUES (@hash, @created_at) ON CONFLICT (hash) DO NOTHING'),
  };
}
