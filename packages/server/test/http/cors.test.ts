import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

const app = 'https://app.example';
const evil = 'https://evil.example';

function preflight(server: TestServer, path: string, origin: string, method = 'POST', headers = 'authorization, content-type') {
  return send(`${server.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

describe('CORS for the routes a browser calls', () => {
  let server: TestServer;
  let accessToken: string;
  beforeAll(async () => {
    server = await startServer({ config: { cors: { origins: [app, 'http://localhost:5173'], max_age: 300 } } });
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
    accessToken = created.body.access_token;
  });
  afterAll(() => server.close());

  it.each([
    ['/v1/token/refresh', 'POST'],
    ['/v1/session', 'GET'],
    ['/v1/session/logout', 'POST'],
    ['/v1/session/logout-others', 'POST'],
  ])('preflight of %s from a listed origin: 204 with Authorization and Content-Type allowed', async (path, method) => {
    const answer = await preflight(server, path, app, method);
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(app);
    expect(answer.headers.get('access-control-allow-methods')).toBe(method);
    expect(answer.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(answer.headers.get('access-control-allow-headers')).toContain('content-type');
    expect(answer.headers.get('access-control-max-age')).toBe('300');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(answer.headers.get('vary')).toContain('Origin');
  });

  it('preflight from an unlisted, a look-alike or a null origin: origin_not_allowed envelope, no CORS headers', async () => {
    for (const origin of [evil, 'https://app.example.evil.example', 'http://app.example', 'https://app.example:444', 'null', 'HTTPS://APP.EXAMPLE/']) {
      const answer = await preflight(server, '/v1/token/refresh', origin);
      expect(answer.status, origin).toBe(403);
      expect(answer.body.error).toBe('origin_not_allowed');
      expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-allow-methods')).toBeNull();
    }
  });

  it('management routes never answer a preflight, even from a listed origin', async () => {
    for (const [path, method] of [
      ['/v1/sessions', 'POST'],
      ['/v1/sessions/ses_x', 'DELETE'],
      ['/v1/users/alice/sessions', 'GET'],
    ] as const) {
      const answer = await preflight(server, path, app, method);
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('origin_not_allowed');
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    }
    // And an actual cross-origin management call gets no CORS headers, so the page cannot read it.
    const listed = await call(`${server.url}/v1/users/alice/sessions`, { token: testApiKey, headers: { origin: app } });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('actual requests: listed origin gets CORS headers on success and on error envelopes, with Retry-After and X-Request-Id exposed', async () => {
    const ok = await call(`${server.url}/v1/session`, { token: accessToken, headers: { origin: app } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(app);
    expect(ok.headers.get('access-control-expose-headers')).toContain('retry-after');
    expect(ok.headers.get('access-control-expose-headers')).toContain('x-request-id');
    const failed = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: 'rt_nope' }, headers: { origin: app } });
    expect(failed.status).toBe(401);
    expect(failed.body.error).toBe('session_not_found');
    expect(failed.headers.get('access-control-allow-origin')).toBe(app);
  });

  it('actual requests from an unlisted origin are answered without CORS headers (the browser withholds them)', async () => {
    const answer = await call(`${server.url}/v1/session`, { token: accessToken, headers: { origin: evil } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(answer.headers.get('vary')).toContain('Origin');
  });

  it('a plain OPTIONS (no Origin) names the methods; GET on a POST route is still method_not_allowed', async () => {
    const plain = await send(`${server.url}/v1/token/refresh`, { method: 'OPTIONS' });
    expect(plain.status).toBe(204);
    expect(plain.headers.get('allow')).toBe('POST, OPTIONS');
    const wrong = await send(`${server.url}/v1/token/refresh`);
    expect(wrong.body.error).toBe('method_not_allowed');
  });
});

describe('CORS with no origins configured (the default)', () => {
  it('every preflight is origin_not_allowed; no CORS header anywhere', async () => {
    const server = await startServer();
    try {
      const answer = await preflight(server, '/v1/token/refresh', app);
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('origin_not_allowed');
      const actual = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: 'rt_x' }, headers: { origin: app } });
      expect(actual.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await server.close();
    }
  });
});
