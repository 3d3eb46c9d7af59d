import { sessionState, type SessionRecord } from '../core/session.js';
import type { TokenGrant } from '../core/sessions.js';

const iso = (ms: number) => new Date(ms).toISOString();
const optionalIso = (ms: number | null) => (ms === null ? null : iso(ms));

/** The `SESSION` object of the contract. */
export function sessionJson(session: SessionRecord, now: number) {
  return {
    id: session.id,
    user_id: session.userId,
    flow: session.flow,
    status: sessionState(session, now).status,
    created_at: iso(session.createdAt),
    last_refreshed_at: optionalIso(session.lastRefreshedAt),
    expires_at: iso(session.expiresAt),
    idle_expires_at: optionalIso(session.idleExpiresAt),
    revoked_at: optionalIso(session.revokedAt),
    revoked_reason: session.revokedReason,
    metadata: session.metadata,
  };
}

/** The answer to session creation and to every refresh. */
export function grantJson(grant: TokenGrant, now: number) {
  return {
    session: sessionJson(grant.session, now),
    access_token: grant.accessToken,
    access_token_expires_at: iso(grant.accessTokenExpiresAt),
    refresh_token: grant.refreshToken,
    refresh_token_expires_at: iso(grant.refreshTokenExpiresAt),
    token_type: 'Bearer' as const,
    server_time: iso(now),
  };
}

/** A grant answer without `refresh_token`: cookie mode with `refresh_token_in_body: false`. */
export function withoutRefreshToken(json: ReturnType<typeof grantJson>): Omit<ReturnType<typeof grantJson>, 'refresh_token'> {
  const { refresh_token: _omitted, ...rest } = json;
  return rest;
}
