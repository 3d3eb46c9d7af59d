import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, customFetch as joseCustomFetch, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

/** A client nobody here wrote, against a running server. Its issuer is http://tessera.test; fetches are pointed at the socket. */
const issuer = new URL('http://tessera.test');
const confidentialSecret = 'backend-secret-with-enough-entropy-0123456789';

let server: TestServer;
let as: oauth.AuthorizationServer;

function toSocket(url: URL | string): string {
  return String(url).replace('http://tessera.test', server.url);
}

const requestOptions = () => ({
  [oauth.allowInsecureRequests]: true,
  [oauth.customFetch]: (url: string, init: RequestInit) => fetch(toSocket(url), init),
});

const publicClient: oauth.Client = { client_id: 'tessera-web' };
const confidentialClient: oauth.Client = { client_id: 'backend' };

async function createSession(flow = 'default') {
  const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice', flow }, token: testApiKey });
  expect(created.status, created.text).toBe(201);
  return created.body as { access_token: string; refresh_token: string; session: { id: string } };
}

async function refresh(refreshToken: string, client = publicClient, auth = oauth.None()) {
  const response = await oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, requestOptions());
  return oauth.processRefreshTokenResponse(as, client, response);
}

async function sessionStatus(id: string) {
  return (await call(`${server.url}/v1/sessions/${id}`, { token: testApiKey })).body;
}

beforeAll(async () => {
  server = await startServer({
    config: {
      oauth: { clients: [{ client_id: 'backend', client_secret_sha256: createHash('sha256').update(confidentialSecret).digest('hex') }] },
      // Sessions bound to the client's DPoP key (RFC 9449) from their first refresh, proofs with the server's nonce.
      flows: { device: { dpop: 'required' } },
      dpop_nonce: true,
    },
  });
  const response = await oauth.discoveryRequest(issuer, { ...requestOptions(), algorithm: 'oauth2' });
  as = await oauth.processDiscoveryResponse(issuer, response);
});

afterAll(async () => {
  await server.close();
});

