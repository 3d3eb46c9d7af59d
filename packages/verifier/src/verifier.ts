import { createRemoteJWKSet, customFetch, errors as joseErrors } from 'jose';
import { type AccessTokenClaims, type AccessTokenKeyLookup, checkAccessToken, signingAlgorithm, tokenExpiredError } from './access-token-check.js';
import { type AccessTokenCredential, accessTokenCredentialOf } from './authorization-header.js';
import { type Clock, type Scheduler, systemClock, systemScheduler } from './clock.js';
import { checkTokenProof } from './dpop-binding.js';
import { type CheckedDpopProof, dpopProofError } from './dpop-proof.js';
import { type DpopReplayCache, MemoryDpopReplayCache } from './dpop-replay-cache.js';
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
  /** How DPoP proofs (RFC 9449) of key-bound tokens are judged; see `verifyRequest`. */
  readonly dpop?: VerifierDpopOptions;
}

export interface VerifierDpopOptions {
  /** Seconds a proof is accepted after its `iat`; 60 by default. (`clockTolerance` is how far ahead it may be.) */
  readonly maxAge?: number;
  /**
   * Where accepted proofs are remembered, so none is accepted twice: by default a
   * `MemoryDpopReplayCache` of this process, holding each proof for its acceptance window. Several
   * nodes behind one URL share one (see `DpopReplayCache`), or a proof could be replayed on another node.
   */
  readonly replayCache?: DpopReplayCache;
}

/** What `verifyRequest` needs of an HTTP request. */
export interface VerifiableRequest {
  /** The `Authorization` header: `Bearer <token>`, or `DPoP <token>` with a proof. */
  readonly authorization: string | string[] | undefined;
  /** The `DPoP` header: the proof (RFC 9449 §4) that the client holds the token's key. */
  readonly dpop?: string | string[] | undefined;
  /** The request method, as sent. */
  readonly method: string;
  /** The absolute URL the client addressed (as it is behind proxies); query and fragment are not compared. */
  readonly url: string | URL;
}

/** Verifies Tessera access tokens at a resource server, offline, against the issuer's published keys. */
export interface Verifier {
  readonly issuer: string;
  /** The clock expiry is judged by (and error timestamps are taken from). */
  readonly clock: Clock;
  /**
   * The claims of a valid bearer token; throws `TesseraError` with `token_expired`, `token_invalid`,
   * `service_unavailable` (keys unreachable) and, with `revocations`, `session_revoked` (also for
   * an expired token of a session the verifier knows to be revoked: refreshing cannot help it). A
   * token bound to a DPoP key (`cnf.jkt`) is `dpop_proof_invalid` here: it needs `verifyRequest`.
   */
  verify(token: string): Promise<AccessTokenClaims>;
  /** The same for an `Authorization: Bearer` header value; no token is `token_missing`. DPoP needs `verifyRequest`. */
  verifyAuthorization(header: string | string[] | undefined): Promise<AccessTokenClaims>;
  /**
   * The claims of the access token a request carries, `Bearer` or `DPoP` (RFC 9449 §7). A token bound
   * to a key (`cnf.jkt`) passes only as `Authorization: DPoP <token>` with a `DPoP` proof for this
   * method and URL, for this token (`ath`), made within `dpop.maxAge`, signed by that key, and never
   * seen before; else `dpop_proof_invalid` with `details[0].reason` (`missing`, `htu`, `replayed`, …).
   * A token bound to nothing passes as `Bearer`, and as `DPoP` with a good proof (a client with a
   * key sends it so before its session is bound). Errors otherwise as `verify`.
   *
   * @example
   * ```ts
   * const claims = await verifier.verifyRequest({
   *   authorization: req.headers.authorization,
   *   dpop: req.headers.dpop,
   *   method: req.method,
   *   url: `https://api.example.com${req.url}`,
   * });
   * ```
   */
  verifyRequest(request: VerifiableRequest): Promise<AccessTokenClaims>;
  /** Stops reading the revocation feed (nothing to stop without `revocations`). */
  close(): Promise<void>;
}

/**
 * A verifier for the access tokens of one Tessera issuer. Keys come from its JWKS (cached; a token
 * with a new `kid`, after a rotation, refetches). Signature, pinned algorithms, `typ: at+jwt`,
 * issuer, audience and expiry are checked. Revocation is seen only with `revocations`: without it, a
 * revoked session's access token verifies until its `exp` (the flow's `access_token_ttl`, 15 minutes
 * by default). Tokens of sessions bound to a DPoP key need a proof of that key with each request:
 * `verifyRequest` checks it, and remembers each proof so it is not accepted twice.
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

  const dpopMaxAge = options.dpop?.maxAge ?? 60;
  const replayCache = options.dpop?.replayCache ?? new MemoryDpopReplayCache({ clock });

  /** The claims of a valid token, however it may be bound. */
  const checkToken = async (token: string): Promise<AccessTokenClaims> => {
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

  /** A valid token, used as its binding allows; `request` is what a DPoP proof is judged against. */
  const verifyCredential = async (credential: AccessTokenCredential, request: Omit<VerifiableRequest, 'authorization'>): Promise<AccessTokenClaims> => {
    const claims = await checkToken(credential.token);
    const proof = await checkTokenProof(credential.token, claims, {
      scheme: credential.scheme,
      proof: request.dpop,
      method: request.method,
      url: String(request.url),
      now: clock.now(),
      maxAge: dpopMaxAge,
      clockSkew: clockTolerance,
    });
    if (proof !== null) await rememberProof(proof);
    return claims;
  };

  // Kept a second past the window: an `iat` exactly `maxAge` old is still accepted.
  const rememberProof = async (proof: CheckedDpopProof): Promise<void> => {
    const firstUse = await replayCache.remember(`${proof.jkt}:${proof.jti}`, (proof.iat + dpopMaxAge + 1) * 1000);
    if (!firstUse) throw dpopProofError('replayed', 'This DPoP proof was used before. Make a new one for each request.');
  };

  /** The credential of an Authorization header; none is `token_missing`. */
  const credentialOf = (header: string | string[] | undefined): AccessTokenCredential => {
    const credential = accessTokenCredentialOf(header);
    if (credential === undefined) throw new TesseraError('token_missing');
    if (credential.token === '') {
      throw new TesseraError('token_invalid', { details: [{ reason: credential.scheme === 'dpop' ? 'empty DPoP token' : 'empty bearer token' }] });
    }
    return credential;
  };

  const noRequest = { method: '', url: '' };
  return {
    issuer,
    clock,
    verify: (token) => verifyCredential({ scheme: 'bearer', token }, noRequest),
    async verifyAuthorization(header) {
      const credential = credentialOf(header);
      // Without the request there is nothing to judge a proof against.
      if (credential.scheme === 'dpop') {
        throw dpopProofError('missing', 'This resource server takes bearer tokens only (verifyAuthorization); DPoP needs verifyRequest.');
      }
      return verifyCredential(credential, noRequest);
    },
    async verifyRequest(request) {
      return verifyCredential(credentialOf(request.authorization), request);
    },
    async close() {
      await revoked?.close();
    },
  };
}
