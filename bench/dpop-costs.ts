/**
 * What a DPoP request must cost the server at least, part by part, with no HTTP: the verifier's
 * proof check (`checkDpopProof`: the embedded key's import, one ES256 verify, the thumbprint, and
 * `ath` for a token's proof), two of its parts alone (the key's import and one SHA-256 digest,
 * through WebCrypto as jose and the verifier make them), and taking the proof's jti in the SQLite store.
 */
import { join } from 'node:path';
import { checkDpopProof } from '@tessera/verifier/core';
import { importJWK } from 'jose';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import { accessTokenHash, type DpopDeviceKey, DpopProofSigner } from './dpop-proofs.js';
import { opsPerSecond } from './raw.js';

export interface DpopRawCosts {
  /** `checkDpopProof` of a refresh's proof (bound key), CPU µs per proof. */
  readonly refreshProofCpuUs: number;
  /** The same with `ath` (the access token's hash), as whoami checks it. */
  readonly tokenProofCpuUs: number;
  /** jose's `importJWK` of the proof's public key (what `EmbeddedJWK` does for every proof), CPU µs. */
  readonly keyImportCpuUs: number;
  /** One `crypto.subtle.digest('SHA-256')` of a thumbprint's input (the check makes one, two with `ath`), CPU µs. */
  readonly digestCpuUs: number;
  /** `rememberDpopProof` on a SQLite store of its own (one autocommit INSERT), CPU µs per jti. */
  readonly jtiInsertCpuUs: number;
}

const htu = 'http://127.0.0.1:1/v1/token/refresh';

export async function dpopRawCosts(dir: string, key: DpopDeviceKey, accessToken: string, seconds: number, concurrency: number): Promise<DpopRawCosts> {
  const signer = new DpopProofSigner(key.privateJwk);
  // Proofs are signed before timing: only the server's side is measured.
  const proofs = (claims: { htm: string; ath?: string }) => Array.from({ length: 4096 }, () => signer.proof({ ...claims, htu }));
  const refreshProofs = proofs({ htm: 'POST' });
  const tokenProofs = proofs({ htm: 'GET', ath: accessTokenHash(accessToken) });
  const check = (proof: string, withToken: boolean) =>
    checkDpopProof(proof, { method: withToken ? 'GET' : 'POST', url: htu, now: Date.now(), boundTo: key.jkt, ...(withToken ? { accessToken } : {}) });
  await Promise.all(refreshProofs.slice(0, concurrency).map((proof) => check(proof, false)));
  const refreshProof = await opsPerSecond(seconds, concurrency, (i) => check(refreshProofs[i % refreshProofs.length]!, false));
  const tokenProof = await opsPerSecond(seconds, concurrency, (i) => check(tokenProofs[i % tokenProofs.length]!, true));
  const { crv, kty, x, y } = key.privateJwk;
  const keyImport = await opsPerSecond(seconds, concurrency, () => importJWK({ crv, kty, x, y }, 'ES256'));
  const thumbprintInput = new TextEncoder().encode(JSON.stringify({ crv, kty, x, y }));
  const digest = await opsPerSecond(seconds, concurrency, () => crypto.subtle.digest('SHA-256', thumbprintInput));

  const store = new SqliteSessionStore(join(dir, 'dpop-jti.db'));
  try {
    const staleAt = Date.now() + 65_000;
    let taken = 0;
    const take = async () => {
      if (!(await store.rememberDpopProof(`raw-jti-${taken++}`, staleAt))) throw new Error('raw jti: taken twice');
    };
    const jtiInsert = await opsPerSecond(seconds, concurrency, take);
    return {
      refreshProofCpuUs: refreshProof.cpuUs,
      tokenProofCpuUs: tokenProof.cpuUs,
      keyImportCpuUs: keyImport.cpuUs,
      digestCpuUs: digest.cpuUs,
      jtiInsertCpuUs: jtiInsert.cpuUs,
    };
  } finally {
    await store.close();
  }
}
