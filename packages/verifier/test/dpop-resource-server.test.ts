// DPoP (RFC 9449 §7) at a resource server: Express and Fastify apps guarded by the verifier, tokens
// signed by an issuer whose JWKS is served over real HTTP, proofs made with real device keys (jose).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { base64url, type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Answer, send } from '../../server/test/helpers.js';
import { ManualClock } from '../src/clock.js';
import { accessTokenHash } from '../src/dpop-proof.js';
import {
  createVerifier,
  type DpopReplayCache,
  dpopSigningAlgorithms,
  TesseraError,
  type TesseraRequest,
  tesseraExpress,
  tesseraFastify,
  type Verifier,
  type VerifierOptions,
} from '../src/index.js';

const issuer = 'http://tessera.test';
const start = Date.UTC(2026, 5, 1, 12, 0, 0);
const dpopChallenge = `DPoP error="invalid_dpop_proof", algs="${dpopSigningAlgorithms.join(' ')}"`;

interface Device {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly privateJwk: JWK;
  readonly jkt: string;
}

const clock = new ManualClock(start);
let issuerKey: { privateKey: CryptoKey; kid: string };
let jwksServer: Server;
let jwksUri: string;
let device: Device;
let other: Device;
let verifier: Verifier;
let expressServer: Server;
let expressUrl: string;
let fastifyApp: FastifyInstance;
let fastifyUrl: string;

async function newDevice(): Promise<Device> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** An access token as Tessera signs it; `jkt` binds it to that key (`cnf.jkt`). */
async function accessToken(options: { jkt?: string; claims?: Record<string, unknown> } = {}): Promise<string> {
  const iat = Math.floor(clock.now() / 1000);
  const claims = {
    iss: issuer,
    sub: 'alice',
    aud: 'tessera',
    iat,
    exp: iat + 900,
    jti: crypto.randomUUID(),
    client_id: 'tessera',
    sid: 'ses_1',
    flow: 'web',
    ...(options.jkt === undefined ? {} : { cnf: { jkt: options.jkt } }),
    ...options.claims,
  };
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: issuerKey.kid }).sign(issuerKey.privateKey);
}

/** A proof as a client makes it for `method url` and `token`; `claims` and `header` override what it would put. */
async function proof(
  method: string,
  url: string,
  token: string,
  options: { by?: Device; claims?: Record<string, unknown>; header?: Record<string, unknown> } = {},
): Promise<string> {
  const by = options.by ?? device;
  const claims = { jti: crypto.randomUUID(), htm: method, htu: url, iat: Math.floor(clock.now() / 1000), ath: await accessTokenHash(token), ...options.claims };
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: by.jwk, ...options.header }).sign(by.privateKey);
}

function verifierWith(options: Partial<VerifierOptions> = {}): Verifier {
  return createVerifier({ issuer, audience: 'tessera', jwksUri, clock, clockTolerance: 5, jwksCooldown: 0, ...options });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  issuerKey = { privateKey, kid: 'key-1' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  jwksUri = `${await listen(jwksServer)}/.well-known/jwks.json`;
  device = await newDevice();
  other = await newDevice();
  verifier = verifierWith();

  const app = express();
  app.use('/api', tesseraExpress({ verifier }));
  app.all('/api/me', (req, res) => res.json({ user: (req as TesseraRequest).tessera!.sub, cnf: (req as TesseraRequest).tessera!.cnf ?? null }));
  expressServer = createServer(app);
  expressUrl = await listen(expressServer);

  fastifyApp = Fastify();
  await fastifyApp.register(async (api) => {
    await api.register(tesseraFastify, { verifier });
    api.all('/api/me', async (request) => ({ user: request.tessera!.sub, cnf: request.tessera!.cnf ?? null }));
  });
  fastifyUrl = await fastifyApp.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await new Promise((resolve) => expressServer.close(resolve));
  await new Promise((resolve) => jwksServer.close(resolve));
  await fastifyApp.close();
  await verifier.close();
});

