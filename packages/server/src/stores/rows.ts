import type { Actor, AuditEventRecord, AuditEventType, WebhookMessageRecord } from '../core/journal.js';
import type { RevocationReason, SessionDevice, SessionRecord } from '../core/session.js';
import type { ApiKeyOrigin, ApiKeyRecord, RefreshTokenRecord, SigningKeyRecord, UserSummary } from '../core/store.js';

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
  device_user_agent: string | null;
  device_browser: string | null;
  device_os: string | null;
  device_ip: string | null;
  refresh_count: number | string;
  dpop_jkt: string | null;
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
    device: deviceFromRow(row),
    refreshCount: Number(row.refresh_count),
    dpopJkt: row.dpop_jkt ?? null,
  };
}

function deviceFromRow(row: SessionRow): SessionDevice | null {
  const device = { userAgent: row.device_user_agent, browser: row.device_browser, os: row.device_os, ip: row.device_ip };
  return Object.values(device).every((part) => part === null) ? null : device;
}

/** The device columns of a session row: NULL for what is not known. */
export function deviceToRow(device: SessionDevice | null) {
  return {
    device_user_agent: device?.userAgent ?? null,
    device_browser: device?.browser ?? null,
    device_os: device?.os ?? null,
    device_ip: device?.ip ?? null,
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
    ...deviceToRow(session.device),
    refresh_count: session.refreshCount,
    dpop_jkt: session.dpopJkt,
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
  'device_user_agent',
  'device_browser',
  'device_os',
  'device_ip',
  'refresh_count',
  'dpop_jkt',
] as const;

export interface AuditEventRow {
  id: string;
  type: string;
  at: number | string;
  user_id: string | null;
  session_id: string | null;
  actor_type: string;
  actor_id: string;
  reason: string | null;
  details: string;
}

export function auditEventToRow(event: AuditEventRecord): AuditEventRow {
  return {
    id: event.id,
    type: event.type,
    at: event.at,
    user_id: event.userId,
    session_id: event.sessionId,
    actor_type: event.actor.type,
    actor_id: event.actor.id,
    reason: event.reason,
    details: JSON.stringify(event.details),
  };
}

export function auditEventFromRow(row: AuditEventRow): AuditEventRecord {
  return {
    id: row.id,
    type: row.type as AuditEventType,
    at: time(row.at),
    userId: row.user_id,
    sessionId: row.session_id,
    actor: { type: row.actor_type as Actor['type'], id: row.actor_id },
    reason: row.reason,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

export interface WebhookMessageRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  type: string;
  payload: string;
  created_at: number | string;
  attempts: number | string;
  next_attempt_at: number | string | null;
  delivered_at: number | string | null;
  failed_at: number | string | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | string | null;
}

export function webhookMessageToRow(message: WebhookMessageRecord): WebhookMessageRow {
  return {
    id: message.id,
    endpoint_id: message.endpointId,
    event_id: message.eventId,
    type: message.type,
    payload: message.payload,
    created_at: message.createdAt,
    attempts: message.attempts,
    next_attempt_at: message.nextAttemptAt,
    delivered_at: message.deliveredAt,
    failed_at: message.failedAt,
    last_error: message.lastError,
    lease_owner: message.leaseOwner,
    lease_until: message.leaseUntil,
  };
}

export function webhookMessageFromRow(row: WebhookMessageRow): WebhookMessageRecord {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    type: row.type as AuditEventType,
    payload: row.payload,
    createdAt: time(row.created_at),
    attempts: Number(row.attempts),
    nextAttemptAt: optionalTime(row.next_attempt_at),
    deliveredAt: optionalTime(row.delivered_at),
    failedAt: optionalTime(row.failed_at),
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseUntil: optionalTime(row.lease_until),
  };
}

/** Claimed messages in the order they came due (an UPDATE's RETURNING keeps no order). */
export function webhookMessagesClaimed(rows: readonly WebhookMessageRow[]): WebhookMessageRecord[] {
  return rows.map(webhookMessageFromRow).sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export const auditEventColumns = ['id', 'type', 'at', 'user_id', 'session_id', 'actor_type', 'actor_id', 'reason', 'details'] as const;
export const webhookMessageColumns = [
  'id',
  'endpoint_id',
  'event_id',
  'type',
  'payload',
  'created_at',
  'attempts',
  'next_attempt_at',
  'delivered_at',
  'failed_at',
  'last_error',
  'lease_owner',
  'lease_until',
] as const;

/** One user found by `searchUsers`: PostgreSQL gives its SUM as NUMERIC text, SQLite as a number. */
export interface UserSummaryRow {
  user_id: string;
  active_sessions: number | string;
  last_created_at: number | string;
}

export function userSummaryFromRow(row: UserSummaryRow): UserSummary {
  return { userId: row.user_id, activeSessions: Number(row.active_sessions), lastCreatedAt: time(row.last_created_at) };
}
