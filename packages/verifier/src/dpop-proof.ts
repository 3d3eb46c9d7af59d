import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK, errors as joseErrors, jwtVerify } from 'jose';
import { TesseraError } from './errors.js';

/**
 * The `alg` values a DPoP proof may be signed with (RFC 9449 §4.2: asymmetric only, never `none`
 * or an HMAC). The server's metadata lists them as `dpop_signing_alg_values_supported`.
 */
export const dpopSigningAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA'] as const;

/** Why a proof was refused: the `reason` in the `dpop_proof_invalid` envelope's details. */
export type DpopProofProblem =
  | 'missing'
  | 'malformed'
  | 'typ'
  | 'alg'
  | 'jwk'
  | 'signature'
  | 'jti'
  | 'htm'
  | 'htu'
  | 'iat'
  | 'ath'
  | 'nonce'
  | 'key_mismatch'
  | 'replayed';

export interface DpopProofCheckOptions {
  /** The request's method. */
  readonly method: string;
  /**
   * The request's absolute URL; its query and fragment are not compared (RFC 9449 §4.3). Or every URL
   * the request may be named by (an app behind a proxy that rewrites paths): `htu` must name one.
   */
  readonly url: string | readonly string[];
  /** Epoch milliseconds that `iat` is judged at. */
  readonly now: number;
  /** Seconds a proof stays acceptable after its `iat`. Default 60. */
  readonly maxAge?: number;
  /** Seconds an `iat` may lie ahead of `now` (the device's clock runs fast). Default 5. */
  readonly clockSkew?: number;
  /** The access token the proof goes with: its `ath` must be this token's SHA-256. */
  readonly accessToken?: string;
  /** The thumbprint the session or token is bound to: the proof must be signed by that key. */
  readonly boundTo?: string;
  /** Whether the proof's `nonce` is one the server gave out (RFC 9449 §8); no nonce is asked for when absent. */
  readonly acceptsNonce?: (nonce: string | undefined) => boolean;
}

/** A proof that passed every check: the thumbprint of its key and what a replay cache needs. */
export interface CheckedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key, base64url: what `cnf.jkt` holds. */
  readonly jkt: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly iat: number;
}

/** Longer than any proof a client makes (an RSA-4096 key in the header is under 1 KB): refused unread. */
const maxProofLength = 8192;
/** Longest `jti` kept in a replay cache. */
const maxJtiLength = 256;
/** Members of a JWK that only a private or symmetric key has. */
const secretMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The `dpop_proof_invalid` error for `reason`. */
export function dpopProofError(reason: DpopProofProblem, message?: string): TesseraError {
  return new TesseraError('dpop_proof_invalid', { details: [{ reason }], ...(message ? { message } : {}) });
}

/**
 * The one check of a DPoP proof (RFC 9449 §4.3), for the server and for the offline verifier: a
 * compact JWS with `typ: dpop+jwt`, an asymmetric `alg`, the public key in its `jwk` header (a private
 * or symmetric key there is refused), a signature by that key, `htm` and `htu` naming this request,
 * an `iat` within `maxAge`, a `jti`, and `ath` and `nonce` when asked for. Anything wrong is
 * `dpop_proof_invalid` with the reason in its details. Whether the `jti` was seen before is the
 * caller's to check (it needs a store shared by the nodes).
 */
