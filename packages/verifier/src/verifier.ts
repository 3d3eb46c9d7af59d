import { createRemoteJWKSet, customFetch, errors as joseErrors } from 'jose';
import { type AccessTokenClaims, type AccessTokenKeyLookup, checkAccessToken, signingAlgorithm, tokenExpiredError } from './access-token-check.js';
import { type Clock, type Scheduler, systemClock, systemScheduler } from './clock.js';
import { TesseraError } from './errors.js';
import { RevocationList, type RevocationListOptions } from './revocation-list.js';

export interface VerifierOptions {
  /** The Tessera server's issuer (its `--issuer`); tokens must carry it as `iss`. */
  readonly issuer: string;
  /** The expected `aud` (the server's `audience`, `tessera` by default). */
  readonly audience: string | readonly string[];
  /** Where the keys are; defaults to `ISSUER/.well-known/jwks.json`. */
  readonly jwksUri?: string | URL;
  /** Accepted `alg` values; defaults to the one Tessera signs with, ES256. Never `none` or HMAC. */
  readonly algorithms?: readonly string[];
  /** Seconds of clock skew tolerated on `exp` and `iat`; 5 by default. */
  readonly clockTolerance?: number;
  /** Seconds the JWKS is kept before it is fetched again; 600 by default. An unknown `kid` refetches sooner. */
  readonly jwksCacheMaxAge?: number;
  /** Least seconds between two fetches caused by unknown `kid`s; 30 by default. */
  readonly jwksCooldown?: number;
  /** Where "now" comes from; tests pass a `ManualClock`. */
  readonly clock?: Clock;
  /** Where the revocation feed's retries and waits are timed; the system's timers by default. Tests pass their `ManualClock`. */
  readonly scheduler?: Scheduler;
  /** The fetch used for the JWKS and the revocation feed (proxies, tests). */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * Refuse the tokens of revoked sessions (`session_revoked`, with the reason) within about a second
   * of the revocation, instead of accepting them until their `exp`: the verifier keeps a read of
   * Tessera's revocation feed open, which needs the management API key. Call `close()` when done.
   */
  readonly revocations?: RevocationListOptions;
}

/** Verifies Tessera access tokens at a resource server, offline, against the issuer's published keys. */
export interface Verifier {
  readonly issuer: string;
  /** The clock expiry is judged by (and error timestamps are taken from). */
  readonly clock: Clock;
  /**
   * The claims of a valid token; throws `TesseraError` with `token_expired`, `token_invalid`,
   * `service_unavailable` (keys unreachable) and, with `revocations`, `session_revoked` (also for
   * an expired token of a session the verifier knows to be revoked: refreshing cannot help it).
   */
  verify(token: string): Promise<AccessTokenClaims>;
  /** The same for an `Authorization` header value; no bearer token is `token_missing`. */
  verifyAuthorization(header: string | string[] | undefined): Promise<AccessTokenClaims>;
  /** Stops reading the revocation feed (nothing to stop without `revocations`). */
  close(): Promise<void>;
}

/**
 * A verifier for the access tokens of one Tessera issuer. Keys come from its JWKS (cached; a token
 * with a new `kid`, after a rotation, refetches). Signature, pinned algorithms, `typ: at+jwt`,
 * issuer, audience and expiry are checked. Revocation is seen only with `revocations`: without it, a
 * revoked session's access token verifies until its `exp` (the flow's `access_token_ttl`, 15 minutes
 * by default).
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'tessera' });
 * try {
 *   const claims = await verifier.verifyAuthorization(request.headers.authorization);
 *   console.log(claims.sub, claims.sid);
 * } catch (err) {
 *   if (err instanceof TesseraError && err.code === 'token_expired') askClientToRefresh();
 * }
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = options.issuer;
  const clock = options.clock ?? systemClock;
  const jwksUri = new URL(options.jwksUri ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`);
  const userFetch = options.fetch;
  const clockTolerance = options.clockTolerance ?? 5;
  const revoked = options.revocations
    ? new RevocationList({
        ...options.revocations,
        issuer,
        clock,
        scheduler: options.scheduler ?? systemScheduler,
        toleranceMs: clockTolerance * 1000,
        fetch: userFetch ?? ((url, init) => fetch(url, init)),
      })
    : undefined;
  const remoteKeys = createRemoteJWKSet(jwksUri, {
    cacheMaxAge: (options.jwksCacheMaxAge ?? 600) * 1000,
    cooldownDuration: (options.jwksCooldown ?? 30) * 1000,
    ...(userFetch ? { [customFetch]: (url: string, init: RequestInit) => userFetch(url, init) } : {}),
  });

  // Key lookup failures are told apart: an unknown kid is the token's fault, an unreachable JWKS is not.
  const keyFor: AccessTokenKeyLookup = async (_kid, header, token) => {
    try {
      return await remoteKeys(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) return undefined;
      throw new TesseraError('service_unavailable', {
        message: 'The signing keys of the issuer could not be fetched.',
        retryAfter: 1,
        cause: error,
      });
    }
  };

  const verify = async (token: string): Promise<AccessTokenClaims> => {
    const { claims, expired } = await checkAccessToken(token, keyFor, {
      algorithms: options.algorithms ?? [signingAlgorithm],
      issuer,
      audience: options.audience,
      clockTolerance,
      now: clock.now(),
    });
    // A revocation already known is the better answer for an expired token: refreshing cannot help.
    // (An idle or absolute end cannot be known offline; the server says so at the refresh.)
    if (expired) throw revoked?.revokedError(claims.sid) ?? tokenExpiredError(claims.exp);
    await revoked?.check(claims.sid);
    return claims;
  };

  return {
    issuer,
    clock,
    verify,
    async verifyAuthorization(header) {
      const token = bearerOf(header);
      if (token === undefined) throw new TesseraError('token_missing');
      if (token === '') throw new TesseraError('token_invalid', { details: [{ reason: 'empty bearer token' }] });
      return verify(token);
    },
    async close() {
      await revoked?.close();
    },
  };
}

/** The bearer credential of an Authorization header: undefined when there is none, '' when it is empty. */
function bearerOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+(.*)$/i.exec(header);
  return match ? match[1]!.trim() : undefined;
}