beforeEach(() => {
  clock.set(start);
});

const apps = () =>
  [
    ['Express', expressUrl],
    ['Fastify', fastifyUrl],
  ] as const;

/** GET (or `method`) `url` with `Authorization: <scheme> <token>` and, when given, the proof. */
function request(url: string, token: string, options: { scheme?: string; dpop?: string; method?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `${options.scheme ?? 'DPoP'} ${token}` };
  if (options.dpop !== undefined) headers['dpop'] = options.dpop;
  return send(url, { method: options.method ?? 'GET', headers });
}

/** A 401 `dpop_proof_invalid` with this reason and the DPoP challenge (RFC 9449 §7.1). */
function expectRefused(answer: Answer, reason: string, where = ''): void {
  expect(answer.status, `${where} ${answer.text}`).toBe(401);
  expect(answer.body, where).toMatchObject({ success: false, error: 'dpop_proof_invalid', details: [{ reason }] });
  // The bearer challenge every 401 carries, then DPoP's: the same as Tessera's own routes send.
  expect(answer.headers.get('www-authenticate'), where).toBe(`Bearer error="invalid_token", ${dpopChallenge}`);
}

async function reasonOf(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TesseraError);
  expect((error as TesseraError).code).toBe('dpop_proof_invalid');
  return ((error as TesseraError).details[0] as { reason: string }).reason;
}

