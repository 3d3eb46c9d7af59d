import { dpopSigningAlgorithms } from './dpop-proof.js';
import { errorEnvelope } from './error-envelope.js';
import type { TesseraError } from './errors.js';
import { newId } from './ids.js';

/** What a resource server sends for a failed verification: the server's own envelope and headers. */
export interface VerifierErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ReturnType<typeof errorEnvelope>;
}

/**
 * The challenges of a failed DPoP proof (RFC 9449 §7.1), with the algorithms a proof may be signed
 * with: a proof without the nonce the server asks for is `use_dpop_nonce` (§9), so that any DPoP
 * client knows to retry with the `DPoP-Nonce` it was sent; any other fault is `invalid_dpop_proof`.
 */
const dpopAlgs = `algs="${dpopSigningAlgorithms.join(' ')}"`;
const dpopChallenge = `DPoP error="invalid_dpop_proof", ${dpopAlgs}`;
const dpopNonceChallenge = `DPoP error="use_dpop_nonce", ${dpopAlgs}`;
const bearerChallenge = 'Bearer error="invalid_token"';

/**
 * The `WWW-Authenticate` of an error, for the server and resource servers alike: the bearer
 * challenge on every 401 (RFC 6750), and for a failed DPoP proof also DPoP's (RFC 9449 §7.1, §9).
 * Undefined for any other status.
 */
export function authenticateChallenges(error: TesseraError): string | undefined {
  if (error.status !== 401) return undefined;
  if (error.code !== 'dpop_proof_invalid') return bearerChallenge;
  return `${bearerChallenge}, ${error.details[0]?.reason === 'nonce' ? dpopNonceChallenge : dpopChallenge}`;
}

/**
 * The envelope for `error`; `doc_url` points at the issuer, where the error pages live. A 401 carries
 * `WWW-Authenticate` (`authenticateChallenges`).
 */
export function verifierErrorResponse(error: TesseraError, issuer: string, now: number, requestId = newId('req_')): VerifierErrorResponse {
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-request-id': requestId };
  const challenges = authenticateChallenges(error);
  if (challenges !== undefined) headers['www-authenticate'] = challenges;
  if (error.retryAfter !== null) headers['retry-after'] = String(error.retryAfter);
  return { status: error.status, headers, body: errorEnvelope(error, requestId, issuer.replace(/\/+$/, ''), now) };
}
