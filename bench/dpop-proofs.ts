/**
 * DPoP proofs (RFC 9449) as a device makes them, signed synchronously with node:crypto so the load
 * generator can make them in bulk before a job, or one at a time inside autocannon's `setupRequest`.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject, randomBytes, sign } from 'node:crypto';

/** A device's ES256 key: the private JWK travels to the load generator, the thumbprint binds the sessions. */
export interface DpopDeviceKey {
  readonly privateJwk: JsonWebKey;
  /** RFC 7638 SHA-256 thumbprint of the public key (`dpop_jkt`). */
  readonly jkt: string;
}

export function dpopDeviceKey(): DpopDeviceKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return { privateJwk: privateKey.export({ format: 'jwk' }), jkt };
}

/** `ath`: base64url SHA-256 of the access token. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

export interface ProofClaims {
  readonly htm: string;
  readonly htu: string;
  readonly ath?: string;
}

/** Signs proofs with one key; each has a jti of its own and `iat` of the moment it is made. */
export class DpopProofSigner {
  readonly #key: KeyObject;
  readonly #header: string;
  /** Random per signer, then a counter: unique across jobs and runs without a CSPRNG call per proof. */
  readonly #jtiPrefix = randomBytes(9).toString('base64url');
  #count = 0;

  constructor(privateJwk: JsonWebKey) {
    this.#key = createPrivateKey({ key: privateJwk, format: 'jwk' });
    const { crv, kty, x, y } = privateJwk;
    this.#header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } })).toString('base64url');
  }

  proof(claims: ProofClaims): string {
    const payload = {
      jti: `${this.#jtiPrefix}.${this.#count++}`,
      htm: claims.htm,
      htu: claims.htu,
      iat: Math.floor(Date.now() / 1000),
      ...(claims.ath ? { ath: claims.ath } : {}),
    };
    const input = `${this.#header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}