describe('a token bound to a key (cnf.jkt), through Express and Fastify', () => {
  it('passes as `DPoP <token>` with a proof for this request by that key', async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      const answer = await request(url, token, { dpop: await proof('GET', url, token) });
      expect(answer.status, `${name} ${answer.text}`).toBe(200);
      expect(answer.body).toEqual({ user: 'alice', cnf: { jkt: device.jkt } });
      // The scheme in any case (RFC 9110 §11.1), any method the proof names.
      const posted = await request(url, token, { scheme: 'dpop', method: 'POST', dpop: await proof('POST', url, token) });
      expect(posted.status, name).toBe(200);
    }
  });

  it('is refused as a bearer token, even with a good proof beside it (RFC 9449 §7.2)', async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      expectRefused(await request(url, token, { scheme: 'Bearer' }), 'missing', name);
      expectRefused(await request(url, token, { scheme: 'Bearer', dpop: await proof('GET', url, token) }), 'missing', name);
    }
    expect(await reasonOf(verifier.verify(token))).toBe('missing');
    expect(await reasonOf(verifier.verifyAuthorization(`Bearer ${token}`))).toBe('missing');
  });

  it('is refused without a proof, or with two', async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      expectRefused(await request(url, token), 'missing', name);
      // Two DPoP headers reach the app joined into one value (RFC 9449 §4.3 allows one).
      const two = new Headers({ authorization: `DPoP ${token}` });
      two.append('dpop', await proof('GET', url, token));
      two.append('dpop', await proof('GET', url, token));
      const response = await fetch(url, { headers: two });
      expectRefused({ status: response.status, headers: response.headers, text: '', body: await response.json() }, 'malformed', name);
    }
    expect(await reasonOf(verifier.verifyRequest({ authorization: `DPoP ${token}`, dpop: ['a.b.c', 'd.e.f'], method: 'GET', url: 'http://x/' }))).toBe(
      'malformed',
    );
  });

  it('is refused with a proof for another method or URL', async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      expectRefused(await request(url, token, { dpop: await proof('POST', url, token) }), 'htm', name);
      expectRefused(await request(url, token, { dpop: await proof('GET', `${base}/api/other`, token) }), 'htu', name);
      expectRefused(await request(url, token, { dpop: await proof('GET', url.replace('127.0.0.1', 'localhost'), token) }), 'htu', name);
      expectRefused(await request(url, token, { dpop: await proof('GET', url.replace('http:', 'https:'), token) }), 'htu', name);
    }
  });

  it('compares the URL without its query and fragment (RFC 9449 §4.3)', async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const made = await proof('GET', `${base}/api/me`, token);
      expect((await request(`${base}/api/me?page=2&sort=name`, token, { dpop: made })).status, name).toBe(200);
      const withQuery = await proof('GET', `${base}/api/me?page=9#top`, token);
      expect((await request(`${base}/api/me`, token, { dpop: withQuery })).status, name).toBe(200);
    }
  });

  it('takes a proof up to a minute old and a few seconds ahead, not older or further ahead', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const url = `${expressUrl}/api/me`;
    const made = Math.floor(clock.now() / 1000);
    const old = await proof('GET', url, token);
    const staler = await proof('GET', url, token);
    clock.advance(60);
    expect((await request(url, token, { dpop: old })).status).toBe(200);
    clock.advance(1);
    expectRefused(await request(url, token, { dpop: staler }), 'iat');
    const ahead = (seconds: number) => proof('GET', url, token, { claims: { iat: made + 61 + seconds } });
    expect((await request(url, token, { dpop: await ahead(5) })).status).toBe(200);
    expectRefused(await request(url, token, { dpop: await ahead(6) }), 'iat');
  });

  it("is refused with a proof by another key, or one that carries another key's thumbprint claims", async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      expectRefused(await request(url, token, { dpop: await proof('GET', url, token, { by: other }) }), 'key_mismatch', name);
      // The device's public key in the header, signed by another: the signature gives it away.
      const signedByOther = await proof('GET', url, token, { by: other, header: { jwk: device.jwk } });
      expectRefused(await request(url, token, { dpop: signedByOther }), 'signature', name);
    }
  });

  it('is refused with alg none, or a private key in the header', async () => {
    const token = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      const part = (value: unknown) => base64url.encode(JSON.stringify(value));
      const claims = { jti: crypto.randomUUID(), htm: 'GET', htu: url, iat: Math.floor(clock.now() / 1000), ath: await accessTokenHash(token) };
      const unsigned = `${part({ alg: 'none', typ: 'dpop+jwt', jwk: device.jwk })}.${part(claims)}.`;
      expectRefused(await request(url, token, { dpop: unsigned }), 'malformed', name);
      const noneSigned = `${part({ alg: 'none', typ: 'dpop+jwt', jwk: device.jwk })}.${part(claims)}.${base64url.encode('x')}`;
      expectRefused(await request(url, token, { dpop: noneSigned }), 'alg', name);
      const withPrivateKey = await proof('GET', url, token, { header: { jwk: device.privateJwk } });
      expectRefused(await request(url, token, { dpop: withPrivateKey }), 'jwk', name);
    }
  });

  it('is refused with a proof made for another token (ath), or for none', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const another = await accessToken({ jkt: device.jkt });
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      expectRefused(await request(url, token, { dpop: await proof('GET', url, another) }), 'ath', name);
      expectRefused(await request(url, token, { dpop: await proof('GET', url, token, { claims: { ath: undefined } }) }), 'ath', name);
    }
  });

  it('takes each proof once (replayed), at either app, until its window ends; then iat refuses it', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const url = `${expressUrl}/api/me`;
    const once = await proof('GET', url, token);
    expect((await request(url, token, { dpop: once })).status).toBe(200);
    expectRefused(await request(url, token, { dpop: once }), 'replayed');
    // The same verifier behind Fastify: a proof for Fastify's URL, used there and then again.
    const fastify = `${fastifyUrl}/api/me`;
    const there = await proof('GET', fastify, token);
    expect((await request(fastify, token, { dpop: there })).status).toBe(200);
    expectRefused(await request(fastify, token, { dpop: there }), 'replayed');
    clock.advance(59);
    expectRefused(await request(url, token, { dpop: once }), 'replayed');
    clock.advance(2);
    expectRefused(await request(url, token, { dpop: once }), 'iat');
  });

  it('an expired bound token is token_expired, proof or not: the answer is to refresh', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const url = `${expressUrl}/api/me`;
    const made = await proof('GET', url, token);
    clock.advance(906); // past exp and the 5 s tolerance
    const expired = await request(url, token, { dpop: made });
    expect(expired.body.error).toBe('token_expired');
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('any change to the signature of a good proof is refused', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const url = 'https://api.example.com/me';
    await fc.assert(
      fc.asyncProperty(fc.nat(63), fc.integer({ min: 1, max: 255 }), async (index, mask) => {
        const [header, payload, signature] = (await proof('GET', url, token)).split('.') as [string, string, string];
        const bytes = base64url.decode(signature);
        bytes[index]! ^= mask;
        const tampered = `${header}.${payload}.${base64url.encode(bytes)}`;
        const reason = await reasonOf(verifier.verifyRequest({ authorization: `DPoP ${token}`, dpop: tampered, method: 'GET', url }));
        expect(reason).toBe('signature');
      }),
      { numRuns: 40 },
    );
  });

  it('a cnf that names no thumbprint cannot be honoured: token_invalid', async () => {
    for (const cnf of [{}, { jkt: 'short' }, { 'x5t#S256': 'abc' }, 'jkt', null]) {
      const token = await accessToken({ claims: { cnf } });
      const error = await verifier.verifyRequest({ authorization: `DPoP ${token}`, method: 'GET', url: 'http://x/' }).catch((thrown: unknown) => thrown);
      expect(error, JSON.stringify(cnf)).toMatchObject({ code: 'token_invalid' });
    }
  });
});

