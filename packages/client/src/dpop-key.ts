/** The device's DPoP key (RFC 9449): an ES256 pair whose private half never leaves Web Crypto. */
import { encodeBase64Url } from './base64url.js';

/** The public key as the `jwk` header of a proof carries it: the EC members and nothing else. */
export interface DpopPublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** A key pair ready to sign proofs with, its public JWK and its RFC 7638 thumbprint worked out once. */
export interface DpopKey {
  readonly privateKey: CryptoKey;
  readonly jwk: DpopPublicJwk;
  /** The base64url SHA-256 JWK thumbprint (RFC 7638): what `cnf.jkt` and `dpop_jkt` hold. */
  readonly thumbprint: string;
}

const algorithm: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/**
 * A new ES256 pair. The private key is not extractable: page scripts (an XSS among them) can sign
 * with it while the page is open, but cannot copy it off the device. The public key always is.
 */
export async function generateDpopKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(algorithm, false, ['sign', 'verify']);
}

/** The signing key of `pair`, with its public JWK and thumbprint; a `TypeError` for a pair that is not ES256. */
export async function dpopKeyOf(pair: CryptoKeyPair): Promise<DpopKey> {
  const { publicKey, privateKey } = pair;
  const curve = (privateKey.algorithm as Partial<EcKeyAlgorithm>).namedCurve;
  if (privateKey.algorithm.name !== 'ECDSA' || curve !== 'P-256' || !privateKey.usages.includes('sign')) {
    throw new TypeError('dpop: the key pair must be ECDSA P-256 (ES256), its private key usable to sign');
  }
  const exported = await crypto.subtle.exportKey('jwk', publicKey);
  if (typeof exported.x !== 'string' || typeof exported.y !== 'string') throw new TypeError('dpop: the public key has no x and y');
  const jwk: DpopPublicJwk = { kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y };
  return { privateKey, jwk, thumbprint: await jwkThumbprint(jwk) };
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace; base64url. */
export async function jwkThumbprint(jwk: DpopPublicJwk): Promise<string> {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return encodeBase64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
}
