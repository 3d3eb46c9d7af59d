import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalogue } from '../../src/core/error-catalogue.js';
import { claimsOf, type HostileContext, hostileTokens, json, signedByServer, signRaw } from '../fixtures/hostile-tokens.js';
import { type Answer, send, startServer, type TestServer, testApiKey } from '../helpers.js';

/** No request may hang: every fetch gives up after this. */

const envelopeKeys = ['details', 'doc_url', 'error', 'message', 'request_id', 'retry_after', 'success', 'timestamp'];

/** The contract's envelope with `code`: never a 500, never HTML, never a stack trace. */
function expectEnvelope(answer: Answer, code: ErrorCode): void {
  expect(answer.status, answer.text.slice(0, 300)).not.toBe(500);
  expect(answer.text).not.toMatch(/<html|<!doctype/i);
  expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules/);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.body, answer.text.slice(0, 300)).toBeTypeOf('object');
  expect(Object.keys(answer.body).sort()).toEqual(envelopeKeys);
  expect(answer.body.error).toBe(code);
  expect(answer.status).toBe(errorCatalogue[code].status);
  expect(answer.body.success).toBe(false);
  expect(Array.isArray(answer.body.details)).toBe(true);
  expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
  expect(answer.body.doc_url).toMatch(new RegExp(`/docs/errors/${code}$`));
  if (answer.status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
}

function authorization(scheme: string | undefined, credential: string): string {
  return scheme === '' ? credential : `${scheme ?? 'Bearer'} ${credential}`;
}

