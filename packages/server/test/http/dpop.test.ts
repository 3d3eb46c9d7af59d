// Sender-constrained sessions (DPoP, RFC 9449) at the refresh endpoint, over real HTTP on a SQLite
// file, and across two nodes on one PostgreSQL: binding, refusal, the misuse policy and replays.
import { accessTokenHash } from '@tessera/verifier/core';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { buildApp } from '../../src/http/app.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTessera } from '../../src/tessera.js';
import { type Answer, call, send, startServer, type TestServer, testApiKey } from '../helpers.js';
import { openSocket, type RealtimeServer, startRealtimeServer } from '../realtime/sockets.js';
import { createTestDatabase, type TestDatabase } from '../services.js';

const config = {
  flows: {
    // Binds on the first refresh with a proof; a bound session refreshed without it is revoked.
    bind: { dpop: 'allowed' },
    // Every refresh needs a proof; a bound session refreshed without its key's proof is only refused.
    strict: { dpop: 'required', dpop_misuse: 'refuse' },
  },
};

/** A device's key pair: its public JWK, its thumbprint, and proofs signed with it. */
interface DeviceKey {
  readonly jwk: JWK;
  readonly jkt: string;
  proof(claims: { htm?: string; htu: string; iat?: number; jti?: string; ath?: string }, header?: Record<string, unknown>, nonce?: string): Promise<string>;
}

async function deviceKey(clock: ManualClock): Promise<DeviceKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    jwk,
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    proof: ({ htm = 'POST', htu, iat = Math.floor(clock.now() / 1000), jti = crypto.randomUUID(), ath }, header = {}, nonce = undefined) =>
      new SignJWT({ htm, htu, jti, ...(ath ? { ath } : {}), ...(nonce ? { nonce } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...header })
        .setIssuedAt(iat)
        .sign(privateKey),
  };
}

let server: TestServer | RealtimeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function signIn(url: string, flow: string, dpopJkt?: string): Promise<any> {
  const created = await call(`${url}/v1/sessions`, { token: testApiKey, body: { user_id: 'alice', flow, ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}) } });
  expect(created.status).toBe(201);
  return created.body;
}

function refresh(url: string, refreshToken: string, proof?: string): Promise<Answer> {
  return call(`${url}/v1/token/refresh`, { body: { refresh_token: refreshToken }, ...(proof ? { headers: { dpop: proof } } : {}) });
}

function expectProofRefused(answer: Answer, reason: string): void {
  expect(answer.status).toBe(401);
  expect(answer.body).toMatchObject({ error: 'dpop_proof_invalid', details: [{ reason }] });
  // Both challenges: the bearer one every 401 carries, and DPoP's with the algorithms a proof may use;
  // a missing or stale nonce is use_dpop_nonce (RFC 9449 §9), so any DPoP client retries with it.
  const error = reason === 'nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  expect(answer.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer error="invalid_token", DPoP error="${error}", algs="ES256 `));
}

