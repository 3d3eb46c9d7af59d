import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTHeaderParameters, type JWTVerifyGetKey } from 'jose';
import type { Clock } from './clock.js';
import { TesseraError } from './errors.js';
import { newId } from './ids.js';
import type { SessionRecord } from './session.js';
import { signingAlgorithm, type SigningKeys } from './signing-keys.js';

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

export interface AccessTokensOptions {
  readonly keys: SigningKeys;
  readonly clock: Clock;
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
}

/** A token that passed every check but its expiry, and whether it has expired. */
export interface CheckedAccessToken {
  readonly claims: AccessTokenClaims;
  /** Past `exp` (and the clock tolerance): the caller answers `token_expired`, or something that says more. */
  readonly expired: boolean;
}

/** Checked tokens are remembered by their full text (signature included), so a repeat costs a map lookup. */
const checkedCacheSize = 10_000;

/** Signs and verifies access tokens; verification is pinned to one algorithm and one `typ`. */
export class AccessTokens {
  readonly #options: AccessTokensOptions;
  readonly #checked = new Map<string, { claims: AccessTokenClaims; kid: string }>();
  readonly #keyFor = async (header: JWTHeaderParameters) => {
    if (typeof header.kid !== 'string') throw new TesseraError('token_invalid', { details: [{ reason: 'no kid in header' }] });
    const key = await this.#options.keys.verificationKey(header.kid);
    if (!key) throw new TesseraError('token_invalid', { details: [{ reason: 'unknown kid' }] });
    return key;
  };

  constructor(options: AccessTokensOptions) {
    this.#options = options;
  }

  /** Signs a token for the session, expiring after `ttl` seconds or at `notAfter`, whichever is first. */
  async sign(session: SessionRecord, ttl: number, notAfter: number): Promise<{ token: string; expiresAt: number }> {
    const { issuer, audience, clientId, clock } = this.#options;
    const iat = Math.floor(clock.now() / 1000);
    const exp = Math.min(iat + ttl, Math.floor(notAfter / 1000));
    const { kid, privateKey } = await this.#options.keys.currentKey();
    const token = await new SignJWT({ client_id: clientId, sid: session.id, flow: session.flow })
      .setProtectedHeader({ alg: signingAlgorithm, typ: 'at+jwt', kid })
      .setIssuer(issuer)
      .setSubject(session.userId)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(newId('', clock.now()))
      .sign(privateKey);
    return { token, expiresAt: exp * 1000 };
  }

  /** Verifies signature, algorithm, `typ`, issuer, audience and expiry; throws `token_expired` or `token_invalid`. */
  async verify(token: string): Promise<AccessTokenClaims> {
    const { claims, expired } = await this.check(token);
    if (expired) throw tokenExpiredError(claims.exp);
    return claims;
  }

  /**
   * Verifies everything but expiry, and tells whether the token has expired instead of throwing: the
   * claims of an expired token can then be trusted to look its session up. Throws `token_invalid`.
   */
  async check(token: string): Promise<CheckedAccessToken> {
    const { issuer, audience, clock } = this.#options;
    const now = clock.now();
    const known = this.#checked.get(token);
    // A key retired early stops verifying here as on a node that never saw the token.
    if (known && this.#options.keys.stillVerifies(known.kid)) return { claims: known.claims, expired: known.claims.exp * 1000 <= now };
    if (known) this.#checked.delete(token);
    const checked = await checkAccessToken(token, this.#keyFor, { algorithms: [signingAlgorithm], issuer, audience, now });
    if (this.#checked.size >= checkedCacheSize) {
      const oldest = this.#checked.keys().next().value;
      if (oldest !== undefined) this.#checked.delete(oldest);
    }
    // checkAccessToken succeeded, so the header had a string kid.
    this.#checked.set(token, { claims: checked.claims, kid: decodeProtectedHeader(token).kid as string });
    return checked;
  }
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
