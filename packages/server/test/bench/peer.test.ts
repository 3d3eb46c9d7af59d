import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcProviderPeer, peerClientId, peerIssuer, peerResource, peerScope } from '../../../../bench/peer-protocol.js';

// The peer `npm run bench -- --peers` measures Tessera against: it must do the work it is compared on
// (rotate the refresh token, sign an ES256 JWT access token, refuse a spent token), or its rate means nothing.

let peer: OidcProviderPeer;
let refreshTokens: string[];
let accessTokens: string[];

beforeAll(async () => {
  peer = await OidcProviderPeer.start();
  ({ refreshTokens, accessTokens } = await peer.seed(2, 1));
});

afterAll(async () => {
  await peer?.close();
});

/** A refresh_token grant as the bench's load generator sends it: a public client, no secret. */
async function refresh(refreshToken: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${peer.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: peerClientId, refresh_token: refreshToken }),
  });
  return { status: response.status, body: await response.json() };
}

describe('the oidc-provider peer of the bench', () => {
  it('rotates a seeded refresh token, answers an ES256 JWT access token and refuses the spent token', async () => {
    expect(refreshTokens).toHaveLength(2);
    const [first, second] = refreshTokens as [string, string];

    const rotated = await refresh(first);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).toEqual(expect.any(String));
    expect(rotated.body.refresh_token).not.toBe(first);
    expect(rotated.body.id_token).toBeUndefined();

    const accessToken: string = rotated.body.access_token;
    expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const keys = createRemoteJWKSet(new URL(`${peer.url}/jwks`));
    const { payload } = await jwtVerify(accessToken, keys, { algorithms: ['ES256'], issuer: peerIssuer, audience: peerResource, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'bench-refresh-0', client_id: peerClientId, scope: peerScope });

    const reused = await refresh(first);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');

    // The other seeded session is untouched by that reuse and rotates too.
    const other = await refresh(second);
    expect(other.status).toBe(200);
    expect(other.body.refresh_token).not.toBe(second);

    expect(await peer.counters()).toEqual({ refreshed: 2, refused: 1 });
  });

  it('answers userinfo for a seeded opaque access token (the whoami it is compared on)', async () => {
    const response = await fetch(`${peer.url}/me`, { headers: { authorization: `Bearer ${accessTokens[0]}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sub: 'bench-whoami-0' });

    const unknown = await fetch(`${peer.url}/me`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(unknown.status).toBe(401);
  });
});
