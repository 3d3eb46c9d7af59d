/** One DPoP proof (RFC 9449 §4.2): a compact JWS, `typ: dpop+jwt`, ES256, the public key in its header. */
import { encodeBase64Url } from './base64url.js';
import type { DpopKey } from './dpop-key.js';

/** What a proof says about the request it goes with. */
export interface DpopProofClaims {
  /** The request's method, as sent (`POST`). */
  readonly method: string;
  /** The request's absolute URL; its query and fragment are left out of `htu`. */
  readonly url: string;
  /** Epoch milliseconds on the server's clock (its estimate): `iat`, in seconds. */
  readonly issuedAt: number;
  /** The access token the request carries: its hash goes in `ath`. */
  readonly accessToken?: string;
  /** The server's latest `DPoP-Nonce`. */
  readonly nonce?: string;
}

/** Signs a proof for one request with `key`; a new random `jti` (128 bits) each time. */
export async function signDpopProof(key: DpopKey, claims: DpopProofClaims): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk };
  const payload = {
    jti: encodeBase64Url(crypto.getRandomValues(new Uint8Array(16))),
    htm: claims.method,
    htu: proofTarget(claims.url),
    iat: Math.floor(claims.issuedAt / 1000),
    ...(claims.accessToken === undefined ? {} : { ath: await accessTokenHash(claims.accessToken) }),
    ...(claims.nonce === undefined ? {} : { nonce: claims.nonce }),
  };
  const signingInput = `${encodeBase64Url(JSON.stringify(header))}.${encodeBase64Url(JSON.stringify(payload))}`;
  // Web Crypto's ECDSA signature is r‖s, 32 bytes each: the form JWS wants (not DER).
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(signingInput));
  return `${signingInput}.${encodeBase64Url(signature)}`;
}

/** `ath`: the base64url SHA-256 of an access token. */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return encodeBase64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
}

/** `htu`: the URL without query and fragment (RFC 9449 §4.2); a `ws:`/`wss:` URL as `http:`/`https:`. */
export function proofTarget(url: string): string {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'ws:' ? 'http:' : parsed.protocol === 'wss:' ? 'https:' : parsed.protocol;
  return `${protocol}//${parsed.host}${parsed.pathname}`;
}
