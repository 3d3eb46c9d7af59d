import type { AuditQuery, SessionQuery, UserSearch } from '../core/store.js';
import { userIdMaxLength } from '../core/user-id.js';
import type { WebhookClaim, WebhookMessageQuery, WebhookSettlement } from '../core/webhook-outbox.js';
import { auditEventColumns, sessionColumns, webhookMessageColumns } from './rows.js';

const insertInto = (table: string, columns: readonly string[]) =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((column) => `@${column}`).join(', ')})`;

/** A session is active at `@now` when it is neither revoked nor past either end. */
const activeAt = 'revoked_at IS NULL AND expires_at > @now AND (idle_expires_at IS NULL OR idle_expires_at > @now)';
/** Neither revoked nor its expiry recorded yet: the rows of the partial indexes of migration 8. */
const unrecordedEnd = 'end_recorded_at IS NULL AND revoked_at IS NULL';

/**
 * Statements of the expiry sweeper, the journal purge and the active-sessions gauge (migration 8).
 * The claim is one conditional UPDATE: a session already recorded, or revoked meanwhile, is not
 * claimed again (PostgreSQL runs its own form, `postgresStatements.claimExpiredSessions`). Deletes go
 * in batches (`@limit`), so a purge never holds a long transaction.
 */
const auditUpkeepStatements = {
  // A UNION ALL, not an OR: SQLite then searches each partial index by range instead of scanning one.
  claimExpiredSessions: `UPDATE sessions SET end_recorded_at = @now
    WHERE id IN (
      SELECT id FROM sessions WHERE ${unrecordedEnd} AND expires_at <= @now
      UNION ALL SELECT id FROM sessions WHERE ${unrecordedEnd} AND idle_expires_at <= @now
      LIMIT @limit
    ) AND ${unrecordedEnd} RETURNING *`,
  countActiveSessionsByFlow: `SELECT flow, COUNT(*) AS n FROM sessions WHERE end_recorded_at IS NULL AND ${activeAt} GROUP BY flow`,
  purgeAuditEvents: 'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < @before ORDER BY at, id LIMIT @limit)',
  purgeSettledWebhookMessages: `DELETE FROM webhook_messages WHERE id IN (
      SELECT id FROM webhook_messages WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < @before LIMIT @limit
    )`,
} as const;

/** Sessions that ended before `@ended_before`: revoked then, or (not revoked) their expiry recorded then. */
const sessionsEndedBefore = ['sessions.revoked_at < @ended_before', 'sessions.revoked_at IS NULL AND sessions.end_recorded_at < @ended_before'];
/** The ids of those sessions, and the hashes of their tokens: one UNION ALL branch per index (no LIMIT). */
const endedSessionIds = sessionsEndedBefore.map((ended) => `SELECT id FROM sessions WHERE ${ended}`).join(' UNION ALL ');
const endedSessionTokens = sessionsEndedBefore
  .map((ended) => `SELECT refresh_tokens.hash FROM sessions JOIN refresh_tokens ON refresh_tokens.session_id = sessions.id WHERE ${ended}`)
  .join(' UNION ALL ');

const storePurgeStatements = {
  // The spent token stays (reuse detection still knows it); only its sealed successor goes.
  clearSealedSuccessors: `UPDATE refresh_tokens SET sealed_successor = NULL WHERE hash IN (
      SELECT hash FROM refresh_tokens WHERE sealed_successor IS NOT NULL AND spent_at < @spent_before LIMIT @limit
    )`,
  purgeEndedSessionTokens: `DELETE FROM refresh_tokens WHERE hash IN (${endedSessionTokens} LIMIT @limit)`,
  // Their tokens are gone by then (purgeEndedSessionTokens runs first); the cascade removes any left.
  purgeEndedSessions: `DELETE FROM sessions WHERE id IN (${endedSessionIds} LIMIT @limit)`,
  countSealedSuccessorsBefore: 'SELECT COUNT(*) AS n FROM refresh_tokens WHERE sealed_successor IS NOT NULL AND spent_at < @spent_before',
  countEndedSessionTokens: `SELECT COUNT(*) AS n FROM (${endedSessionTokens}) AS ended_tokens`,
  countEndedSessions: `SELECT COUNT(*) AS n FROM (${endedSessionIds}) AS ended_sessions`,
  // One row per job: taken when free or run out, renewed by its owner; a conflict changes nothing and returns no row.
  claimLease: `INSERT INTO store_leases (name, owner, lease_until) VALUES (@name, @owner, @lease_until)
    ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
    WHERE store_leases.owner = excluded.owner OR store_leases.lease_until < @now
    RETURNING owner`,
  releaseLease: 'DELETE FROM store_leases WHERE name = @name AND owner = @owner',
  purgeStaleDpopProofs: 'DELETE FROM dpop_proofs WHERE jti IN (SELECT jti FROM dpop_proofs WHERE expires_at < @before LIMIT @limit)',
  countStaleDpopProofs: 'SELECT COUNT(*) AS n FROM dpop_proofs WHERE expires_at < @before',
} as const;

/** What a rotation writes besides the renewal: the device as the refresh saw it, one more refresh counted. */
const recordDevice = `device_user_agent = @device_user_agent, device_browser = @device_browser, device_os = @device_os,
    device_ip = @device_ip, refresh_count = refresh_count + 1`;
/** A rotation binds an unbound session to the key of its refresh's DPoP proof (@dpop_jkt); a bound one keeps its key. */
const bindDpopKey = 'dpop_jkt = COALESCE(dpop_jkt, CAST(@dpop_jkt AS TEXT))';
/**
 * An unread rotation also checks the binding the core assumed: a session bound to a key rotates only
 * with a proof of that key (@dpop_jkt). The core checks first; this keeps a stale assumption harmless.
 */
const dpopKeyMatches = '(dpop_jkt IS NULL OR dpop_jkt = CAST(@dpop_jkt AS TEXT))';
/** What a rotation of an unread token writes of the device: merged in SQL, as `deviceSeen` merges it. */
const mergeSeenDevice = `device_user_agent = COALESCE(CAST(@seen_user_agent AS TEXT), device_user_agent),
        device_browser = CASE WHEN CAST(@seen_user_agent AS TEXT) IS NULL THEN device_browser ELSE CAST(@seen_browser AS TEXT) END,
        device_os = CASE WHEN CAST(@seen_user_agent AS TEXT) IS NULL THEN device_os ELSE CAST(@seen_os AS TEXT) END,
        device_ip = COALESCE(CAST(@seen_ip AS TEXT), device_ip)`;
/** A webhook message is due at `@now` when its attempt time has come and no live lease holds it. */
const webhookMessageDue = 'next_attempt_at <= @now AND (lease_until IS NULL OR lease_until < @now)';

/**
 * A user's sessions under a listing's filters (`SessionQuery`): status at @now, flow, created after.
 * The upper bound of created_at is the caller's (the created range, or also the page's position).
 * Unset bounds are passed as the widest safe integers, so the index (user_id, created_at, id) always
 * bounds the scan.
 */
const sessionFilters = `user_id = @user_id
      AND (CAST(@status AS TEXT) = 'all'
        OR (CAST(@status AS TEXT) = 'revoked' AND revoked_at IS NOT NULL)
        OR (CAST(@status AS TEXT) = 'active' AND ${activeAt})
        OR (CAST(@status AS TEXT) = 'expired' AND revoked_at IS NULL AND (expires_at <= @now OR idle_expires_at <= @now)))
      AND (CAST(@flow AS TEXT) IS NULL OR flow = @flow)
      AND created_at > @created_after`;

/**
 * Every statement a SQL store runs, once, with named `@parameters`: SQLite binds them as written,
 * PostgreSQL gets them rewritten to `$n` by `dialect.ts`. Both run the same SQL.
 */
export const statements = {
  insertSession: insertInto('sessions', sessionColumns),
  getSession: 'SELECT * FROM sessions WHERE id = @id',
  insertRefreshToken:
    'INSERT INTO refresh_tokens (hash, session_id, issued_at, spent_at, sealed_successor) VALUES (@hash, @session_id, @issued_at, @spent_at, @sealed_successor)',
  // The two tables share no column name, so one row carries both records.
  getRefreshTokenWithSession:
    'SELECT refresh_tokens.*, sessions.* FROM refresh_tokens JOIN sessions ON sessions.id = refresh_tokens.session_id WHERE refresh_tokens.hash = @hash',
  /** The conditional UPDATE that makes rotation single-use: only a live token changes. */
  spendRefreshToken: 'UPDATE refresh_tokens SET spent_at = @spent_at, sealed_successor = @sealed_successor WHERE hash = @hash AND spent_at IS NULL',
  /** `spendRefreshToken` of a token not read first: also only while its session (@session_id) is active at @now. */
  spendUnreadRefreshToken: `UPDATE refresh_tokens SET spent_at = @spent_at, sealed_successor = @sealed_successor
    WHERE hash = @hash AND spent_at IS NULL AND session_id = @session_id
      AND EXISTS (SELECT 1 FROM sessions WHERE id = @session_id AND ${activeAt} AND ${dpopKeyMatches})`,
  /** `renewSession` with the device merged as `deviceSeen` merges it (see `postgresStatements.rotateUnreadRefreshToken`). */
  renewUnreadSession: `UPDATE sessions SET last_refreshed_at = @last_refreshed_at, idle_expires_at = @idle_expires_at, ${mergeSeenDevice},
      refresh_count = refresh_count + 1, ${bindDpopKey}, version = version + 1
    WHERE id = @id AND revoked_at IS NULL RETURNING *`,
  renewSession: `UPDATE sessions SET last_refreshed_at = @last_refreshed_at, idle_expires_at = @idle_expires_at, ${recordDevice}, ${bindDpopKey},
      version = version + 1
    WHERE id = @id AND revoked_at IS NULL RETURNING *`,
  revokeSession: 'UPDATE sessions SET revoked_at = @at, revoked_reason = @reason, version = version + 1 WHERE id = @id AND revoked_at IS NULL RETURNING *',
  // CAST: PostgreSQL must know the type of a parameter that is only compared with NULL.
  revokeUserSessions: `UPDATE sessions SET revoked_at = @now, revoked_reason = @reason, version = version + 1
    WHERE user_id = @user_id AND ${activeAt} AND (CAST(@except AS TEXT) IS NULL OR id <> @except) RETURNING *`,
  listActiveSessions: `SELECT * FROM sessions WHERE user_id = @user_id AND ${activeAt} ORDER BY created_at DESC, id DESC`,
  // Keyset paging, newest first: strictly older than (@before_at, @before_id). One plain upper bound
  // on created_at (the created range and the position in one) starts the index scan at the position.
  listSessions: `SELECT * FROM sessions WHERE ${sessionFilters}
      AND created_at <= @created_up_to AND (created_at, id) < (@before_at, @before_id)
    ORDER BY created_at DESC, id DESC LIMIT @limit`,
  countSessions: `SELECT COUNT(*) AS n FROM sessions WHERE ${sessionFilters} AND created_at < @created_before`,
  // A range on the user id (the index `sessions_by_user` serves it), then the exact prefix test: a
  // database collation other than C may put a few ids that do not start with the prefix in the range.
  searchUsers: `SELECT user_id, SUM(CASE WHEN ${activeAt} THEN 1 ELSE 0 END) AS active_sessions, MAX(created_at) AS last_created_at
    FROM sessions
    WHERE user_id >= @from
      AND user_id < @below
      AND (CAST(@after AS TEXT) IS NULL OR user_id > @after)
      AND substr(user_id, 1, @prefix_length) = @prefix
    GROUP BY user_id ORDER BY user_id LIMIT @limit`,
  listRevokedSince: 'SELECT * FROM sessions WHERE revoked_at > @since ORDER BY revoked_at, id',
  countRevokedBetween: 'SELECT COUNT(*) AS n FROM sessions WHERE revoked_at > @after AND revoked_at <= @up_to',
  listSigningKeys: 'SELECT * FROM signing_keys ORDER BY created_at, kid',
  retireSigningKeys: 'UPDATE signing_keys SET retired_at = @retired_at, verify_until = @verify_until WHERE retired_at IS NULL',
  insertSigningKey: `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, longest_token_ttl)
    VALUES (@kid, @alg, @private_jwk, @public_jwk, @created_at, @longest_token_ttl)`,
  replaceSigningKeyPrivateJwk: 'UPDATE signing_keys SET private_jwk = @private_jwk WHERE kid = @kid',
  extendSigningKeyTtl: 'UPDATE signing_keys SET longest_token_ttl = @ttl WHERE kid = @kid AND (longest_token_ttl IS NULL OR longest_token_ttl < @ttl)',
  listApiKeys: 'SELECT * FROM api_keys ORDER BY created_at, hash',
  putApiKey: `INSERT INTO api_keys (hash, name, origin, created_at, revoked_at, last_used_at)
    VALUES (@hash, @name, @origin, @created_at, NULL, NULL)
    ON CONFLICT (hash) DO UPDATE SET name = excluded.name, origin = excluded.origin, revoked_at = NULL`,
  revokeApiKey: 'UPDATE api_keys SET revoked_at = @at WHERE name = @name AND revoked_at IS NULL',
  revokeApiKeysOfOrigin: `UPDATE api_keys SET revoked_at = @at
    WHERE origin = @origin AND revoked_at IS NULL AND (CAST(@except AS TEXT) IS NULL OR hash <> @except) RETURNING *`,
  recordApiKeyUse: 'UPDATE api_keys SET last_used_at = @at WHERE hash = @hash AND (last_used_at IS NULL OR last_used_at < @at)',
  // The journal (core/journal.ts): written beside the change it records.
  insertAuditEvent: insertInto('audit_events', auditEventColumns),
  insertWebhookMessage: insertInto('webhook_messages', webhookMessageColumns),
  // Keyset paging: strictly older than (@before_at, @before_id); each filter applies when given.
  listAuditEvents: `SELECT * FROM audit_events
    WHERE (CAST(@user_id AS TEXT) IS NULL OR user_id = @user_id)
      AND (CAST(@session_id AS TEXT) IS NULL OR session_id = @session_id)
      AND (CAST(@type AS TEXT) IS NULL OR type = @type)
      AND (CAST(@before_at AS BIGINT) IS NULL OR at < @before_at OR (at = @before_at AND id < @before_id))
    ORDER BY at DESC, id DESC LIMIT @limit`,
  // The webhook outbox (core/webhook-outbox.ts). A claim is one conditional UPDATE: the outer WHERE
  // checks again what the inner SELECT chose, so on PostgreSQL a claimer that waited on another's row
  // lock re-reads the row and skips it once leased; SQLite runs one writer at a time.
  claimWebhookMessages: `UPDATE webhook_messages SET lease_owner = @owner, lease_until = @lease_until
    WHERE id IN (SELECT id FROM webhook_messages WHERE ${webhookMessageDue} ORDER BY next_attempt_at, id LIMIT @limit)
      AND ${webhookMessageDue}
    RETURNING *`,
  settleWebhookMessage: `UPDATE webhook_messages SET attempts = attempts + @attempted, delivered_at = @delivered_at, failed_at = @failed_at,
      next_attempt_at = @next_attempt_at, last_error = @last_error, lease_owner = NULL, lease_until = NULL
    WHERE id = @id AND lease_owner = @owner AND delivered_at IS NULL RETURNING *`,
  getWebhookMessage: 'SELECT * FROM webhook_messages WHERE id = @id',
  retryWebhookMessage: 'UPDATE webhook_messages SET failed_at = NULL, next_attempt_at = @at WHERE id = @id AND delivered_at IS NULL RETURNING *',
  listWebhookMessages: `SELECT * FROM webhook_messages
    WHERE (CAST(@endpoint_id AS TEXT) IS NULL OR endpoint_id = @endpoint_id)
      AND (CAST(@status AS TEXT) IS NULL
        OR (CAST(@status AS TEXT) = 'delivered' AND delivered_at IS NOT NULL)
        OR (CAST(@status AS TEXT) = 'failed' AND failed_at IS NOT NULL)
        OR (CAST(@status AS TEXT) = 'pending' AND delivered_at IS NULL AND failed_at IS NULL))
      AND (CAST(@before_at AS BIGINT) IS NULL OR created_at < @before_at OR (created_at = @before_at AND id < @before_id))
    ORDER BY created_at DESC, id DESC LIMIT @limit`,
  // The first node to offer a secret under a name makes it; every node then reads the same one.
  offerSharedSecret: 'INSERT INTO shared_secrets (name, secret, created_at) VALUES (@name, @secret, @created_at) ON CONFLICT (name) DO NOTHING',
  getSharedSecret: 'SELECT secret FROM shared_secrets WHERE name = @name',
  // A proof's jti is taken once: a conflict inserts nothing, and the caller counts the rows.
  rememberDpopProof: 'INSERT INTO dpop_proofs (jti, expires_at) VALUES (@jti, @expires_at) ON CONFLICT (jti) DO NOTHING',
  ...auditUpkeepStatements,
  ...storePurgeStatements,
  ping: 'SELECT 1',
} as const;

export type StatementName = keyof typeof statements;

/** The parameters of `listAuditEvents`: null where the query sets no filter. */
export function auditQueryParameters(query: AuditQuery) {
  return {
    user_id: query.userId ?? null,
    session_id: query.sessionId ?? null,
    type: query.type ?? null,
    before_at: query.before?.at ?? null,
    before_id: query.before?.id ?? null,
    limit: query.limit,
  };
}

/** The parameters of the webhook outbox's statements. */
export const webhookParameters = {
  claim: (claim: WebhookClaim) => ({ owner: claim.owner, now: claim.now, lease_until: claim.leaseUntil, limit: claim.limit }),
  settle: (settlement: WebhookSettlement) => ({
    id: settlement.id,
    owner: settlement.owner,
    attempted: settlement.attempted ? 1 : 0,
    delivered_at: settlement.deliveredAt,
    failed_at: settlement.failedAt,
    next_attempt_at: settlement.nextAttemptAt,
    last_error: settlement.lastError,
  }),
  list: (query: WebhookMessageQuery) => ({
    endpoint_id: query.endpointId ?? null,
    status: query.status ?? null,
    before_at: query.before?.createdAt ?? null,
    before_id: query.before?.id ?? null,
    limit: query.limit,
  }),
};

/** The parameters of `listSessions` (and `countSessions`, which ignores the position and limit). */
export function sessionQueryParameters(query: SessionQuery) {
  const createdBefore = query.createdBefore ?? Number.MAX_SAFE_INTEGER;
  const beforeAt = query.before?.at ?? Number.MAX_SAFE_INTEGER;
  return {
    user_id: query.userId,
    status: query.status,
    flow: query.flow ?? null,
    now: query.now,
    created_after: query.createdAfter ?? Number.MIN_SAFE_INTEGER,
    created_before: createdBefore,
    // Times are whole milliseconds: created before B is created at or before B - 1.
    created_up_to: Math.min(createdBefore - 1, beforeAt),
    // Past every real session: (created_at, id) < (MAX, '') holds for any created_at below MAX.
    before_at: beforeAt,
    before_id: query.before?.id ?? '',
    limit: query.limit,
  };
}

/**
 * The parameters of `searchUsers`. The range `[from, below)` holds every id that starts with the
 * prefix and no other in code point order (SQLite's BINARY, PostgreSQL's C collation): `below` is the
 * prefix with its last code point raised by one. Neither bound needs LIKE, so no wildcard to escape.
 */
export function userSearchParameters(search: UserSearch) {
  const after = search.afterUserId ?? null;
  return {
    from: after ?? search.prefix,
    below: prefixSuccessor(search.prefix) ?? aboveEveryUserId,
    after,
    prefix: search.prefix,
    prefix_length: [...search.prefix].length,
    limit: search.limit,
    now: search.now,
  };
}

const lastCodePoint = 0x10ffff;
/** Longer than the longest user id, and of the last code point: above every id (the bound of the empty prefix). */
const aboveEveryUserId = String.fromCodePoint(lastCodePoint).repeat(userIdMaxLength + 1);

/** The least string above every string that starts with `prefix`; null for '' (nothing is above all). */
export function prefixSuccessor(prefix: string): string | null {
  const codePoints = [...prefix].map((char) => char.codePointAt(0)!);
  while (codePoints.length > 0) {
    const last = codePoints.pop()!;
    if (last === lastCodePoint) continue;
    // The surrogates are not characters: the next one after U+D7FF is U+E000.
    codePoints.push(last === 0xd7ff ? 0xe000 : last + 1);
    return String.fromCodePoint(...codePoints);
  }
  return null;
}

/**
 * SQLite only. Clearing a sealed successor in place shrinks its row, and SQLite merges pages after a
 * DELETE but never after an UPDATE: the ~840 bytes each stay, spread over half-empty pages, for as long
 * as the session lives. So the SQLite store takes the rows out and puts them back without it (in one
 * transaction): the pages they left are merged and reused, and the rows are packed where the new ones go.
 */
export const sqliteStatements = {
  takeSpentWithSealedSuccessor: `DELETE FROM refresh_tokens WHERE hash IN (
      SELECT hash FROM refresh_tokens WHERE sealed_successor IS NOT NULL AND spent_at < @spent_before LIMIT @limit
    ) RETURNING hash, session_id, issued_at, spent_at`,
} as const;

/**
 * PostgreSQL only (SQLite has no data-modifying CTEs and no row locks): a whole rotation in one
 * statement, one round trip. It locks the session row first (`FOR UPDATE` waits for a concurrent
 * revocation or rotation to commit, then re-reads the row), spends the token only if it is still
 * live, renews the session and inserts the successor. A lost race changes nothing and returns no
 * row. Every writer locks a session before its tokens, so rotations cannot deadlock.
 */
export const postgresStatements = {
  /**
   * The jti of many DPoP proofs in one statement (one round trip, one commit); `RETURNING` names the
   * ones that were new. A jti already there, from this batch's statement or another node's, is not.
   */
  rememberDpopProofs: `INSERT INTO dpop_proofs (jti, expires_at)
    SELECT * FROM unnest(@jtis::text[], @expires_at::bigint[])
    ON CONFLICT (jti) DO NOTHING RETURNING jti`,
  /**
   * The sweeper's claim with `SKIP LOCKED`, so concurrent sweeps take disjoint batches instead of
   * queueing. In a materialized CTE: as an `IN (…)` subquery the planner may run the locking SELECT
   * more than once and claim past `@limit`.
   */
  claimExpiredSessions: `WITH claimed AS MATERIALIZED (
      SELECT id FROM sessions WHERE ${unrecordedEnd} AND (expires_at <= @now OR idle_expires_at <= @now)
      ORDER BY id LIMIT @limit FOR UPDATE SKIP LOCKED
    )
    UPDATE sessions SET end_recorded_at = @now FROM claimed WHERE sessions.id = claimed.id AND sessions.end_recorded_at IS NULL
    RETURNING sessions.*`,
  rotateRefreshToken: `WITH live AS (
      SELECT id FROM sessions WHERE id = @session_id AND revoked_at IS NULL FOR UPDATE
    ), spent AS (
      UPDATE refresh_tokens SET spent_at = @spent_at, sealed_successor = @sealed_successor
      WHERE hash = @spent_hash AND spent_at IS NULL AND session_id IN (SELECT id FROM live)
      RETURNING session_id
    ), renewed AS (
      UPDATE sessions SET last_refreshed_at = @last_refreshed_at, idle_expires_at = @idle_expires_at, ${recordDevice}, ${bindDpopKey},
        version = version + 1
      WHERE id IN (SELECT session_id FROM spent)
      RETURNING *
    ), successor AS (
      INSERT INTO refresh_tokens (hash, session_id, issued_at, spent_at, sealed_successor)
      SELECT @successor_hash, id, @issued_at, NULL, NULL FROM renewed
    )
    SELECT * FROM renewed`,
  /**
   * `rotateRefreshToken` of a token not read first: the session must also be active at @now (what
   * the core checks on a read), and the device is merged here as `deviceSeen` merges it: a request
   * with a user agent replaces agent, browser and OS, one without keeps them; an address replaces the address.
   */
  rotateUnreadRefreshToken: `WITH live AS (
      SELECT id FROM sessions WHERE id = @session_id AND ${activeAt} AND ${dpopKeyMatches} FOR UPDATE
    ), spent AS (
      UPDATE refresh_tokens SET spent_at = @spent_at, sealed_successor = @sealed_successor
      WHERE hash = @spent_hash AND spent_at IS NULL AND session_id IN (SELECT id FROM live)
      RETURNING session_id
    ), renewed AS (
      UPDATE sessions SET last_refreshed_at = @last_refreshed_at, idle_expires_at = @idle_expires_at, ${mergeSeenDevice},
        refresh_count = refresh_count + 1, ${bindDpopKey}, version = version + 1
      WHERE id IN (SELECT session_id FROM spent)
      RETURNING *
    ), successor AS (
      INSERT INTO refresh_tokens (hash, session_id, issued_at, spent_at, sealed_successor)
      SELECT @successor_hash, id, @issued_at, NULL, NULL FROM renewed
    )
    SELECT * FROM renewed`,
  /** The claim, skipping rows another node's claim has locked instead of waiting for them. */
  claimWebhookMessages: `UPDATE webhook_messages SET lease_owner = @owner, lease_until = @lease_until
    WHERE id IN (SELECT id FROM webhook_messages WHERE ${webhookMessageDue} ORDER BY next_attempt_at, id LIMIT @limit FOR UPDATE SKIP LOCKED)
      AND ${webhookMessageDue}
    RETURNING *`,
} as const;
