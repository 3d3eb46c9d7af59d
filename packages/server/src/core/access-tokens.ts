import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from 'jose';
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

/** Verified tokens are remembered by their full text (signature included), so a repeat costs a map lookup. */
const verifiedCacheSize = 10_000;

/** Signs and verifies access tokens; verification is pinned to one algorithm and one `typ`. */
export class AccessTokens {
  readonly #options: AccessTokensOptions;
  readonly #verified = new Map<string, AccessTokenClaims>();

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
    const now = this.#options.clock.now();
    const cached = this.#verified.get(token);
    if (cached) {
      if (cached.exp * 1000 <= now) throw expiredError(cached.exp);
      return cached;
    }
    const claims = await this.#verifyFresh(token, now);
    if (this.#verified.size >= verifiedCacheSize) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(token, claims);
    return claims;
  }

  async #verifyFresh(token: string, now: number): Promise<AccessTokenClaims> {
    const { keys, issuer, audience } = this.#options;
    try {
      const { payload } = await jwtVerify(
        token,
        async (header: JWTHeaderParameters) => {
          if (typeof header.kid !== 'string') throw new TesseraError('token_invalid', { details: [{ reason: 'no kid in header' }] });
          const key = await keys.verificationKey(header.kid);
          if (!key) throw new TesseraError('token_invalid', { details: [{ reason: 'unknown kid' }] });
          return key;
        },
        {
          algorithms: [signingAlgorithm],
          typ: 'at+jwt',
          issuer,
          audience,
          currentDate: new Date(now),
          requiredClaims: ['sub', 'exp', 'iat', 'jti', 'sid', 'flow'],
        },
      );
      if (typeof payload.sid !== 'string' || typeof payload.flow !== 'string' || typeof payload.sub !== 'string') {
        throw new TesseraError('token_invalid', { details: [{ reason: 'sid, flow and sub must be strings' }] });
      }
      return payload as unknown as AccessTokenClaims;
    } catch (error) {
      throw toTokenError(error);
    }
  }
}

function expiredError(exp: number): TesseraError {
  return new TesseraError('token_expired', { details: [{ expired_at: new Date(exp * 1000).toISOString() }] });
}

function toTokenError(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  if (error instanceof joseErrors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? error.payload.exp : 0;
    return expiredError(exp);
  }
  if (error instanceof joseErrors.JOSEError) {
    return new TesseraError('token_invalid', { details: [{ reason: error.message }], cause: error });
  }
  // Not about the token (the store failed while loading keys): let the boundary report it.
  throw error;
}
