import {
  type CryptoKey,
  type FlattenedJWSInput,
  type JWK,
  type JWTHeaderParameters,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
  type KeyObject,
} from 'jose';
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
  /** Present when the session is bound to a DPoP key (RFC 9449 §6.1): `jkt` is its RFC 7638 thumbprint. */
  readonly cnf?: { readonly jkt: string };
}

/** A token that passed every check but its expiry, and whether it has expired. */
export interface CheckedAccessToken {
  readonly claims: AccessTokenClaims;
  /** The `kid` of the key that verified it. */
  readonly kid: string;
  /** Past `exp` (and the clock tolerance): the caller answers `token_expired`, or something that says more. */
  readonly expired: boolean;
}

/**
 * The public key named `kid`, or undefined when the issuer has no such key (the token is then
 * `token_invalid`). Throws when the keys cannot be read (a store or a JWKS that does not answer):
 * that failure is not the token's, and comes out of `checkAccessToken` as it was thrown.
 */
export type AccessTokenKeyLookup = (
  kid: string,
  header: JWTHeaderParameters,
  token: FlattenedJWSInput,
) => Promise<CryptoKey | KeyObject | JWK | Uint8Array | undefined>;

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
 * (with the key `lookupKey` finds for the header's `kid`), pinned algorithms, `typ: at+jwt`, issuer,
 * audience and the claims Tessera needs. An expired token that passes all of that comes back with
 * `expired: true`. Anything wrong with the token is `token_invalid`, whatever jose threw (a JOSE
 * error, or a `TypeError` for a key that does not fit the algorithm); a failure of `lookupKey` is
 * thrown as it is.
 */
export async function checkAccessToken(token: string, lookupKey: AccessTokenKeyLookup, options: AccessTokenCheckOptions): Promise<CheckedAccessToken> {
  let kid = '';
  const key: JWTVerifyGetKey = async (header, input) => {
    // Tessera always names its key; without a kid, jose would try a lone JWKS key, which the server never does.
    if (typeof header.kid !== 'string') throw new TesseraError('token_invalid', { details: [{ reason: 'no kid in header' }] });
    let found: Awaited<ReturnType<AccessTokenKeyLookup>>;
    try {
      found = await lookupKey(header.kid, header, input);
    } catch (error) {
      throw new KeyLookupFailure(error);
    }
    if (found === undefined) throw new TesseraError('token_invalid', { details: [{ reason: 'unknown kid' }] });
    kid = header.kid;
    return found;
  };
  try {
    return { claims: await verifyAt(token, key, options, options.now), kid, expired: false };
  } catch (error) {
    if (!(error instanceof joseErrors.JWTExpired)) throw toTokenError(error);
    const exp = error.payload.exp;
    if (typeof exp !== 'number') throw toTokenError(error);
    // jose stops at its first failed check and does not promise their order: verify again as of a
    // second before `exp`, so an expired token's claims are used only once every other check has passed.
    try {
      return { claims: await verifyAt(token, key, options, (exp - 1) * 1000), kid, expired: true };
    } catch (again) {
      throw toTokenError(again);
    }
  }
}

/** Carries a failure of the key lookup through jose, so it is told apart from the token's own faults. */
class KeyLookupFailure extends Error {
  constructor(cause: unknown) {
    super('the key lookup failed', { cause });
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

function toTokenError(error: unknown): unknown {
  // Not about the token (the store or the JWKS failed while keys were read): the caller reports it.
  if (error instanceof KeyLookupFailure) return error.cause;
  if (error instanceof TesseraError) return error;
  if (error instanceof joseErrors.JOSEError) {
    return new TesseraError('token_invalid', { details: [{ reason: error.message }], cause: error });
  }
  // jose throws TypeError and friends for input it cannot even try, such as a key that does not fit the algorithm.
  return new TesseraError('token_invalid', { details: [{ reason: 'malformed token' }], cause: error });
}