describe('a token bound to nothing', () => {
  it('passes as a bearer token, with or without a DPoP header, as before', async () => {
    const token = await accessToken();
    for (const [name, base] of apps()) {
      const answer = await request(`${base}/api/me`, token, { scheme: 'Bearer' });
      expect(answer.status, name).toBe(200);
      expect(answer.body).toEqual({ user: 'alice', cnf: null });
      expect((await request(`${base}/api/me`, token, { scheme: 'Bearer', dpop: 'not a proof' })).status, name).toBe(200);
    }
    expect((await verifier.verify(token)).sub).toBe('alice');
    expect((await verifier.verifyAuthorization(`Bearer ${token}`)).sub).toBe('alice');
  });

  it('passes as `DPoP <token>` with a good proof (a client with a key, before its session is bound); a bad or no proof is refused', async () => {
    const token = await accessToken();
    for (const [name, base] of apps()) {
      const url = `${base}/api/me`;
      expect((await request(url, token, { dpop: await proof('GET', url, token) })).status, name).toBe(200);
      expect((await request(url, token, { dpop: await proof('GET', url, token, { by: other }) })).status, name).toBe(200);
      expectRefused(await request(url, token), 'missing', name);
      expectRefused(await request(url, token, { dpop: await proof('GET', `${base}/elsewhere`, token) }), 'htu', name);
      const used = await proof('GET', url, token);
      expect((await request(url, token, { dpop: used })).status, name).toBe(200);
      expectRefused(await request(url, token, { dpop: used }), 'replayed', name);
    }
  });

  it('verifyAuthorization has no request to judge a proof by: the DPoP scheme is refused there', async () => {
    const token = await accessToken();
    expect(await reasonOf(verifier.verifyAuthorization(`DPoP ${token}`))).toBe('missing');
  });

  it('failures that are not about DPoP keep the Bearer challenge', async () => {
    for (const [name, base] of apps()) {
      const answer = await send(`${base}/api/me`, { headers: { authorization: 'Bearer not-a-token' } });
      expect(answer.body.error, name).toBe('token_invalid');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect((await send(`${base}/api/me`)).body.error).toBe('token_missing');
    }
  });
});