describe('oauth4webapi with DPoP against Tessera (RFC 9449)', () => {
  it('reads dpop_signing_alg_values_supported from the metadata', () => {
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
  });

  it('refreshes with its own proofs: the session binds to its key, the DPoP token works at /v1/session with a proof and not without', async () => {
    const created = await createSession('device');
    const keyPair = await oauth.generateKeyPair('ES256');
    // The server runs on a test clock: the client's proofs are dated by it (oauth4webapi's clock skew).
    const dpopClient: oauth.Client = { ...publicClient, [oauth.clockSkew]: Math.round((server.clock.now() - Date.now()) / 1000) };
    const DPoP = oauth.DPoP(dpopClient, keyPair);
    // The first proof has no nonce: use_dpop_nonce, and the handle keeps the one the answer names (RFC 9449 §8).
    const grant = async () =>
      oauth.processRefreshTokenResponse(
        as,
        publicClient,
        await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), created.refresh_token, { ...requestOptions(), DPoP }),
      );
    const nonceError = await grant().catch((error: unknown) => error);
    expect(oauth.isDPoPNonceError(nonceError)).toBe(true);
    const tokens = await grant();
    expect(tokens.token_type).toBe('dpop');
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt: string } };
    expect(claims.cnf?.jkt).toBe(await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)));

    const whoami = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('http://tessera.test/v1/session'), new Headers(), null, {
      [oauth.allowInsecureRequests]: true,
      [oauth.customFetch]: (url, init) => fetch(toSocket(url), init as RequestInit),
      DPoP,
    });
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { session: { id: string } }).session.id).toBe(created.session.id);
    expect((await call(`${server.url}/v1/session`, { token: tokens.access_token })).body.error).toBe('dpop_proof_invalid');
    // A handle that holds no nonce yet meets /v1/session's challenge, use_dpop_nonce (RFC 9449 §9),
    // keeps the nonce the answer names and gets through with it.
    const fresh = oauth.DPoP(dpopClient, keyPair);
    const whoamiFresh = () =>
      oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('http://tessera.test/v1/session'), new Headers(), null, {
        [oauth.allowInsecureRequests]: true,
        [oauth.customFetch]: (url, init) => fetch(toSocket(url), init as RequestInit),
        DPoP: fresh,
      });
    expect(oauth.isDPoPNonceError(await whoamiFresh().catch((error: unknown) => error))).toBe(true);
    expect((await whoamiFresh()).status).toBe(200);

    // The next refresh needs a proof of the same key: another client's key is refused in RFC 6749 form.
    const other = oauth.DPoP(dpopClient, await oauth.generateKeyPair('ES256'));
    const withOther = () => oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), tokens.refresh_token!, { ...requestOptions(), DPoP: other });
    // Its handle learns the nonce from the first answer; the second, with it, meets the key check.
    expect(await (await withOther()).json()).toMatchObject({ error: 'use_dpop_nonce' });
    const refused = await withOther();
    // RFC 6749 §5.2 (RFC 9449 §5): a bad proof at the token endpoint is 400.
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_dpop_proof', tessera_error: 'dpop_proof_invalid' });
  });

  it('refuses a bound refresh token sent with no proof at all, and ends its session (dpop_misuse "revoke", the default)', async () => {
    const created = await createSession('device');
    const dpopClient: oauth.Client = { ...publicClient, [oauth.clockSkew]: Math.round((server.clock.now() - Date.now()) / 1000) };
    const DPoP = oauth.DPoP(dpopClient, await oauth.generateKeyPair('ES256'));
    const withProof = (refreshToken: string) => oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), refreshToken, { ...requestOptions(), DPoP });
    expect(await (await withProof(created.refresh_token)).json()).toMatchObject({ error: 'use_dpop_nonce' });
    const bound = await oauth.processRefreshTokenResponse(as, publicClient, await withProof(created.refresh_token));
    expect(bound.token_type).toBe('dpop');

    // The refresh token copied out and replayed as a plain bearer grant.
    const stolen = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), bound.refresh_token!, requestOptions());
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_dpop_proof', tessera_error: 'dpop_proof_invalid' });
    expect(await sessionStatus(created.session.id)).toMatchObject({ status: 'revoked', revoked_reason: 'reuse_detected' });
    // The device's own next proof no longer refreshes it.
    expect(await (await withProof(bound.refresh_token!)).json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('oauth4webapi against Tessera', () => {
  it('discovers the token, revocation and introspection endpoints and the JWKS (RFC 8414)', () => {
    expect(as).toMatchObject({
      issuer: 'http://tessera.test',
      token_endpoint: 'http://tessera.test/oauth/token',
      revocation_endpoint: 'http://tessera.test/oauth/revoke',
      introspection_endpoint: 'http://tessera.test/oauth/introspect',
      jwks_uri: 'http://tessera.test/.well-known/jwks.json',
      grant_types_supported: ['refresh_token'],
    });
    expect(as.token_endpoint_auth_methods_supported).toEqual(['none', 'client_secret_basic']);
  });

  it('refreshes as a public client; the access token works on the server and verifies with jose createRemoteJWKSet', async () => {
    const created = await createSession();
    const tokens = await refresh(created.refresh_token);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(900);
    expect(tokens.refresh_token).toMatch(/^rt_/);
    expect(tokens.refresh_token).not.toBe(created.refresh_token);

    const whoami = await call(`${server.url}/v1/session`, { token: tokens.access_token });
    expect(whoami.status).toBe(200);
    expect(whoami.body.session.id).toBe(created.session.id);

    const jwks = createRemoteJWKSet(new URL('http://tessera.test/.well-known/jwks.json'), {
      [joseCustomFetch]: (url, init) => fetch(toSocket(url), init),
    });
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: 'http://tessera.test',
      audience: 'tessera',
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(server.clock.now()),
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: 'alice', sid: created.session.id, flow: 'default', client_id: 'tessera' });
  });

  it('follows the rotation rules of /v1/token/refresh: a retry inside reuse_interval gets the same pair, later it is reuse', async () => {
    const created = await createSession();
    const first = await refresh(created.refresh_token);
    server.clock.advance(5);
    const retry = await refresh(created.refresh_token);
    expect(retry.access_token).toBe(first.access_token);
    expect(retry.refresh_token).toBe(first.refresh_token);

    server.clock.advance(10);
    const replay = await refresh(created.refresh_token).catch((error: unknown) => error);
    expect(replay).toBeInstanceOf(oauth.ResponseBodyError);
    const error = replay as oauth.ResponseBodyError;
    expect(error.status).toBe(400);
    expect(error.error).toBe('invalid_grant');
    expect(error.cause['tessera_error']).toBe('session_revoked');
    expect((error.cause['details'] as { reason: string }[])[0]!.reason).toBe('reuse_detected');
    expect((await sessionStatus(created.session.id)).revoked_reason).toBe('reuse_detected');
  });

  it('refreshes as a confidential client with HTTP Basic; a wrong secret or no secret is invalid_client', async () => {
    const created = await createSession();
    const tokens = await refresh(created.refresh_token, confidentialClient, oauth.ClientSecretBasic(confidentialSecret));
    expect(tokens.refresh_token).toMatch(/^rt_/);

    for (const auth of [oauth.ClientSecretBasic('wrong'), oauth.None()]) {
      // RFC 6749 §5.2: 401 with a Basic challenge, which oauth4webapi reports as a challenge error.
      const failed = (await refresh(tokens.refresh_token!, confidentialClient, auth).catch((error: unknown) => error)) as oauth.WWWAuthenticateChallengeError;
      expect(failed).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
      expect(failed.status).toBe(401);
      expect(failed.cause[0]!.scheme).toBe('basic');
      const body = await failed.response.json();
      expect(body).toMatchObject({ error: 'invalid_client', tessera_error: 'client_invalid' });
    }
    // The refused calls spent nothing.
    expect((await refresh(tokens.refresh_token!, confidentialClient, oauth.ClientSecretBasic(confidentialSecret))).access_token).toBeTypeOf('string');
  });

  it('revokes (RFC 7009): a refresh token or an access token ends its session; an unknown token is 200', async () => {
    const byRefresh = await createSession();
    const revoked = await oauth.revocationRequest(as, publicClient, oauth.None(), byRefresh.refresh_token, requestOptions());
    await oauth.processRevocationResponse(revoked);
    expect(await sessionStatus(byRefresh.session.id)).toMatchObject({ status: 'revoked', revoked_reason: 'logout' });
    const after = (await refresh(byRefresh.refresh_token).catch((error: unknown) => error)) as oauth.ResponseBodyError;
    expect(after.error).toBe('invalid_grant');
    expect(after.cause['tessera_error']).toBe('session_revoked');

    const byAccess = await createSession();
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, publicClient, oauth.None(), byAccess.access_token, {
        ...requestOptions(),
        additionalParameters: { token_type_hint: 'access_token' },
      }),
    );
    expect((await sessionStatus(byAccess.session.id)).status).toBe('revoked');
    expect((await call(`${server.url}/v1/session`, { token: byAccess.access_token })).body.error).toBe('session_revoked');

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, publicClient, oauth.None(), 'rt_never_issued', requestOptions()));
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, publicClient, oauth.None(), 'not.a.jwt', requestOptions()));
  });

  it('introspects (RFC 7662) with client credentials: access and refresh tokens, then active:false once revoked', async () => {
    const created = await createSession();
    const auth = oauth.ClientSecretBasic(confidentialSecret);
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(as, confidentialClient, await oauth.introspectionRequest(as, confidentialClient, auth, token, requestOptions()));

    const access = await introspect(created.access_token);
    const iat = Math.floor(server.clock.now() / 1000);
    expect(access).toMatchObject({
      active: true,
      sub: 'alice',
      sid: created.session.id,
      flow: 'default',
      client_id: 'tessera',
      token_type: 'Bearer',
      iss: 'http://tessera.test',
      aud: 'tessera',
      iat,
      exp: iat + 900,
    });
    const refreshInfo = await introspect(created.refresh_token);
    expect(refreshInfo).toMatchObject({ active: true, sub: 'alice', sid: created.session.id, token_type: 'refresh_token', iat });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, publicClient, oauth.None(), created.refresh_token, requestOptions()));
    expect(await introspect(created.access_token)).toEqual({ active: false });
    expect(await introspect(created.refresh_token)).toEqual({ active: false });
    expect(await introspect('rt_never_issued')).toEqual({ active: false });
  });

  it('introspects with the API key as a bearer; a public client may not introspect', async () => {
    const created = await createSession();
    // oauth4webapi will not send a custom Authorization header, so this one is a plain form POST.
    const withApiKey = await send(`${server.url}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: created.access_token }).toString(),
    });
    expect(withApiKey.status).toBe(200);
    expect(withApiKey.body).toMatchObject({ active: true, sid: created.session.id });

    const asPublic = await oauth.introspectionRequest(as, publicClient, oauth.None(), created.access_token, requestOptions());
    const refused = (await oauth
      .processIntrospectionResponse(as, publicClient, asPublic)
      .catch((error: unknown) => error)) as oauth.WWWAuthenticateChallengeError;
    expect(refused).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(refused.status).toBe(401);
    expect(await refused.response.json()).toMatchObject({ error: 'invalid_client', tessera_error: 'client_invalid' });
  });
});
