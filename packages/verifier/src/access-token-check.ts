import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { TesseraError } from './errors.js';

/** The one algorithm Tessera signs access tokens with. */
export const signingAlgorithm = 'ES256';

/** The claims of a Tessera access token (RFC 9068 plus `sid` and `flow`). */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly sid: string;
  readonly flow: string;
}

/** A token that passed every check but its expiry, and whether it has expired. */
export interface CheckedAccessToken {
  readonly claims: AccessTokenClaims;
  /** Past `exp` (and the clock tolerance): the caller answers `token_expired`, or something that says more. */
  readonly expired: boolean;
}

export interface AccessTokenCheckOptions {
  /** Accepted `alg` values. */
  readonly algorithms: readonly string[];
  readonly issuer: string;
  readonly audience: string | readonly string[];
  /** Seconds of clock skew tolerated on `exp`; none unless given. */
  readonly clockTolerance?: number;
  /** Epoch milliseconds that expiry is judged at. */
  readonly now: number;
}

/**
 * The one verification of an access token, for the server and for the offline verifier: signature
 * (with the key `key` resolves), pinned algorithms, `typ: at+jwt`, issuer, audience and the claims
 * Tessera needs. An expired token that passes all of that comes back with `expired: true`. Throws
 * `token_invalid`; a failure that is not about the token (the key store) is thrown as it is.
 */
export async function checkAccessToken(token: string, key: JWTVerifyGetKey, options: AccessTokenCheckOptions): Promise<CheckedAccessToken> {
  try {
    return { claims: await verifyAt(token, key, options, options.now), expired: false };
  } catch (error) {
    if (!(error instanceof joseErrors.JWTExpired)) throw toTokenError(error);
    const exp = error.payload.exp;
    if (typeof exp !== 'number') throw toTokenError(error);
    // jose stops at its first failed check and does not promise their order: verify again as of a
    // second before `exp`, so an expired token's claims are used only once every other check has passed.
    try {
      return { claims: await verifyAt(token, key, options, (exp - 1) * 1000), expired: true };
    } catch (again) {
      throw toTokenError(again);
    }
  }
}

/** The `token_expired` error of a token that expired at `exp` (epoch seconds). */
export function tokenExpiredError(exp: number): TesseraError {
  return new TesseraError('token_expired', { details: [{ expired_at: new Date(exp * 1000).toISOString() }] });
}

async function verifyAt(token: string, key: JWTVerifyGetKey, options: AccessTokenCheckOptions, at: number): Promise<AccessTokenClaims> {
  const { payload } = await jwtVerify(token, key, {
    algorithms: [...options.algorithms],
    typ: 'at+jwt',
    issuer: options.issuer,
    audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
    clockTolerance: options.clockTolerance ?? 0,
    currentDate: new Date(at),
    requiredClaims: ['sub', 'exp', 'iat', 'jti', 'sid', 'flow'],
  });
  if (typeof payload.sid !== 'string' || typeof payload.flow !== 'string' || typeof payload.sub !== 'string') {
    throw new TesseraError('token_invalid', { details: [{ reason: 'sid, flow and sub must be strings' }] });
  }
  return payload as unknown as AccessTokenClaims;
}

function toTokenError(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  if (error instanceof joseErrors.JOSEError) {
    return new TesseraError('token_invalid', { details: [{ reason: error.message }], cause: error });
  }
  // Not about the token (the store failed while loading keys): let the boundary report it.
  throw error;
}
