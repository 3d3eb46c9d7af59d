import { decodeBase64Url } from './base64url.js';

/** The claims the SDK reads from an access token. It never verifies them: the server does. */
export interface AccessTokenTimes {
  /** `iat` in epoch milliseconds, on server time. */
  readonly issuedAt: number | null;
  /** `exp` in epoch milliseconds, on server time. */
  readonly expiresAt: number | null;
  /** `sid`: the session the token proves. */
  readonly sessionId: string | null;
  /** `cnf.jkt`: the thumbprint of the DPoP key the token is bound to (RFC 9449 §6.1); null for a bearer token. */
  readonly boundKey: string | null;
}

const none: AccessTokenTimes = { issuedAt: null, expiresAt: null, sessionId: null, boundKey: null };

/** Reads `iat`, `exp`, `sid` and `cnf.jkt` from a JWT payload; all null for a token that is not a readable JWT. */
export function readAccessTokenClaims(token: string): AccessTokenTimes {
  const payload = token.split('.')[1];
  if (payload === undefined) return none;
  let claims: unknown;
  try {
    claims = JSON.parse(decodeBase64Url(payload));
  } catch {
    return none;
  }
  if (typeof claims !== 'object' || claims === null) return none;
  const record = claims as Record<string, unknown>;
  return {
    issuedAt: secondsToMs(record['iat']),
    expiresAt: secondsToMs(record['exp']),
    sessionId: typeof record['sid'] === 'string' ? record['sid'] : null,
    boundKey: boundKeyOf(record['cnf']),
  };
}

function boundKeyOf(confirmation: unknown): string | null {
  if (typeof confirmation !== 'object' || confirmation === null) return null;
  const jkt = (confirmation as Record<string, unknown>)['jkt'];
  return typeof jkt === 'string' && jkt !== '' ? jkt : null;
}

function secondsToMs(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value * 1000 : null;
}
