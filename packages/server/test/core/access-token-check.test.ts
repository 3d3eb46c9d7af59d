import { createVerifier, type Verifier } from '@tessera/verifier';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/core/access-tokens.js';
import { TesseraError } from '../../src/core/errors.js';
import type { SigningKeys } from '../../src/core/signing-keys.js';
import { type HostileContext, hostileTokens } from '../fixtures/hostile-tokens.js';
import { call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

/**
 * The server's core and the offline verifier call one function to verify an access token: fed the
 * same tokens, and the same failures that are not about the token, they must answer the same code.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

/** The server's own entry point, over `keys` (the real signing keys unless a test breaks them). */
function serverTokens(keys: SigningKeys = server.tessera.signingKeys): AccessTokens {
  const { issuer, clock, config } = server.tessera;
  return new AccessTokens({ keys, clock, issuer, audience: config.audience, clientId: config.clientId });
}

/** The offline verifier against this server's JWKS (or what `fetch` answers), judging expiry as the server does. */
function verifier(fetchJwks?: (url: string, init: RequestInit) => Promise<Response>): Verifier {
  const { issuer, config } = server.tessera;
  return createVerifier({
    issuer,
    audience: config.audience,
    clockTolerance: 0,
    clock: server.clock,
    jwksCooldown: 0,
    fetch: fetchJwks ?? ((url, init) => fetch(url.replace(issuer, server.url), init)),
  });
}

/** The code a verification ended with, or `valid`. */
async function outcome(verify: Promise<unknown>): Promise<string> {
  try {
    await verify;
    return 'valid';
  } catch (error) {
    return error instanceof Error && 'code' in error ? String(error.code) : `not a TesseraError: ${String(error)}`;
  }
}

async function hostileContext(): Promise<HostileContext> {
  const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, headers: { authorization: `Bearer ${testApiKey}` } });
  const serverKey = await server.tessera.signingKeys.currentKey();
  const jwks = await send(`${server.url}/.well-known/jwks.json`);
  const publicJwk = (jwks.body.keys as JWK[]).find((key) => key.kid === serverKey.kid)!;
  return { server, accessToken: created.body.access_token as string, serverKey, publicJwk };
}

describe('one access-token check for the server and the verifier', () => {
  // Bearer-scheme tricks are about the header, not the token; neither entry point sees them.
  const tokens = hostileTokens.filter((hostile) => hostile.scheme === undefined && hostile.expect !== 'token_missing');

  it.each(tokens)('hostile: $name', async (hostile) => {
    const token = await hostile.make(await hostileContext());
    const fromServer = await outcome(serverTokens().verify(token));
    const fromVerifier = await outcome(verifier().verify(token));
    expect(fromVerifier).toBe(fromServer);
    // Offline, a genuine token of an unknown session is valid; the session lookup is not this function's.
    if (hostile.expect === 'token_invalid' || hostile.expect === 'token_expired') expect(fromServer).toBe(hostile.expect);
  });

  it('keys that cannot be read are service_unavailable on both, not a reason to sign anyone out', async () => {
    const { accessToken } = await hostileContext();
    const storeDown = {
      verificationKey: async () => {
        throw new TesseraError('service_unavailable', { retryAfter: 1 });
      },
      stillVerifies: () => false,
    } as unknown as SigningKeys;
    const jwksDown = () => Promise.reject(new TypeError('fetch failed'));
    expect(await outcome(serverTokens(storeDown).verify(accessToken))).toBe('service_unavailable');
    expect(await outcome(verifier(jwksDown).verify(accessToken))).toBe('service_unavailable');
  });

  it('a key that does not fit the algorithm is token_invalid on both, not a 500', async () => {
    // jose throws a TypeError, not a JOSE error, when the key found for the kid cannot verify ES256.
    const { accessToken, serverKey } = await hostileContext();
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const wrongKind = { verificationKey: async () => rsa.publicKey, stillVerifies: () => false } as unknown as SigningKeys;
    const rsaJwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: serverKey.kid, use: 'sig' }] };
    const servesRsa = async () => Response.json(rsaJwks);
    expect(await outcome(serverTokens(wrongKind).verify(accessToken))).toBe('token_invalid');
    expect(await outcome(verifier(servesRsa).verify(accessToken))).toBe('token_invalid');
  });

  it('an RS256 token under the server kid is token_invalid on both', async () => {
    const { accessToken, serverKey } = await hostileContext();
    const rsa = await generateKeyPair('RS256');
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: serverKey.kid }).sign(rsa.privateKey);
    expect(await outcome(serverTokens().verify(token))).toBe('token_invalid');
    expect(await outcome(verifier().verify(token))).toBe('token_invalid');
  });
});