export async function checkDpopProof(proof: string | undefined, options: DpopProofCheckOptions): Promise<CheckedDpopProof> {
  if (proof === undefined || proof === '') throw dpopProofError('missing', 'This request needs a DPoP proof in the DPoP header.');
  if (proof.length > maxProofLength || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(proof)) throw dpopProofError('malformed');
  const { jwk, alg } = publicKeyOf(proof);
  let payload: Record<string, unknown>;
  let jkt: string;
  try {
    const imported = await importedKeyOf(jwk, alg);
    jkt = imported.jkt;
    ({ payload } = await jwtVerify(proof, imported.key, { typ: 'dpop+jwt', algorithms: [...dpopSigningAlgorithms], currentDate: new Date(options.now) }));
  } catch (error) {
    throw dpopProofError(problemOf(error));
  }
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > maxJtiLength) throw dpopProofError('jti');
  if (htm !== options.method) throw dpopProofError('htm');
  const urls = typeof options.url === 'string' ? [options.url] : options.url;
  if (typeof htu !== 'string' || !urls.some((url) => sameTarget(htu, url))) throw dpopProofError('htu');
  const nowSeconds = options.now / 1000;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw dpopProofError('iat');
  if (iat > nowSeconds + (options.clockSkew ?? 5) || iat < nowSeconds - (options.maxAge ?? 60)) {
    throw dpopProofError('iat', 'The DPoP proof was not made just now. Make a new one for each request.');
  }
  if (options.accessToken !== undefined && ath !== accessTokenHash(options.accessToken)) throw dpopProofError('ath');
  if (nonce !== undefined && typeof nonce !== 'string') throw dpopProofError('nonce');
  if (options.acceptsNonce && !options.acceptsNonce(nonce)) throw dpopProofError('nonce', 'Make the DPoP proof again with the nonce in the DPoP-Nonce header.');
  if (options.boundTo !== undefined && jkt !== options.boundTo)
    throw dpopProofError('key_mismatch', 'The DPoP proof is signed by another key than the one this session is bound to.');
  return { jkt, jti, iat };
}

/**
 * `ath`: the base64url SHA-256 of an access token (RFC 9449 §4.2). Hashed on the calling thread:
 * as a WebCrypto job the digest of a few hundred bytes cost as much main-thread time as the proof's
 * signature check (~65 µs per request under load, profiled), node:crypto's one-shot hash ~2 µs.
 */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/** Whether `jkt` has the form of a SHA-256 JWK thumbprint (43 base64url characters). */
export function isJwkThumbprint(jkt: unknown): jkt is string {
  return typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt);
}

/** The header's `jwk` and `alg`, refused before any import when the key is not a public one or the `alg` not an asymmetric one. */
function publicKeyOf(proof: string): { jwk: JWK; alg: string } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw dpopProofError('malformed');
  }
  const { jwk, alg } = header;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw dpopProofError('jwk', 'The DPoP proof must carry its public key in the jwk header.');
  if (secretMembers.some((member) => Object.hasOwn(jwk, member))) throw dpopProofError('jwk', 'The jwk header of a DPoP proof must be a public key.');
  if (typeof alg !== 'string' || !(dpopSigningAlgorithms as readonly string[]).includes(alg)) throw dpopProofError('alg');
  return { jwk, alg };
}

/** Distinct proof keys kept imported (a device signs every proof with one key); the oldest is forgotten first. */
const importedKeysLimit = 1_000;
const importedKeys = new Map<string, Promise<{ key: CryptoKey | Uint8Array; jkt: string }>>();

/**
 * The proof's public key, imported for `alg`, and its RFC 7638 thumbprint: done once per distinct key
 * and `alg`, not per proof (an import and a hash cost about three signature checks). A key that cannot
 * be imported is not kept.
 */
function importedKeyOf(jwk: JWK, alg: string): Promise<{ key: CryptoKey | Uint8Array; jkt: string }> {
  const cacheKey = `${alg} ${JSON.stringify(jwk)}`;
  const known = importedKeys.get(cacheKey);
  if (known) return known;
  const imported = (async () => {
    const key = await importJWK({ ...jwk, ext: true }, alg);
    if (key instanceof Uint8Array || key.type !== 'public') throw new joseErrors.JWSInvalid('the jwk header must be a public key');
    return { key, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
  })();
  if (importedKeys.size >= importedKeysLimit) importedKeys.delete(importedKeys.keys().next().value!);
  importedKeys.set(cacheKey, imported);
  imported.catch(() => importedKeys.delete(cacheKey));
  return imported;
}

function problemOf(error: unknown): DpopProofProblem {
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'alg';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof joseErrors.JWTClaimValidationFailed && (error.claim === 'typ' || error.claim === 'iat')) return error.claim;
  if (error instanceof joseErrors.JWSInvalid && /jwk/i.test(error.message)) return 'jwk';
  // A key that does not fit its alg, a header jose cannot use, claims that are not JSON.
  return 'malformed';
}

/** `htu` against the request's URL, both without query and fragment, scheme and host case-insensitive. */
function sameTarget(htu: string, url: string): boolean {
  const target = (text: string) => {
    const parsed = new URL(text);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  };
  try {
    return target(htu) === target(url);
  } catch {
    return false;
  }
}
