import { KeyObject, sign } from 'node:crypto';
import type { CryptoKey } from 'jose';

/**
 * The parts of a JWT's compact JWS (RFC 7515 §7.1), ES256 or EdDSA, signed with node:crypto. jose
 * signs through WebCrypto: on this project's 2-core bench machine that costs ~150 µs of CPU per
 * ES256 token (promise jobs, algorithm normalisation, a threadpool hop), node:crypto's one-shot
 * `sign` ~40 µs. Refresh and sign-in sign one token each, so the difference is a large share of a
 * refresh. `JwsSigner` (signing-thread.ts) puts them together; tokens are verified by jose
 * (`checkAccessToken`) as before.
 */
export function signingInputOf(header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
}

export function signatureOf(alg: string, signingInput: string, key: KeyObject): Buffer {
  const data = Buffer.from(signingInput, 'utf8');
  // JWS wants the raw r || s of ECDSA (IEEE P1363), not DER.
  if (alg === 'ES256') return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA') return sign(null, data, key);
  throw new Error(`signatureOf: unsupported alg ${alg}`);
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The node:crypto key behind a WebCrypto key, remembered per key (the conversion copies it). */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

export function keyObjectOf(key: CryptoKey): KeyObject {
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = KeyObject.from(key as unknown as globalThis.CryptoKey);
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}