async function createSession(server: TestServer, userId = 'alice'): Promise<any> {
  const created = await send(`${server.url}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  expect(created.status).toBe(201);
  return created.body;
}

async function hostileContext(server: TestServer): Promise<HostileContext & { sessionId: string }> {
  const created = await createSession(server);
  const serverKey = await server.tessera.signingKeys.currentKey();
  const jwks = await send(`${server.url}/.well-known/jwks.json`);
  const publicJwk = (jwks.body.keys as JWK[]).find((key) => key.kid === serverKey.kid);
  expect(publicJwk).toBeDefined();
  return { server, accessToken: created.access_token, serverKey, publicJwk: publicJwk!, sessionId: created.session.id };
}

describe('hostile access tokens', () => {
  it('controls: the genuine token, and one re-signed unchanged with the server key, are accepted', async () => {
    const server = await startServer();
    try {
      const ctx = await hostileContext(server);
      for (const token of [
        ctx.accessToken,
        await signedByServer(ctx),
        await signRaw(ctx, { alg: 'ES256', typ: 'at+jwt', kid: ctx.serverKey.kid }, json(claimsOf(ctx))),
      ]) {
        const answer = await send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${token}` } });
        expect(answer.status, answer.text).toBe(200);
        expect(answer.body.session.id).toBe(ctx.sessionId);
      }
      // The scheme is case-insensitive (RFC 7235).
      const lower = await send(`${server.url}/v1/session`, { headers: { authorization: `bearer ${ctx.accessToken}` } });
      expect(lower.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it.each(hostileTokens)('$name → $expect on every authenticated route, and revokes nothing', async (hostile) => {
    const server = await startServer();
    try {
      const ctx = await hostileContext(server);
      const token = await hostile.make(ctx);
      const headers = { authorization: authorization(hostile.scheme, token) };
      for (const [method, path] of [
        ['GET', '/v1/session'],
        ['POST', '/v1/session/logout'],
        ['POST', '/v1/session/logout-others'],
      ] as const) {
        const answer = await send(`${server.url}${path}`, { method, headers });
        expectEnvelope(answer, hostile.expect);
      }
      const session = await send(`${server.url}/v1/sessions/${ctx.sessionId}`, { headers: { authorization: `Bearer ${testApiKey}` } });
      expect(session.body.revoked_at).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('a hostile token is no management key, and the API key is no access token', async () => {
    const server = await startServer();
    try {
      const ctx = await hostileContext(server);
      const asKey = await send(`${server.url}/v1/sessions/${ctx.sessionId}`, { headers: { authorization: `Bearer ${ctx.accessToken}` } });
      expectEnvelope(asKey, 'api_key_invalid');
      const asToken = await send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${testApiKey}` } });
      expectEnvelope(asToken, 'token_invalid');
    } finally {
      await server.close();
    }
  });
});

interface HostileRequest {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  /** Send the management API key (default: only for /v1/sessions and /v1/users routes). */
  readonly apiKey?: boolean;
  readonly contentType?: string | null;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  readonly expect: ErrorCode;
  /** A field `details` must name. */
  readonly field?: string;
}

const asJson = (value: unknown) => JSON.stringify(value);
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const hostileRequests: readonly HostileRequest[] = [
  {
    name: '3 MB body on session creation',
    path: '/v1/sessions',
    body: asJson({ user_id: 'a', metadata: { blob: 'x'.repeat(3 * 1024 * 1024) } }),
    expect: 'payload_too_large',
  },
  { name: '3 MB body on refresh', path: '/v1/token/refresh', body: asJson({ refresh_token: 'x'.repeat(3 * 1024 * 1024) }), expect: 'payload_too_large' },
  { name: 'malformed JSON (cut short)', path: '/v1/sessions', body: '{"user_id":', expect: 'invalid_request' },
  { name: 'malformed JSON (not JSON at all)', path: '/v1/token/refresh', body: 'refresh_token=abc', expect: 'invalid_request' },
  { name: 'malformed JSON (trailing garbage)', path: '/v1/sessions', body: '{"user_id":"a"} x', expect: 'invalid_request' },
  { name: 'empty JSON body', path: '/v1/sessions', body: '', expect: 'invalid_request' },
  { name: 'JSON array body', path: '/v1/sessions', body: '[{"user_id":"a"}]', expect: 'invalid_request', field: '(body)' },
  { name: 'JSON number body', path: '/v1/sessions', body: '42', expect: 'invalid_request', field: '(body)' },
  { name: 'JSON string body', path: '/v1/sessions', body: '"alice"', expect: 'invalid_request', field: '(body)' },
  { name: 'JSON null body', path: '/v1/sessions', body: 'null', expect: 'invalid_request', field: '(body)' },
  { name: 'JSON true body', path: '/v1/token/refresh', body: 'true', expect: 'invalid_request', field: '(body)' },
  { name: 'JSON null body on refresh', path: '/v1/token/refresh', body: 'null', expect: 'invalid_request', field: '(body)' },
  { name: 'user_id: 123', path: '/v1/sessions', body: asJson({ user_id: 123 }), expect: 'invalid_request', field: 'user_id' },
  { name: 'user_id: null', path: '/v1/sessions', body: asJson({ user_id: null }), expect: 'invalid_request', field: 'user_id' },
  { name: 'user_id: ""', path: '/v1/sessions', body: asJson({ user_id: '' }), expect: 'invalid_request', field: 'user_id' },
  { name: 'user_id: 1000 characters', path: '/v1/sessions', body: asJson({ user_id: 'u'.repeat(1000) }), expect: 'invalid_request', field: 'user_id' },
  { name: 'user_id: an object', path: '/v1/sessions', body: asJson({ user_id: { $ne: null } }), expect: 'invalid_request', field: 'user_id' },
  { name: 'metadata: "x"', path: '/v1/sessions', body: asJson({ user_id: 'a', metadata: 'x' }), expect: 'invalid_request', field: 'metadata' },
  { name: 'metadata: []', path: '/v1/sessions', body: asJson({ user_id: 'a', metadata: [] }), expect: 'invalid_request', field: 'metadata' },
  { name: 'metadata: null', path: '/v1/sessions', body: asJson({ user_id: 'a', metadata: null }), expect: 'invalid_request', field: 'metadata' },
  {
    name: 'metadata nested 10 000 levels deep',
    path: '/v1/sessions',
    body: `{"user_id":"a","metadata":{"x":${nested(10_000)}}}`,
    expect: 'invalid_request',
    field: 'metadata',
  },
  {
    name: 'metadata of arrays nested 100 000 levels deep',
    path: '/v1/sessions',
    body: `{"user_id":"a","metadata":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
    expect: 'invalid_request',
    field: 'metadata',
  },
  { name: 'flow: 7', path: '/v1/sessions', body: asJson({ user_id: 'a', flow: 7 }), expect: 'invalid_request', field: 'flow' },
  { name: 'flow: unknown', path: '/v1/sessions', body: asJson({ user_id: 'a', flow: 'nope' }), expect: 'invalid_request', field: 'flow' },
  { name: 'flow: "__proto__"', path: '/v1/sessions', body: asJson({ user_id: 'a', flow: '__proto__' }), expect: 'invalid_request', field: 'flow' },
  { name: 'flow: "toString"', path: '/v1/sessions', body: asJson({ user_id: 'a', flow: 'toString' }), expect: 'invalid_request', field: 'flow' },
  { name: 'flow: "constructor"', path: '/v1/sessions', body: asJson({ user_id: 'a', flow: 'constructor' }), expect: 'invalid_request', field: 'flow' },
  { name: 'missing user_id', path: '/v1/sessions', body: asJson({ flow: 'default' }), expect: 'invalid_request', field: 'user_id' },
  { name: 'empty object', path: '/v1/sessions', body: '{}', expect: 'invalid_request', field: 'user_id' },
  { name: 'extra field', path: '/v1/sessions', body: asJson({ user_id: 'a', is_admin: true }), expect: 'invalid_request', field: 'is_admin' },
  {
    name: 'extra field on refresh',
    path: '/v1/token/refresh',
    body: asJson({ refresh_token: 'rt', session_id: 'x' }),
    expect: 'invalid_request',
    field: 'session_id',
  },
  { name: '__proto__ pollution at the top level', path: '/v1/sessions', body: '{"user_id":"a","__proto__":{"polluted":"yes"}}', expect: 'invalid_request' },
  {
    name: '__proto__ pollution inside metadata',
    path: '/v1/sessions',
    body: '{"user_id":"a","metadata":{"__proto__":{"polluted":"yes"}}}',
    expect: 'invalid_request',
  },
  {
    name: 'constructor.prototype pollution',
    path: '/v1/sessions',
    body: '{"user_id":"a","constructor":{"prototype":{"polluted":"yes"}}}',
    expect: 'invalid_request',
  },
  { name: 'refresh_token: 123', path: '/v1/token/refresh', body: asJson({ refresh_token: 123 }), expect: 'invalid_request', field: 'refresh_token' },
  { name: 'refresh_token: null', path: '/v1/token/refresh', body: asJson({ refresh_token: null }), expect: 'invalid_request', field: 'refresh_token' },
  { name: 'refresh_token: ["a"]', path: '/v1/token/refresh', body: asJson({ refresh_token: ['a'] }), expect: 'invalid_request', field: 'refresh_token' },
  { name: 'refresh_token: {}', path: '/v1/token/refresh', body: asJson({ refresh_token: {} }), expect: 'invalid_request', field: 'refresh_token' },
  { name: 'refresh_token: ""', path: '/v1/token/refresh', body: asJson({ refresh_token: '' }), expect: 'invalid_request', field: 'refresh_token' },
  {
    name: 'refresh_token: 10 KB',
    path: '/v1/token/refresh',
    body: asJson({ refresh_token: 'r'.repeat(10_000) }),
    expect: 'invalid_request',
    field: 'refresh_token',
  },
  { name: 'refresh_token missing', path: '/v1/token/refresh', body: '{}', expect: 'invalid_request', field: 'refresh_token' },
  {
    name: 'refresh_token never issued',
    path: '/v1/token/refresh',
    body: asJson({ refresh_token: 'rt_never_issued_by_this_server' }),
    expect: 'session_not_found',
  },
  { name: 'JSON body sent as text/plain', path: '/v1/sessions', contentType: 'text/plain', body: asJson({ user_id: 'a' }), expect: 'unsupported_media_type' },
  {
    name: 'form-encoded body',
    path: '/v1/token/refresh',
    contentType: 'application/x-www-form-urlencoded',
    body: 'refresh_token=abc',
    expect: 'unsupported_media_type',
  },
  {
    name: 'body with no content type',
    path: '/v1/sessions',
    contentType: null,
    body: new TextEncoder().encode(asJson({ user_id: 'a' })),
    expect: 'unsupported_media_type',
  },
  { name: 'GET on a POST-only route', method: 'GET', path: '/v1/token/refresh', expect: 'method_not_allowed' },
  { name: 'DELETE on /v1/session', method: 'DELETE', path: '/v1/session', expect: 'method_not_allowed' },
  { name: 'very long URL (8 KB) on no route', method: 'GET', path: `/${'a'.repeat(8 * 1024)}`, expect: 'not_found' },
  { name: 'very long path parameter (8 KB)', method: 'GET', path: `/v1/sessions/${'a'.repeat(8 * 1024)}`, expect: 'invalid_request' },
  { name: 'very long path parameter (8 KB) on a docs page', method: 'GET', path: `/docs/errors/${'a'.repeat(8 * 1024)}`, expect: 'invalid_request' },
  { name: 'URL over the parser limit (20 KB)', method: 'GET', path: `/v1/sessions/${'a'.repeat(20 * 1024)}`, expect: 'invalid_request' },
  { name: 'invalid percent-encoding in a session id', method: 'GET', path: '/v1/sessions/%E0%A4%A', expect: 'invalid_request' },
  { name: 'invalid percent-encoding in a user id', method: 'DELETE', path: '/v1/users/%ZZ/sessions', expect: 'invalid_request' },
  { name: 'overlong UTF-8 in a docs path', method: 'GET', path: '/docs/errors/%C0%AF', expect: 'invalid_request' },
  { name: 'encoded path traversal on the docs', method: 'GET', path: '/docs/errors/..%2F..%2Fpackage.json', expect: 'not_found' },
  { name: 'NUL byte as a session id', method: 'GET', path: '/v1/sessions/%00', expect: 'invalid_request', field: 'id' },
  { name: 'unknown error code page', method: 'GET', path: '/docs/errors/__proto__', expect: 'not_found' },
];

describe('hostile requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it.each(hostileRequests)('$name → $expect', async (hostile) => {
    const headers: Record<string, string> = {};
    const management = hostile.apiKey ?? (hostile.path.startsWith('/v1/sessions') || hostile.path.startsWith('/v1/users'));
    if (management) headers['authorization'] = `Bearer ${testApiKey}`;
    if (hostile.body !== undefined && hostile.contentType !== null) headers['content-type'] = hostile.contentType ?? 'application/json';
    const method = hostile.method ?? 'POST';
    const answer = await send(`${server.url}${hostile.path}`, { method, headers, ...(hostile.body !== undefined ? { body: hostile.body } : {}) });
    expectEnvelope(answer, hostile.expect);
    if (hostile.field !== undefined) {
      expect(answer.body.details.map((detail: { field?: string }) => detail.field)).toContain(hostile.field);
    }
  });

  it('left no prototype polluted and no session behind, and the server still answers', async () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const sessions = await send(`${server.url}/v1/users/a/sessions`, { headers: { authorization: `Bearer ${testApiKey}` } });
    expect(sessions.status).toBe(200);
    expect(sessions.body.sessions).toEqual([]);
    const health = await send(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('metadata nested 64 levels deep is still accepted', async () => {
    const answer = await send(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: `{"user_id":"deep","metadata":${nested(63)}}`,
    });
    expect(answer.status, answer.text.slice(0, 300)).toBe(201);
  });
});

describe('replayed refresh tokens', () => {
  it('concurrent replays inside the reuse interval all get the one successor pair', async () => {
    const server = await startServer();
    try {
      const created = await createSession(server);
      const body = JSON.stringify({ refresh_token: created.refresh_token });
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })),
      );
      for (const answer of answers) expect(answer.status, answer.text).toBe(200);
      const pairs = new Set(answers.map((answer) => `${answer.body.access_token} ${answer.body.refresh_token}`));
      expect(pairs.size).toBe(1);
      expect(answers[0]!.body.refresh_token).not.toBe(created.refresh_token);
    } finally {
      await server.close();
    }
  });

  it('a replay after the reuse interval revokes the session (reuse_detected) and kills the successor too', async () => {
    const server = await startServer();
    try {
      const created = await createSession(server);
      const refresh = (token: string) =>
        send(`${server.url}/v1/token/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: token }),
        });
      const first = await refresh(created.refresh_token);
      expect(first.status).toBe(200);
      server.clock.advance(11);
      const replay = await refresh(created.refresh_token);
      expectEnvelope(replay, 'session_revoked');
      expect(replay.body.details[0].reason).toBe('reuse_detected');
      // The thief and the victim are both out: the successor and its access token are dead.
      expectEnvelope(await refresh(first.body.refresh_token), 'session_revoked');
      expectEnvelope(await send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${first.body.access_token}` } }), 'session_revoked');
      // Replaying again keeps answering session_revoked, not something else.
      const again = await refresh(created.refresh_token);
      expectEnvelope(again, 'session_revoked');
      expect(again.body.details[0].reason).toBe('reuse_detected');
    } finally {
      await server.close();
    }
  });
});
