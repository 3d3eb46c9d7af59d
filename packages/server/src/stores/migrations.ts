/**
 * Versioned schema migrations, written in the SQL that both SQLite and PostgreSQL accept.
 * Times are epoch milliseconds in BIGINT columns. Append; never edit a released step.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Which migrations have run: created before any of them, in the SQL both databases accept. */
export const createMigrationsTable =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';
export const listAppliedMigrations = 'SELECT version FROM schema_migrations';
export const recordMigration = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, refresh tokens, signing keys, api keys',
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        flow TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_refreshed_at BIGINT,
        expires_at BIGINT NOT NULL,
        idle_expires_at BIGINT,
        revoked_at BIGINT,
        revoked_reason TEXT,
        metadata TEXT NOT NULL,
        version BIGINT NOT NULL
      );
      CREATE INDEX sessions_by_user ON sessions (user_id, expires_at);
      CREATE TABLE refresh_tokens (
        hash TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        issued_at BIGINT NOT NULL,
        spent_at BIGINT,
        sealed_successor TEXT
      );
      CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT,
        verify_until BIGINT
      );
      CREATE TABLE api_keys (
        hash TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'revoked sessions by time, for nodes catching up on revocations they did not hear',
    sql: 'CREATE INDEX sessions_by_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL',
  },
  {
    version: 3,
    name: 'api keys with names, origins and revocation',
    // Keys stored before this step may be any --api-key ever passed: they become `legacy`, and a
    // start with --api-key revokes them.
    sql: `
      ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
      ALTER TABLE api_keys ADD COLUMN origin TEXT NOT NULL DEFAULT 'legacy';
      ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT;
      ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
      UPDATE api_keys SET name = 'legacy-' || substr(hash, 1, 12);
      CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
    `,
  },
  {
    version: 4,
    name: 'signing keys remember the longest token lifetime they sign for',
    sql: 'ALTER TABLE signing_keys ADD COLUMN longest_token_ttl BIGINT',
  },
  {
    version: 5,
    name: 'the audit trail and the webhook outbox',
    // Both are written in the same transaction as the change they record (core/journal.ts).
    sql: `
      CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        at BIGINT NOT NULL,
        user_id TEXT,
        session_id TEXT,
        actor_type TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        reason TEXT,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_events_by_time ON audit_events (at, id);
      CREATE INDEX audit_events_by_user ON audit_events (user_id, at, id);
      CREATE INDEX audit_events_by_session ON audit_events (session_id, at, id);
      CREATE TABLE webhook_messages (
        id TEXT PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_at BIGINT,
        delivered_at BIGINT,
        failed_at BIGINT,
        last_error TEXT,
        lease_owner TEXT,
        lease_until BIGINT
      );
      CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
      CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (endpoint_id, created_at, id);
    `,
  },
  {
    version: 6,
    name: 'sessions remember their device and count their refreshes',
    // The device is what the last refresh (or the app's backend, at creation) saw; NULL when unknown.
    sql: `
      ALTER TABLE sessions ADD COLUMN device_user_agent TEXT;
      ALTER TABLE sessions ADD COLUMN device_browser TEXT;
      ALTER TABLE sessions ADD COLUMN device_os TEXT;
      ALTER TABLE sessions ADD COLUMN device_ip TEXT;
      ALTER TABLE sessions ADD COLUMN refresh_count BIGINT NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 7,
    name: "a user's sessions by creation time, for keyset paging",
    // GET /v1/users/:user_id/sessions reads newest first from a (created_at, id) position.
    sql: 'CREATE INDEX sessions_by_user_created ON sessions (user_id, created_at, id)',
  },
  {
    version: 8,
    name: 'sessions remember that their expiry is recorded; settled webhook messages by age',
    // The expiry sweeper (core/expiry-sweeper.ts) claims sessions past an end and not yet recorded:
    // the partial indexes hold only unrevoked, unrecorded sessions (active ones and those just
    // expired), so the sweep and the active-sessions count never read the whole table.
    sql: `
      ALTER TABLE sessions ADD COLUMN end_recorded_at BIGINT;
      CREATE INDEX sessions_unrecorded_by_expiry ON sessions (expires_at) WHERE end_recorded_at IS NULL AND revoked_at IS NULL;
      CREATE INDEX sessions_unrecorded_by_idle_expiry ON sessions (idle_expires_at) WHERE end_recorded_at IS NULL AND revoked_at IS NULL;
      CREATE INDEX webhook_messages_settled ON webhook_messages (created_at) WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;
    `,
  },
  {
    version: 9,
    name: 'webhook messages listed newest first',
    // GET /v1/webhooks/messages pages all endpoints' messages by (created_at, id).
    sql: 'CREATE INDEX webhook_messages_by_time ON webhook_messages (created_at, id)',
  },
  {
    version: 10,
    name: 'the store purge: sealed successors by spend time, recorded expiries by time, one purging node',
    // The store purge (core/store-purge.ts) reads each of these by range: sealed successors still kept
    // (only those spent within the last purge interval or so), expired sessions by when their expiry
    // was recorded (revoked ones by `sessions_by_revoked_at`), and one lease row per job.
    sql: `
      CREATE INDEX refresh_tokens_sealed_by_spent_at ON refresh_tokens (spent_at) WHERE sealed_successor IS NOT NULL;
      CREATE INDEX sessions_recorded_by_end ON sessions (end_recorded_at) WHERE end_recorded_at IS NOT NULL AND revoked_at IS NULL;
      CREATE TABLE store_leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        lease_until BIGINT NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: 'sessions bound to a DPoP key; the DPoP proofs seen, until they go stale',
    // A proof's jti is refused a second time (RFC 9449 §11.1) by every node sharing the store; the
    // store purge deletes the rows past `expires_at`, when the proof's iat would refuse it anyway.
    sql: `
      ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
      CREATE TABLE dpop_proofs (
        jti TEXT PRIMARY KEY,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX dpop_proofs_by_expiry ON dpop_proofs (expires_at);
    `,
  },
  {
    version: 12,
    name: 'secrets every node shares, made by the first node that needs one',
    // The DPoP nonce key: nonces one node gives out are accepted by the others.
    sql: `
      CREATE TABLE shared_secrets (
        name TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
    `,
  },
];

/** The migrations not yet applied, in order. */
export function pendingMigrations(applied: Iterable<number | string>): Migration[] {
  const done = new Set([...applied].map(Number));
  return migrations.filter((migration) => !done.has(migration.version));
}
