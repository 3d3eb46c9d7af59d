import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import type { JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type HostileContext, hostileTokens } from '../../server/test/fixtures/hostile-tokens.js';
import { type Answer, call, send, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';
import { type ErrorCode, errorCatalogue } from '../src/error-catalogue.js';
import { createVerifier, type TesseraRequest, tesseraExpress, tesseraFastify, type Verifier } from '../src/index.js';

/** Resource servers nobody here wrote (Express, Fastify) guarding routes with the verifier, against a running Tessera. */
const issuer = 'http://tessera.test';
const start = Date.UTC(2026, 0, 1, 9, 0, 0);

let tessera: TestServer;
let verifier: Verifier;
let expressServer: Server;
let expressUrl: string;
let fastifyApp: FastifyInstance;
let fastifyUrl: string;

function verifierFor(server: TestServer, options: { issuer?: string; audience?: string; clockTolerance?: number; jwksUri?: string } = {}): Verifier {
  return createVerifier({
    issuer: options.issuer ?? issuer,
    audience: options.audience ?? 'tessera',
    ...(options.clockTolerance === undefined ? {} : { clockTolerance: options.clockTolerance }),
    ...(options.jwksUri === undefined ? {} : { jwksUri: options.jwksUri }),
    clock: server.clock,
    jwksCooldown: 0,
    fetch: (url, init) => fetch(url.replace(issuer, server.url), init),
  });
}

beforeAll(async () => {
  tessera = await startServer();
  // No tolerance, so the middleware judges expiry exactly as the server does (the hostile fixtures assume it).
  verifier = verifierFor(tessera, { clockTolerance: 0 });

  const app = express();
  app.use('/api', tesseraExpress({ verifier }));
  app.get('/api/me', (req, res) => {
    res.json({ user: (req as TesseraRequest).tessera!.sub, sid: (req as TesseraRequest).tessera!.sid });
  });
  app.get('/public', (_req, res) => res.json({ ok: true }));
  expressServer = await new Promise<Server>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
  expressUrl = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`;

  fastifyApp = Fastify();
  fastifyApp.get('/public', async () => ({ ok: true }));
  await fastifyApp.register(async (api) => {
    await api.register(tesseraFastify, { verifier });
    api.get('/api/me', async (request) => ({ user: request.tessera!.sub, sid: request.tessera!.sid }));
  });
  fastifyUrl = await fastifyApp.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await new Promise((resolve) => expressServer.close(resolve));
  await fastifyApp.close();
  await tessera.close();
});

beforeEach(() => {
  tessera.clock.set(start);
});

async function createSession(): Promise<{ access_token: string; session: { id: string } }> {
  const created = await call(`${tessera.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body;
}

/** The server's envelope, with `doc_url` on the issuer (where the error pages are). */
function expectEnvelope(answer: Answer, code: ErrorCode): void {
  expect(answer.status, answer.text).toBe(errorCatalogue[code].status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(answer.body).sort()).toEqual(['details', 'doc_url', 'error', 'message', 'request_id', 'retry_after', 'success', 'timestamp']);
  expect(answer.body).toMatchObject({ success: false, error: code, doc_url: `${issuer}/docs/errors/${code}` });
  expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
  expect(answer.body.timestamp).toBe(new Date(tessera.clock.now()).toISOString());
  if (answer.status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
}

const apps = () =>
  [
    ['Express', expressUrl],
    ['Fastify', fastifyUrl],
  ] as const;

describe('verifier middleware in Express and Fastify', () => {
  it('lets a genuine token through with its claims; unguarded routes stay open', async () => {
    const created = await createSession();
    for (const [name, url] of apps()) {
      const answer = await send(`${url}/api/me`, { headers: { authorization: `Bearer ${created.access_token}` } });
      expect(answer.status, name).toBe(200);
      expect(answer.body).toEqual({ user: 'alice', sid: created.session.id });
      expect((await send(`${url}/public`)).status).toBe(200);
    }
  });

  it('token_missing and token_expired in the envelope', async () => {
    const created = await createSession();
    for (const [, url] of apps()) expectEnvelope(await send(`${url}/api/me`), 'token_missing');
    tessera.clock.advance(900);
    for (const [, url] of apps()) {
      const answer = await send(`${url}/api/me`, { headers: { authorization: `Bearer ${created.access_token}` } });
      expectEnvelope(answer, 'token_expired');
      expect(answer.body.details[0].expired_at).toBe(new Date(tessera.clock.now()).toISOString());
    }
  });

  it('the default clock tolerance accepts a token up to 5 s past exp', async () => {
    const created = await createSession();
    const tolerant = verifierFor(tessera);
    tessera.clock.advance(900 + 4);
    expect((await tolerant.verify(created.access_token)).sub).toBe('alice');
    tessera.clock.advance(1);
    expect(await tolerant.verify(created.access_token).catch((thrown: unknown) => thrown)).toMatchObject({ code: 'token_expired' });
  });

  // Offline verification sees no session: the fixtures that need one (session_not_found) and the header too large for Node are left out.
  const offline = hostileTokens.filter((hostile) => hostile.expect !== 'session_not_found' && hostile.expect !== 'invalid_request');
  it.each(offline)('hostile: $name → $expect', async (hostile) => {
    const created = await createSession();
    const serverKey = await tessera.tessera.signingKeys.currentKey();
    const jwks = await send(`${tessera.url}/.well-known/jwks.json`);
    const publicJwk = (jwks.body.keys as JWK[]).find((key) => key.kid === serverKey.kid)!;
    const ctx: HostileContext = { server: tessera, accessToken: created.access_token, serverKey, publicJwk };
    const token = await hostile.make(ctx);
    const authorization = hostile.scheme === '' ? token : `${hostile.scheme ?? 'Bearer'} ${token}`;
    for (const [, url] of apps()) expectEnvelope(await send(`${url}/api/me`, { headers: { authorization } }), hostile.expect);
  });

  it('a wrong issuer or audience in the verifier refuses genuine tokens as token_invalid', async () => {
    const created = await createSession();
    for (const options of [{ audience: 'billing' }, { issuer: 'http://tessera.test/other', jwksUri: `${issuer}/.well-known/jwks.json` }]) {
      const error = await verifierFor(tessera, options)
        .verify(created.access_token)
        .catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ code: 'token_invalid' });
    }
  });

  it('an unreachable JWKS is service_unavailable, not a reason to sign the user out', async () => {
    const created = await createSession();
    const unreachable = createVerifier({ issuer, audience: 'tessera', clock: tessera.clock, fetch: () => Promise.reject(new TypeError('fetch failed')) });
    const error = await unreachable.verify(created.access_token).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'service_unavailable', retryAfter: 1 });
  });
});