describe('DPoP at the refresh endpoint', () => {
  it('the first refresh with a proof binds the session: its tokens carry cnf.jkt, and a refresh without the proof revokes it (reuse_detected)', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const htu = `${server.url}/v1/token/refresh`;
    const grant = await signIn(server.url, 'bind');
    expect(decodeJwt(grant.access_token).cnf).toBeUndefined();

    const bound = await refresh(server.url, grant.refresh_token, await key.proof({ htu }));
    expect(bound.status).toBe(200);
    expect(decodeJwt(bound.body.access_token).cnf).toEqual({ jkt: key.jkt });

    // Copied out of the device and replayed without the key: refused, and the session ends.
    const stolen = await refresh(server.url, bound.body.refresh_token);
    expectProofRefused(stolen, 'missing');
    const owner = await refresh(server.url, bound.body.refresh_token, await key.proof({ htu }));
    expect(owner.status).toBe(401);
    expect(owner.body).toMatchObject({ error: 'session_revoked', details: [{ reason: 'reuse_detected' }] });
    // Tried again without the key, the token meets its ended session before the proof: told why it ended.
    const again = await refresh(server.url, bound.body.refresh_token);
    expect(again.body).toMatchObject({ error: 'session_revoked', details: [{ reason: 'reuse_detected' }] });
    const audit = await call(`${server.url}/v1/audit?session_id=${grant.session.id}&type=session.reuse_detected`, { token: testApiKey });
    expect(audit.body.events).toMatchObject([{ type: 'session.reuse_detected', reason: 'reuse_detected', details: { dpop_proof: 'missing' } }]);
  });

  it('introspection tells a bound token by token_type DPoP and its key by cnf.jkt (RFC 9449 §6.2); a bearer token has neither', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const bound = await signIn(server.url, 'strict', key.jkt);
    const bearer = await signIn(server.url, 'bind');
    const introspect = async (token: string) => {
      const answer = await send(`${server!.url}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(answer.status).toBe(200);
      return answer.body as Record<string, unknown>;
    };
    expect(await introspect(bound.access_token)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
    expect(await introspect(bound.refresh_token)).toMatchObject({ active: true, token_type: 'refresh_token', cnf: { jkt: key.jkt } });
    const plain = await introspect(bearer.access_token);
    expect(plain).toMatchObject({ active: true, token_type: 'Bearer' });
    expect(plain).not.toHaveProperty('cnf');
    expect(await introspect(bearer.refresh_token)).not.toHaveProperty('cnf');
  });

  it('a session bound at sign-in (dpop_jkt) refuses a proof by another key, and with dpop_misuse "refuse" stays usable by its own', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const thief = await deviceKey(server.clock);
    const htu = `${server.url}/v1/token/refresh`;
    const grant = await signIn(server.url, 'strict', key.jkt);
    expect(decodeJwt(grant.access_token).cnf).toEqual({ jkt: key.jkt });

    expectProofRefused(await refresh(server.url, grant.refresh_token, await thief.proof({ htu })), 'key_mismatch');
    expectProofRefused(await refresh(server.url, grant.refresh_token), 'missing');
    const owner = await refresh(server.url, grant.refresh_token, await key.proof({ htu }));
    expect(owner.status).toBe(200);
    expect(decodeJwt(owner.body.access_token).cnf).toEqual({ jkt: key.jkt });
    const session = await call(`${server.url}/v1/sessions/${grant.session.id}`, { token: testApiKey });
    expect(session.body.status).toBe('active');
  });

  it('a required flow refuses an unbound refresh without a proof, and does not end the session for it', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const grant = await signIn(server.url, 'strict');
    expectProofRefused(await refresh(server.url, grant.refresh_token), 'missing');
    const bound = await refresh(server.url, grant.refresh_token, await key.proof({ htu: `${server.url}/v1/token/refresh` }));
    expect(bound.status).toBe(200);
    expect(decodeJwt(bound.body.access_token).cnf).toEqual({ jkt: key.jkt });
  });

  it('a proof is good for one request: the same proof again is refused as replayed', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const grant = await signIn(server.url, 'strict', key.jkt);
    const proof = await key.proof({ htu: `${server.url}/v1/token/refresh` });
    const first = await refresh(server.url, grant.refresh_token, proof);
    expect(first.status).toBe(200);
    expectProofRefused(await refresh(server.url, first.body.refresh_token, proof), 'replayed');
  });

  it('a retry inside the reuse interval gets the same pair only with a proof of the key', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const htu = `${server.url}/v1/token/refresh`;
    const grant = await signIn(server.url, 'strict', key.jkt);
    const first = await refresh(server.url, grant.refresh_token, await key.proof({ htu }));
    const retry = await refresh(server.url, grant.refresh_token, await key.proof({ htu }));
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    expectProofRefused(await refresh(server.url, grant.refresh_token), 'missing');
  });

  it('refuses proofs for another method, another URL, an old iat, alg none and a private key in the header, each with the envelope', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const htu = `${server.url}/v1/token/refresh`;
    const grant = await signIn(server.url, 'strict', key.jkt);
    const now = Math.floor(server.clock.now() / 1000);
    expectProofRefused(await refresh(server.url, grant.refresh_token, await key.proof({ htu, htm: 'GET' })), 'htm');
    expectProofRefused(await refresh(server.url, grant.refresh_token, await key.proof({ htu: 'https://app.example/v1/token/refresh' })), 'htu');
    expectProofRefused(await refresh(server.url, grant.refresh_token, await key.proof({ htu, iat: now - 600 })), 'iat');
    const [header, payload] = (await key.proof({ htu })).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })).toString('base64url')}.${payload}.`;
    // alg none: without a signature it is not a JWS at all; with one, its alg is refused before any key is used.
    expectProofRefused(await refresh(server.url, grant.refresh_token, unsigned), 'malformed');
    expectProofRefused(await refresh(server.url, grant.refresh_token, `${unsigned}${'A'.repeat(86)}`), 'alg');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const withPrivate = await key.proof({ htu }, { jwk: { ...key.jwk, d: (await exportJWK(privateKey)).d } });
    expectProofRefused(await refresh(server.url, grant.refresh_token, withPrivate), 'jwk');
    expect(header).toBeTruthy();
    // None of those ended the session ("refuse"), and its own key still refreshes it.
    expect((await refresh(server.url, grant.refresh_token, await key.proof({ htu }))).status).toBe(200);
  });

  it('accepts a proof that names the URL under the issuer (a proxy in front) as well as the one it was called at', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const grant = await signIn(server.url, 'strict', key.jkt);
    const viaIssuer = await refresh(server.url, grant.refresh_token, await key.proof({ htu: 'http://tessera.test/v1/token/refresh' }));
    expect(viaIssuer.status).toBe(200);
  });

  it('sign-in refuses a dpop_jkt that is not a thumbprint, or in a flow without DPoP; a flow without DPoP ignores a proof', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const malformed = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'alice', flow: 'strict', dpop_jkt: 'not a thumbprint' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: 'invalid_request', details: [{ field: 'dpop_jkt' }] });
    const off = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'alice', dpop_jkt: key.jkt } });
    expect(off.status).toBe(400);
    expect(off.body.details).toEqual([{ field: 'dpop_jkt', message: 'flow "default" has dpop "off"' }]);

    const bearer = await signIn(server.url, 'default');
    const refreshed = await refresh(server.url, bearer.refresh_token, await key.proof({ htu: `${server.url}/v1/token/refresh` }));
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token).cnf).toBeUndefined();
  });

  it('lets browsers send the DPoP header and read DPoP-Nonce cross-origin', async () => {
    server = await startServer({ config: { ...config, cors: { origins: ['https://app.example'] } } });
    const preflight = await call(`${server.url}/v1/token/refresh`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, dpop' },
    });
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/\bdpop\b/);
    // The answer itself lets the page read the nonce (and the challenge that asks for it).
    const answer = await call(`${server.url}/v1/token/refresh`, { headers: { origin: 'https://app.example' }, body: { refresh_token: 'rt_unknown' } });
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(answer.headers.get('access-control-expose-headers')?.split(/,\s*/)).toEqual(expect.arrayContaining(['dpop-nonce', 'www-authenticate']));
  });
});

