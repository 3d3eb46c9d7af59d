import { formatCursor, type RevocationPage } from '../core/revocation-feed.js';
import { isoTime, sessionJson } from '../core/session-json.js';
import type { TokenGrant } from '../core/sessions.js';

const iso = isoTime;

export { sessionJson };

/** The revocation feed's answer: what a resource server needs to refuse a revoked session's tokens. */
export function revocationPageJson(page: RevocationPage, now: number) {
  return {
    revocations: page.revocations.map((revocation) => ({
      session_id: revocation.sessionId,
      user_id: revocation.userId,
      reason: revocation.reason,
      revoked_at: iso(revocation.revokedAt),
      access_tokens_expire_by: iso(revocation.accessTokensExpireBy),
    })),
    cursor: formatCursor(page.cursor),
    server_time: iso(now),
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
