import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

/** The wire format of /oauth/*, byte by byte, where a library would hide it. */
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

const form = 'application/x-www-form-urlencoded';

function post(path: string, body: string, headers: Record<string, string> = { 'content-type': form }): Promise<Answer> {
  return send(`${server.url}${path}`, { method: 'POST', headers, body });
}

async function createSession(flow = 'default') {
  const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice', flow }, token: testApiKey });
  expect(created.status, created.text).toBe(201);
  return created.body as { access_token: string; refresh_token: string; session: { id: string } };
}

/** RFC 6749 §5.2, with the envelope's fields alongside. */
function expectOAuthError(answer: Answer, status: number, error: string, tesseraError: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(answer.body).toMatchObject({ error, tessera_error: tesseraError, success: false });
  expect(answer.body.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
  expect(answer.body.doc_url).toBe(`${server.tessera.issuer}/docs/errors/${tesseraError}`);
}

describe('POST /oauth/token', () => {
  it('answers RFC 6749 §5.1 with no-store', async () => {
    const created = await createSession();
    const answer = await post('/oauth/token', `grant_type=refresh_token&refresh_token=${created.refresh_token}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
  });

  it('shares the refresh rate limits: past the per-token limit, 429 with retry_after', async () => {
    const limited = await startServer({ config: { rate_limits: { refresh_per_token: { limit: 2, window: 60 } } } });
    try {
      const created = await call(`${limited.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
      const body = `grant_type=refresh_token&refresh_token=${created.body.refresh_token}`;
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i += 1) answers.push(await send(`${limited.url}/oauth/token`, { method: 'POST', headers: { 'content-type': form }, body }));
      // The first spends the token, the second is a replay inside the reuse interval, the third is over the limit.
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
      expect(answers[2]!.body).toMatchObject({ tessera_error: 'rate_limited' });
      expect(Number(answers[2]!.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('takes a charset parameter on the form content type', async () => {
    const created = await createSession();
    const answer = await post('/oauth/token', `grant_type=refresh_token&refresh_token=${created.refresh_token}`, {
      'content-type': `${form}; charset=UTF-8`,
    });
    expect(answer.status).toBe(200);
  });

  it('unsupported_grant_type, invalid_request for missing or repeated parameters', async () => {
    expectOAuthError(await post('/oauth/token', 'grant_type=password&username=a&password=b'), 400, 'unsupported_grant_type', 'invalid_request');
    expectOAuthError(await post('/oauth/token', 'grant_type=refresh_token'), 400, 'invalid_request', 'invalid_request');
    expectOAuthError(await post('/oauth/token', 'refresh_token=rt_x'), 400, 'invalid_request', 'invalid_request');
    expectOAuthError(await post('/oauth/token', 'grant_type=refresh_token&refresh_token=a&refresh_token=b'), 400, 'invalid_request', 'invalid_request');
    expectOAuthError(await send(`${server.url}/oauth/token`, { method: 'POST' }), 400, 'invalid_request', 'invalid_request');
  });

  it('invalid_grant with the catalogue code: unknown, expired and revoked sessions', async () => {
    expectOAuthError(await post('/oauth/token', 'grant_type=refresh_token&refresh_token=rt_never_issued'), 400, 'invalid_grant', 'session_not_found');

    const short = await createSession('verification');
    server.clock.advance(901);
    const expired = await post('/oauth/token', `grant_type=refresh_token&refresh_token=${short.refresh_token}`);
    expectOAuthError(expired, 400, 'invalid_grant', 'session_expired');
    expect(expired.body.details[0]).toMatchObject({ reason: 'absolute' });

    const revoked = await createSession();
    await call(`${server.url}/v1/sessions/${revoked.session.id}`, { method: 'DELETE', token: testApiKey });
    const answer = await post('/oauth/token', `grant_type=refresh_token&refresh_token=${revoked.refresh_token}`);
    expectOAuthError(answer, 400, 'invalid_grant', 'session_revoked');
    expect(answer.body.details[0]).toMatchObject({ reason: 'admin' });
  });

  it('Basic credentials for an unknown client are invalid_client with a Basic challenge', async () => {
    const created = await createSession();
    const answer = await post('/oauth/token', `grant_type=refresh_token&refresh_token=${created.refresh_token}`, {
      'content-type': form,
      authorization: `Basic ${Buffer.from('nobody:nothing').toString('base64')}`,
    });
    expectOAuthError(answer, 401, 'invalid_client', 'client_invalid');
    expect(answer.headers.get('www-authenticate')).toBe('Basic realm="tessera"');
  });

  it('form bodies only: JSON is 415 as an OAuth error; other routes keep JSON only', async () => {
    const json = await post('/oauth/token', JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'x' }), { 'content-type': 'application/json' });
    expectOAuthError(json, 415, 'invalid_request', 'unsupported_media_type');

    const formOnV1 = await post('/v1/token/refresh', 'refresh_token=x');
    expect(formOnV1.status).toBe(415);
    expect(formOnV1.body.error).toBe('unsupported_media_type');
  });

  it('other methods are method_not_allowed in the envelope', async () => {
    const answer = await send(`${server.url}/oauth/token`);
    expect(answer.status).toBe(405);
    expect(answer.body.error).toBe('method_not_allowed');
  });
});

describe('POST /oauth/revoke and /oauth/introspect', () => {
  it('revoke needs a token parameter, and is 200 with an empty body otherwise', async () => {
    expectOAuthError(await post('/oauth/revoke', 'token_type_hint=refresh_token'), 400, 'invalid_request', 'invalid_request');
    const answer = await post('/oauth/revoke', 'token=whatever');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
  });

  it('introspect refuses a wrong API key and anonymous callers; active:false carries nothing else', async () => {
    const created = await createSession();
    expectOAuthError(
      await post('/oauth/introspect', `token=${created.access_token}`, { 'content-type': form, authorization: 'Bearer tsk_wrong' }),
      401,
      'invalid_client',
      'api_key_invalid',
    );
    expectOAuthError(await post('/oauth/introspect', `token=${created.access_token}`), 401, 'invalid_client', 'client_invalid');

    server.clock.advance(901);
    const expired = await post('/oauth/introspect', `token=${created.access_token}`, { 'content-type': form, authorization: `Bearer ${testApiKey}` });
    expect(expired.status).toBe(200);
    expect(expired.body).toEqual({ active: false });
    expect(expired.headers.get('cache-control')).toBe('no-store');
  });
});