describe("DPoP at Tessera's own routes and socket, for a bound access token", () => {
  it('GET /v1/session takes a bound token as "DPoP" with a proof of its key (ath included), once per proof, and refuses it as a bearer token', async () => {
    server = await startServer({ config });
    const key = await deviceKey(server.clock);
    const grant = await signIn(server.url, 'strict', key.jkt);
    const htu = `${server.url}/v1/session`;
    const ath = await accessTokenHash(grant.access_token);

    expectProofRefused(await call(htu, { token: grant.access_token }), 'missing');
    const proof = await key.proof({ htm: 'GET', htu, ath });
    const proven = await send(htu, { headers: { authorization: `DPoP ${grant.access_token}`, dpop: proof } });
    expect(proven.status).toBe(200);
    expect(proven.body.session.id).toBe(grant.session.id);
    expectProofRefused(await send(htu, { headers: { authorization: `DPoP ${grant.access_token}`, dpop: proof } }), 'replayed');
    // A proof made for another token, or with no ath at all.
    const noAth = await key.proof({ htm: 'GET', htu });
    expectProofRefused(await send(htu, { headers: { authorization: `DPoP ${grant.access_token}`, dpop: noAth } }), 'ath');
    // Another device's key cannot use the token either.
    const thief = await deviceKey(server.clock);
    const stolen = await thief.proof({ htm: 'GET', htu, ath });
    expectProofRefused(await send(htu, { headers: { authorization: `DPoP ${grant.access_token}`, dpop: stolen } }), 'key_mismatch');
  });

  it("a socket's auth needs a proof for GET and the socket's URL with a bound token; without one it closes 4401", async () => {
    const realtime = await startRealtimeServer({ config });
    server = realtime;
    const key = await deviceKey(realtime.clock);
    const grant = await signIn(realtime.url, 'strict', key.jkt);
    const ath = await accessTokenHash(grant.access_token);

    const bare = await openSocket(realtime.socketUrl);
    bare.auth(grant.access_token);
    const refused = await bare.next('error');
    expect(refused.error).toMatchObject({ error: 'dpop_proof_invalid', details: [{ reason: 'missing' }] });
    expect(await bare.closed).toMatchObject({ code: 4401, reason: 'dpop_proof_invalid' });

    const proven = await openSocket(realtime.socketUrl);
    proven.sendJson({ type: 'auth', access_token: grant.access_token, dpop: await key.proof({ htm: 'GET', htu: `${realtime.url}/v1/realtime`, ath }) });
    expect(await proven.next('ready')).toMatchObject({ session_id: grant.session.id });
    proven.ws.close();
  });
});

