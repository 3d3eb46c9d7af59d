import type { RevocationReason, SessionRecord } from '../core/session.js';
import type { ApiKeyOrigin, ApiKeyRecord, RefreshTokenRecord, SigningKeyRecord } from '../core/store.js';

/** Row shapes and their mapping to records, shared by every SQL store. */
export interface SessionRow {
  id: string;
  user_id: string;
  flow: string;
  created_at: number | string;
  last_refreshed_at: number | string | null;
  expires_at: number | string;
  idle_expires_at: number | string | null;
  revoked_at: number | string | null;
  revoked_reason: string | null;
  metadata: string;
  version: number | string;
}

export interface RefreshTokenRow {
  hash: string;
  session_id: string;
  issued_at: number | string;
  spent_at: number | string | null;
  sealed_successor: string | null;
}

export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number | string;
  retired_at: number | string | null;
  verify_until: number | string | null;
  longest_token_ttl: number | string | null;
}

export interface ApiKeyRow {
  hash: string;
  name: string;
  origin: string;
  created_at: number | string;
  revoked_at: number | string | null;
  last_used_at: number | string | null;
}

// PostgreSQL returns BIGINT as a string; both drivers get the same numbers out.
function time(value: number | string): number {
  return Number(value);
}

function optionalTime(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export function sessionFromRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    flow: row.flow,
    createdAt: time(row.created_at),
    lastRefreshedAt: optionalTime(row.last_refreshed_at),
    expiresAt: time(row.expires_at),
    idleExpiresAt: optionalTime(row.idle_expires_at),
    revokedAt: optionalTime(row.revoked_at),
    revokedReason: row.revoked_reason as RevocationReason | null,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    version: time(row.version),
  };
}

export function sessionToRow(session: SessionRecord): SessionRow {
  return {
    id: session.id,
    user_id: session.userId,
    flow: session.flow,
    created_at: session.createdAt,
    last_refreshed_at: session.lastRefreshedAt,
    expires_at: session.expiresAt,
    idle_expires_at: session.idleExpiresAt,
    revoked_at: session.revokedAt,
    revoked_reason: session.revokedReason,
    metadata: JSON.stringify(session.metadata),
    version: session.version,
  };
}

export function refreshTokenFromRow(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    hash: row.hash,
    sessionId: row.session_id,
    issuedAt: time(row.issued_at),
    spentAt: optionalTime(row.spent_at),
    sealedSuccessor: row.sealed_successor,
  };
}

export function refreshTokenToRow(token: RefreshTokenRecord): RefreshTokenRow {
  return {
    hash: token.hash,
    session_id: token.sessionId,
    issued_at: token.issuedAt,
    spent_at: token.spentAt,
    sealed_successor: token.sealedSuccessor,
  };
}

export function signingKeyFromRow(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    privateJwk: row.private_jwk,
    publicJwk: row.public_jwk,
    createdAt: time(row.created_at),
    retiredAt: optionalTime(row.retired_at),
    verifyUntil: optionalTime(row.verify_until),
    longestTokenTtl: optionalTime(row.longest_token_ttl),
  };
}

export function apiKeyFromRow(row: ApiKeyRow): ApiKeyRecord {
  return {
    hash: row.hash,
    name: row.name,
    origin: row.origin as ApiKeyOrigin,
    createdAt: time(row.created_at),
    revokedAt: optionalTime(row.revoked_at),
    lastUsedAt: optionalTime(row.last_used_at),
  };
}

/** Columns of a session, in the order of `sessionToRow`. */
export const sessionColumns = [
  'id',
  'user_id',
  'flow',
  'created_at',
  'last_refreshed_at',
  'expires_at',
  'idle_expires_at',
  'revoked_at',
  'revoked_reason',
  'metadata',
  'version',
] as const;
