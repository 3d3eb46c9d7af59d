/** The claims the SDK reads from an access token. It never verifies them: the server does. */
export interface AccessTokenTimes {
  /** `iat` in epoch milliseconds, on server time. */
  readonly issuedAt: number | null;
  /** `exp` in epoch milliseconds, on server time. */
  readonly expiresAt: number | null;
  /** `sid`: the session the token proves. */
  readonly sessionId: string | null;
}

const none: AccessTokenTimes = { issuedAt: null, expiresAt: null, sessionId: null };

/** Reads `iat`, `exp` and `sid` from a JWT payload; all null for a token that is not a readable JWT. */
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
  };
}

function secondsToMs(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value * 1000 : null;
}

function decodeBase64Url(text: string): string {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
