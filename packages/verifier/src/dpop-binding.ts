import type { AccessTokenClaims } from './access-token-check.js';
import type { AccessTokenCredential } from './authorization-header.js';
import { type CheckedDpopProof, checkDpopProof, dpopProofError, isJwkThumbprint } from './dpop-proof.js';
import { TesseraError } from './errors.js';

/**
 * The RFC 7638 thumbprint an access token is bound to (its `cnf.jkt`), or undefined for a token
 * bound to nothing. A `cnf` without a thumbprint (one for mTLS, say) binds the token to something
 * that cannot be checked here: `token_invalid`.
 */
export function boundThumbprintOf(claims: AccessTokenClaims): string | undefined {
  const cnf: unknown = claims.cnf;
  if (cnf === undefined) return undefined;
  const jkt: unknown = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
  if (!isJwkThumbprint(jkt)) throw new TesseraError('token_invalid', { details: [{ reason: 'cnf.jkt must be a JWK SHA-256 thumbprint' }] });
  return jkt;
}

/** The request an access token was presented with, as far as its DPoP proof is judged. */
export interface TokenProofRequest {
  /** The scheme of the `Authorization` header. */
  readonly scheme: AccessTokenCredential['scheme'];
  /** The `DPoP` header: one proof. */
  readonly proof: string | string[] | undefined;
  readonly method: string;
  /** The absolute URL the client addressed, or every URL it may have named (a proxy in front). */
  readonly url: string | readonly string[];
  /** Epoch milliseconds. */
  readonly now: number;
  /** Seconds a proof stays acceptable after its `iat`; 60 unless given. */
  readonly maxAge?: number;
  /** Seconds an `iat` may lie ahead of `now`; 5 unless given. */
  readonly clockSkew?: number;
  /** Whether the proof's `nonce` is one the server gave out (RFC 9449 §8); no nonce is asked for when absent. */
  readonly acceptsNonce?: (nonce: string | undefined) => boolean;
}

/**
 * Whether a valid access token may be used the way it was sent (RFC 9449 §7): a token bound to a key
 * (`cnf.jkt`) goes only with the `DPoP` scheme and a proof for this method and URL, made just now, for
 * this token (`ath`), signed by that key. A bearer token sent with `Bearer` needs no proof (null). A
 * bearer token sent with `DPoP` needs a good proof too, though it binds nothing: a client that holds
 * a key sends it so before its session is bound (RFC 9449 §7.1 leaves it to the resource server).
 * Returns the checked proof, whose `jti` the caller must not accept again; throws `dpop_proof_invalid`.
 */
export async function checkTokenProof(token: string, claims: AccessTokenClaims, request: TokenProofRequest): Promise<CheckedDpopProof | null> {
  const boundTo = boundThumbprintOf(claims);
  if (request.scheme === 'bearer') {
    if (boundTo === undefined) return null;
    // RFC 9449 §7.2: a bound token used as a bearer token is refused, proof or no proof.
    throw dpopProofError('missing', 'This access token is bound to a DPoP key: send it as `Authorization: DPoP <token>` with a DPoP proof.');
  }
  return checkDpopProof(oneProofOf(request.proof), {
    method: request.method,
    url: request.url,
    now: request.now,
    accessToken: token,
    ...(boundTo === undefined ? {} : { boundTo }),
    ...(request.maxAge === undefined ? {} : { maxAge: request.maxAge }),
    ...(request.clockSkew === undefined ? {} : { clockSkew: request.clockSkew }),
    ...(request.acceptsNonce === undefined ? {} : { acceptsNonce: request.acceptsNonce }),
  });
}

/** The one proof of a `DPoP` header; RFC 9449 §4.3 refuses a request with more than one. */
function oneProofOf(header: string | string[] | undefined): string | undefined {
  if (!Array.isArray(header)) return header;
  if (header.length > 1) throw dpopProofError('malformed', 'A request carries one DPoP proof.');
  return header[0];
}
