// The DPoP proof check (RFC 9449 §4.3) that the server and the verifier share: real keys, real
// signatures (jose signs the proofs a client would), and every way a proof can be forged or misused.
import fc from 'fast-check';
import { base64url, type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash, authenticateChallenges, checkDpopProof, type DpopProofCheckOptions, dpopSigningAlgorithms, isJwkThumbprint } from '../src/core.js';
import { TesseraError } from '../src/errors.js';

const now = Date.UTC(2026, 11, 2, 12, 0, 0);
const url = 'https://auth.example.com/v1/session/refresh';
const request: DpopProofCheckOptions = { method: 'POST', url, now };

interface Device {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly privateJwk: JWK;
  readonly jkt: string;
}
let device: Device;
let other: Device;

async function newDevice(alg = 'ES256'): Promise<Device> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

beforeAll(async () => {
  device = await newDevice();
  other = await newDevice();
});

/** A proof as a client makes it; `claims` and `header` override what it would put. */
async function proof(options: { claims?: Record<string, unknown>; header?: Record<string, unknown>; by?: Device; alg?: string } = {}): Promise<string> {
  const by = options.by ?? device;
  const claims = { jti: crypto.randomUUID(), htm: 'POST', htu: url, iat: Math.floor(now / 1000), ...options.claims };
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'ES256', typ: 'dpop+jwt', jwk: by.jwk, ...options.header }).sign(by.privateKey);
}

/** A JWS with this header and payload and a signature that is not one. */
function forged(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(claims)}.${base64url.encode('not a signature')}`;
}

async function reasonOf(check: Promise<unknown>): Promise<string> {
  const error = await check.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TesseraError);
  expect((error as TesseraError).code).toBe('dpop_proof_invalid');
  return ((error as TesseraError).details[0] as { reason: string }).reason;
}

describe('a good proof', () => {
  it("passes, and gives its key's RFC 7638 thumbprint, jti and iat", async () => {
    const jti = 'proof-1';
    const checked = await checkDpopProof(await proof({ claims: { jti } }), request);
    expect(checked).toEqual({ jkt: device.jkt, jti, iat: Math.floor(now / 1000) });
    expect(isJwkThumbprint(checked.jkt)).toBe(true);
  });

  it('is judged without its query and fragment, with the host in any case', async () => {
    const checked = await checkDpopProof(await proof({ claims: { htu: 'https://AUTH.example.com/v1/session/refresh' } }), {
      ...request,
      url: `${url}?from=tab#x`,
    });
    expect(checked.jkt).toBe(device.jkt);
  });

  it('names any one of the URLs a request may have been sent to (a proxy in front), with one signature check', async () => {
    const behindProxy = 'https://app.example.com/auth/v1/session/refresh';
    const urls = [url, behindProxy];
    for (const htu of urls) expect((await checkDpopProof(await proof({ claims: { htu } }), { ...request, url: urls })).jkt).toBe(device.jkt);
    const elsewhere = await proof({ claims: { htu: 'https://app.example.com/v1/other' } });
    expect(await reasonOf(checkDpopProof(elsewhere, { ...request, url: urls }))).toBe('htu');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { htu: behindProxy } }), { ...request, url: [] }))).toBe('htu');
    // The signature is checked before htu: a forgery naming the second URL fails as a forgery, once.
    const forgery = forged({ alg: 'ES256', typ: 'dpop+jwt', jwk: device.jwk }, { jti: 'f', htm: 'POST', htu: behindProxy, iat: Math.floor(now / 1000) });
    expect(await reasonOf(checkDpopProof(forgery, { ...request, url: urls }))).toBe('signature');
  });

  it('passes bound to its own key, with the access token it was made for, and with an accepted nonce', async () => {
    const accessToken = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    const made = await proof({ claims: { ath: await accessTokenHash(accessToken), nonce: 'n-1' } });
    await expect(checkDpopProof(made, { ...request, boundTo: device.jkt, accessToken, acceptsNonce: (nonce) => nonce === 'n-1' })).resolves.toMatchObject({
      jkt: device.jkt,
    });
  });

  it('may be signed with another asymmetric algorithm (EdDSA, PS256)', async () => {
    for (const alg of ['EdDSA', 'PS256']) {
      const by = await newDevice(alg);
      await expect(checkDpopProof(await proof({ by, alg }), request)).resolves.toMatchObject({ jkt: by.jkt });
    }
  });

  it('takes an iat a few seconds ahead (a fast device clock) and up to a minute old', async () => {
    await expect(checkDpopProof(await proof({ claims: { iat: now / 1000 + 4 } }), request)).resolves.toBeDefined();
    await expect(checkDpopProof(await proof({ claims: { iat: now / 1000 - 59 } }), request)).resolves.toBeDefined();
  });
});