describe('DPoP nonces (RFC 9449 §8), with dpop_nonce on', () => {
  const withNonces = { ...config, dpop_nonce: true };

  it('a proof without the nonce is refused with the nonce to use, without ending a bound session; with it, it passes', async () => {
    server = await startServer({ config: withNonces });
    const key = await deviceKey(server.clock);
    const htu = `${server.url}/v1/token/refresh`;
    // The "bind" flow revokes on misuse: a stale nonce is not misuse.
    const grant = await signIn(server.url, 'bind', key.jkt);
    const first = await refresh(server.url, grant.refresh_token, await key.proof({ htu }));
    expectProofRefused(first, 'nonce');
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[0-9a-z]+\.[\w-]{22}$/);
    expect((await call(`${server.url}/v1/sessions/${grant.session.id}`, { token: testApiKey })).body.status).toBe('active');

    const second = await refresh(server.url, grant.refresh_token, await key.proof({ htu }, {}, nonce!));
    expect(second.status).toBe(200);
    expect(second.headers.get('dpop-nonce')).toBe(nonce);
    // A request without DPoP is not told one.
    expect((await call(`${server.url}/v1/sessions/${grant.session.id}`, { token: testApiKey })).headers.get('dpop-nonce')).toBeNull();

    // The resource side asks for it too; a nonce two windows old is refused with the new one.
    const whoami = `${server.url}/v1/session`;
    const ath = await accessTokenHash(second.body.access_token);
    const proven = await send(whoami, {
      headers: { authorization: `DPoP ${second.body.access_token}`, dpop: await key.proof({ htm: 'GET', htu: whoami, ath }, {}, nonce!) },
    });
    expect(proven.status).toBe(200);
    server.clock.advance(121);
    const stale = await send(whoami, {
      headers: { authorization: `DPoP ${second.body.access_token}`, dpop: await key.proof({ htm: 'GET', htu: whoami, ath }, {}, nonce!) },
    });
    expectProofRefused(stale, 'nonce');
    expect(stale.headers.get('dpop-nonce')).not.toBe(nonce);
  });

  it('a forged nonce is refused; a socket auth needs none (it cannot be told one)', async () => {
    const realtime = await startRealtimeServer({ config: withNonces });
    server = realtime;
    const key = await deviceKey(realtime.clock);
    const grant = await signIn(realtime.url, 'strict', key.jkt);
    const htu = `${realtime.url}/v1/token/refresh`;
    const told = (await refresh(realtime.url, grant.refresh_token, await key.proof({ htu }))).headers.get('dpop-nonce')!;
    const [window] = told.split('.');
    expectProofRefused(await refresh(realtime.url, grant.refresh_token, await key.proof({ htu }, {}, `${window}.${'A'.repeat(22)}`)), 'nonce');

    const socket = await openSocket(realtime.socketUrl);
    const ath = await accessTokenHash(grant.access_token);
    socket.sendJson({ type: 'auth', access_token: grant.access_token, dpop: await key.proof({ htm: 'GET', htu: `${realtime.url}/v1/realtime`, ath }) });
    expect(await socket.next('ready')).toMatchObject({ session_id: grant.session.id });
    socket.ws.close();
  });
});

describe('DPoP across two nodes on one PostgreSQL', () => {
  let database: TestDatabase | undefined;

  afterAll(async () => {
    await database?.drop();
  });

  it('a proof used at one node is refused as replayed at the other, and a nonce one node gave out is taken by the other', async () => {
    database = await createTestDatabase();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    // Both nodes start at once: the first to offer the nonce key stores it, the other reads that one.
    const nodes = await Promise.all(
      [0, 1].map(async () => {
        const store = await PostgresSessionStore.open({ connectionString: database!.url });
        const tessera = await createTessera({
          store,
          clock,
          config: parseConfig({ ...config, dpop_nonce: true }),
          apiKey: testApiKey,
          issuer: 'http://tessera.test',
        });
        const app = await buildApp(tessera);
        await app.listen({ port: 0, host: '127.0.0.1' });
        const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
        const close = async () => {
          await app.close();
          await tessera.close();
        };
        return { url, close };
      }),
    );
    try {
      const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
      const key = await deviceKey(clock);
      const htu = 'http://tessera.test/v1/token/refresh';
      const grant = await signIn(a.url, 'strict', key.jkt);
      const told = await refresh(a.url, grant.refresh_token, await key.proof({ htu }));
      expectProofRefused(told, 'nonce');
      const nonce = told.headers.get('dpop-nonce')!;
      // One proof that names the issuer's URL and A's nonce, so either node would take it once.
      const proof = await key.proof({ htu }, {}, nonce);
      const first = await refresh(a.url, grant.refresh_token, proof);
      expect(first.status).toBe(200);
      expectProofRefused(await refresh(b.url, first.body.refresh_token, proof), 'replayed');
      const next = await refresh(b.url, first.body.refresh_token, await key.proof({ htu }, {}, nonce));
      expect(next.status).toBe(200);
      expect(next.headers.get('dpop-nonce')).toBe(nonce);
      expect(decodeJwt(next.body.access_token).cnf).toEqual({ jkt: key.jkt });
    } finally {
      for (const node of nodes) await node.close();
    }
  });
});
