import { readAccessTokenClaims } from './access-token-claims.js';

/** The `SESSION` object of the server's answers. */
export interface SessionInfo {
  readonly id: string;
  readonly user_id: string;
  readonly flow: string;
  readonly status: 'active' | 'expired' | 'revoked';
  readonly created_at: string;
  readonly last_refreshed_at: string | null;
  readonly expires_at: string;
  readonly idle_expires_at: string | null;
  readonly revoked_at: string | null;
  readonly revoked_reason: string | null;
  readonly metadata: Record<string, unknown>;
  /** What the server last saw of the session's device; null when nothing is known. */
  readonly device: DeviceInfo | null;
  /** The last refresh, or the creation. */
  readonly last_seen_at: string;
  /** Refreshes that rotated its token. */
  readonly refresh_count: number;
}

/** The `device` of a `SESSION`: the raw user agent, the browser and OS read from it, the address. */
export interface DeviceInfo {
  readonly user_agent: string | null;
  /** e.g. "Chrome 131". */
  readonly browser: string | null;
  /** e.g. "macOS". */
  readonly os: string | null;
  readonly ip: string | null;
}

/**
 * What `setSession` takes: the answer of `POST /v1/sessions` (or of a refresh) as the app's backend
 * received it. Only `access_token` is required; without `refresh_token` the client cannot refresh
 * by itself and asks `handler.onTokenRequired` instead.
 */
export interface TokenGrant {
  readonly access_token: string;
  readonly refresh_token?: string | null;
  readonly access_token_expires_at?: string | null;
  readonly refresh_token_expires_at?: string | null;
  readonly token_type?: string;
  /** The server's clock when it answered; used to learn the device's clock skew. */
  readonly server_time?: string | null;
  readonly session?: SessionInfo | null;
}

/** The tokens a client holds, with times in epoch milliseconds on the server's clock. */
export interface HeldTokens {
  readonly accessToken: string;
  readonly accessTokenIssuedAt: number | null;
  readonly accessTokenExpiresAt: number | null;
  readonly refreshToken: string | null;
  readonly refreshTokenExpiresAt: number | null;
  readonly sessionId: string | null;
}

/** Whether `body` looks like a grant (an access token at least, and a refresh token when `needRefreshToken`). */
export function isTokenGrant(body: unknown, needRefreshToken = false): body is TokenGrant {
  if (typeof body !== 'object' || body === null) return false;
  const grant = body as Record<string, unknown>;
  if (typeof grant['access_token'] !== 'string' || grant['access_token'] === '') return false;
  return !needRefreshToken || (typeof grant['refresh_token'] === 'string' && grant['refresh_token'] !== '');
}

/** What `setSession` does first, in the page and in worker mode alike: a grant, or a `TypeError` naming what was expected. */
export function assertTokenGrant(grant: unknown): asserts grant is TokenGrant {
  if (!isTokenGrant(grant)) throw new TypeError('setSession: expected the token answer of POST /v1/sessions, with an access_token');
}

/** Epoch milliseconds as a `Date`; null stays null. */
export function dateOrNull(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

/** The held form of a grant. `exp`/`iat` in the token win over the grant's ISO fields. */
export function holdTokens(grant: TokenGrant): HeldTokens {
  const claims = readAccessTokenClaims(grant.access_token);
  return {
    accessToken: grant.access_token,
    accessTokenIssuedAt: claims.issuedAt,
    accessTokenExpiresAt: claims.expiresAt ?? parseTime(grant.access_token_expires_at),
    refreshToken: grant.refresh_token || null,
    refreshTokenExpiresAt: parseTime(grant.refresh_token_expires_at),
    sessionId: claims.sessionId ?? grant.session?.id ?? null,
  };
}

/** Epoch milliseconds of an ISO string; null when absent or unreadable. */
export function parseTime(value: string | null | undefined): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}