describe('a proof that does not hold is dpop_proof_invalid, with the reason', () => {
  it('no proof at all', async () => {
    expect(await reasonOf(checkDpopProof(undefined, request))).toBe('missing');
    expect(await reasonOf(checkDpopProof('', request))).toBe('missing');
  });

  it('not a compact JWS, or one too large to be a proof', async () => {
    for (const text of ['x', 'a.b', 'a.b.c.d', `${'a'.repeat(9000)}.b.c`, 'a.b.c']) {
      expect(await reasonOf(checkDpopProof(text, request))).toBe('malformed');
    }
  });

  it('alg none, and HMAC with the key in the header (a shared secret is no proof of a device)', async () => {
    const claims = { jti: 'j', htm: 'POST', htu: url, iat: now / 1000 };
    expect(await reasonOf(checkDpopProof(forged({ alg: 'none', typ: 'dpop+jwt', jwk: device.jwk }, claims), request))).toBe('alg');
    expect(await reasonOf(checkDpopProof(forged({ alg: 'HS256', typ: 'dpop+jwt', jwk: device.jwk }, claims), request))).toBe('alg');
    const secret = { kty: 'oct', k: base64url.encode('a shared secret that is 32 bytes') };
    expect(await reasonOf(checkDpopProof(forged({ alg: 'HS256', typ: 'dpop+jwt', jwk: secret }, claims), request))).toBe('jwk');
  });

  it('RS256 over an EC key (algorithm confusion)', async () => {
    const claims = { jti: 'j', htm: 'POST', htu: url, iat: now / 1000 };
    expect(await reasonOf(checkDpopProof(forged({ alg: 'RS256', typ: 'dpop+jwt', jwk: device.jwk }, claims), request))).toBe('malformed');
  });

  it('a private key in the header, even with a good signature', async () => {
    expect(await reasonOf(checkDpopProof(await proof({ header: { jwk: device.privateJwk } }), request))).toBe('jwk');
  });

  it('no key in the header, or not an object', async () => {
    expect(await reasonOf(checkDpopProof(await proof({ header: { jwk: undefined } }), request))).toBe('jwk');
    expect(await reasonOf(checkDpopProof(forged({ alg: 'ES256', typ: 'dpop+jwt', jwk: 'key' }, { jti: 'j' }), request))).toBe('jwk');
  });

  it('signed by another key than the one in its header, or altered after signing', async () => {
    const theirs = await proof({ by: other, header: { jwk: device.jwk } });
    expect(await reasonOf(checkDpopProof(theirs, request))).toBe('signature');
    const [header, , signature] = (await proof()).split('.');
    const altered = base64url.encode(JSON.stringify({ jti: 'j', htm: 'POST', htu: url, iat: now / 1000 }));
    expect(await reasonOf(checkDpopProof(`${header}.${altered}.${signature}`, request))).toBe('signature');
  });

  it('another typ: an access token is not a proof', async () => {
    expect(await reasonOf(checkDpopProof(await proof({ header: { typ: 'at+jwt' } }), request))).toBe('typ');
    expect(await reasonOf(checkDpopProof(await proof({ header: { typ: undefined } }), request))).toBe('typ');
  });

  it('another method or URL than this request', async () => {
    expect(await reasonOf(checkDpopProof(await proof({ claims: { htm: 'GET' } }), request))).toBe('htm');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { htu: 'https://app.example.com/v1/session/refresh' } }), request))).toBe('htu');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { htu: 'https://auth.example.com/v1/session/whoami' } }), request))).toBe('htu');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { htu: 'not a url' } }), request))).toBe('htu');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { htu: undefined } }), request))).toBe('htu');
  });

  it('an iat more than a minute old, ahead by more than the skew, or not a number', async () => {
    expect(await reasonOf(checkDpopProof(await proof({ claims: { iat: now / 1000 - 61 } }), request))).toBe('iat');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { iat: now / 1000 + 6 } }), request))).toBe('iat');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { iat: String(now / 1000) } }), request))).toBe('iat');
  });

  it('no jti, or one too long to keep', async () => {
    expect(await reasonOf(checkDpopProof(await proof({ claims: { jti: undefined } }), request))).toBe('jti');
    expect(await reasonOf(checkDpopProof(await proof({ claims: { jti: 'j'.repeat(257) } }), request))).toBe('jti');
  });

  it('made for another access token, or without one when the token needs it', async () => {
    const accessToken = 'the.access.token';
    expect(await reasonOf(checkDpopProof(await proof({ claims: { ath: await accessTokenHash('another.access.token') } }), { ...request, accessToken }))).toBe(
      'ath',
    );
    expect(await reasonOf(checkDpopProof(await proof(), { ...request, accessToken }))).toBe('ath');
  });

  it('a nonce the server did not give, or none when one is asked for', async () => {
    const acceptsNonce = (nonce: string | undefined) => nonce === 'fresh';
    expect(await reasonOf(checkDpopProof(await proof({ claims: { nonce: 'stale' } }), { ...request, acceptsNonce }))).toBe('nonce');
    expect(await reasonOf(checkDpopProof(await proof(), { ...request, acceptsNonce }))).toBe('nonce');
  });

  it('challenges a missing nonce with use_dpop_nonce (RFC 9449 §9) and any other fault with invalid_dpop_proof', async () => {
    const algs = `algs="${dpopSigningAlgorithms.join(' ')}"`;
    const acceptsNonce = () => false;
    const nonce = await checkDpopProof(await proof(), { ...request, acceptsNonce }).catch((error: TesseraError) => error);
    expect(authenticateChallenges(nonce as TesseraError)).toBe(`Bearer error="invalid_token", DPoP error="use_dpop_nonce", ${algs}`);
    const htm = await checkDpopProof(await proof(), { ...request, method: 'GET' }).catch((error: TesseraError) => error);
    expect(authenticateChallenges(htm as TesseraError)).toBe(`Bearer error="invalid_token", DPoP error="invalid_dpop_proof", ${algs}`);
    expect(authenticateChallenges(new TesseraError('token_expired'))).toBe('Bearer error="invalid_token"');
  });

  it("signed by a key other than the session's", async () => {
    expect(await reasonOf(checkDpopProof(await proof({ by: other }), { ...request, boundTo: device.jkt }))).toBe('key_mismatch');
  });

  it('whatever the text, the check answers dpop_proof_invalid and nothing else', async () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.tuple(fc.string(), fc.string(), fc.string()).map((parts) => parts.map((part) => base64url.encode(part)).join('.')),
      fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([header, claims]) => forged(header as Record<string, unknown>, claims as Record<string, unknown>)),
    );
    await fc.assert(
      fc.asyncProperty(anyText, async (text) => {
        const outcome = await checkDpopProof(text, request).then(
          () => 'passed',
          (error: unknown) => (error instanceof TesseraError ? error.code : String(error)),
        );
        expect(outcome).toBe('dpop_proof_invalid');
      }),
      { numRuns: 300 },
    );
  });
});