describe('the public URL behind proxies', () => {
  async function expressApp(options: {
    trustProxy?: boolean;
    publicUrl?: string | ((req: unknown) => string);
  }): Promise<{ url: string; close(): Promise<void> }> {
    const app = express();
    if (options.trustProxy) app.set('trust proxy', true);
    app.use('/api', tesseraExpress({ verifier, ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }) }));
    app.get('/api/me', (req, res) => res.json({ user: (req as TesseraRequest).tessera!.sub }));
    const server = createServer(app);
    const url = await listen(server);
    return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  async function fastifyApp(options: { trustProxy?: boolean; publicUrl?: string }): Promise<{ url: string; close(): Promise<void> }> {
    const app = Fastify({ trustProxy: options.trustProxy ?? false });
    await app.register(tesseraFastify, { verifier, ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }) });
    app.get('/api/me', async (request) => ({ user: request.tessera!.sub }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  }

  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };

  it('follows X-Forwarded-Proto and -Host when the app trusts its proxy, and not otherwise', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const publicUrl = 'https://api.example.com/api/me';
    for (const trustProxy of [true, false]) {
      for (const app of [await expressApp({ trustProxy }), await fastifyApp({ trustProxy })]) {
        const headers = { ...forwarded, authorization: `DPoP ${token}`, dpop: await proof('GET', publicUrl, token) };
        const answer = await send(`${app.url}/api/me`, { headers });
        if (trustProxy) expect(answer.status, answer.text).toBe(200);
        else expectRefused(answer, 'htu');
        await app.close();
      }
    }
  });

  it('publicUrl: a base for proxies that strip a path prefix, or a function', async () => {
    const token = await accessToken({ jkt: device.jkt });
    const publicUrl = 'https://example.com/svc/api/me';
    const apps = [
      await expressApp({ publicUrl: 'https://example.com/svc/' }),
      await fastifyApp({ publicUrl: 'https://example.com/svc' }),
      await expressApp({ publicUrl: () => publicUrl }),
    ];
    for (const app of apps) {
      const answer = await request(`${app.url}/api/me?x=1`, token, { dpop: await proof('GET', publicUrl, token) });
      expect(answer.status, answer.text).toBe(200);
      expectRefused(await request(`${app.url}/api/me`, token, { dpop: await proof('GET', `${app.url}/api/me`, token) }), 'htu');
      await app.close();
    }
  });
});

describe('the replay cache', () => {
  it('is pluggable: two verifiers (two nodes) sharing one refuse a proof the other took', async () => {
    const seen = new Map<string, number>();
    const calls: [string, number][] = [];
    const shared: DpopReplayCache = {
      async remember(proofId, expiresAt) {
        calls.push([proofId, expiresAt]);
        if ((seen.get(proofId) ?? 0) > clock.now()) return false;
        seen.set(proofId, expiresAt);
        return true;
      },
    };
    const nodeA = verifierWith({ dpop: { replayCache: shared } });
    const nodeB = verifierWith({ dpop: { replayCache: shared, maxAge: 30 } });
    const token = await accessToken({ jkt: device.jkt });
    const url = 'https://api.example.com/me';
    const made = await proof('GET', url, token, { claims: { jti: 'jti-1' } });
    const attempt = (node: Verifier) => node.verifyRequest({ authorization: `DPoP ${token}`, dpop: made, method: 'GET', url });
    expect((await attempt(nodeA)).sub).toBe('alice');
    expect(await reasonOf(attempt(nodeB))).toBe('replayed');
    // Keyed by the proof's key and jti, kept a second past the window (iat + maxAge).
    const iat = Math.floor(start / 1000);
    expect(calls).toEqual([
      [`${device.jkt}:jti-1`, (iat + 61) * 1000],
      [`${device.jkt}:jti-1`, (iat + 31) * 1000],
    ]);
    await Promise.all([nodeA.close(), nodeB.close()]);
  });

  it('a failing shared cache fails the request, not open', async () => {
    const broken: DpopReplayCache = { remember: () => Promise.reject(new Error('redis is down')) };
    const node = verifierWith({ dpop: { replayCache: broken } });
    const token = await accessToken({ jkt: device.jkt });
    const url = 'https://api.example.com/me';
    const attempt = node.verifyRequest({ authorization: `DPoP ${token}`, dpop: await proof('GET', url, token), method: 'GET', url });
    await expect(attempt).rejects.toThrow('redis is down');
  });
});
