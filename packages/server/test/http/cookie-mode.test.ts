import { afterEach, describe, expect, it } from 'vitest';
import { type Answer, call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

const app = 'https://app.example';
const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(cookie: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestServer> {
  const server = await startServer({ config: { cors: { origins: [app] }, cookie: { enabled: true, ...cookie }, ...extra } });
  servers.push(server);
  return server;
}

async function signIn(server: TestServer): Promise<any> {
  const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body;
}

/** The Set-Cookie header of an answer, parsed into its value and attributes. */
function setCookie(answer: Answer): { value: string; attributes: Record<string, string | true> } | undefined {
  const header = answer.headers.getSetCookie()[0];
  if (header === undefined) return undefined;
  const [pair, ...rest] = header.split(';').map((part) => part.trim());
  const attributes: Record<string, string | true> = {};
  for (const attribute of rest) {
    const [key, value] = attribute.split('=');
    attributes[key!.toLowerCase()] = value ?? true;
  }
  return { value: pair!.slice(pair!.indexOf('=') + 1), attributes };
}

/** A refresh as the browser SDK sends it in cookie mode: no body, the cookie, the CSRF header, its Origin. */
function cookieRefresh(server: TestServer, token: string, headers: Record<string, string> = {}): Promise<Answer> {
  return send(`${server.url}/v1/token/refresh`, {
    method: 'POST',
    headers: { cookie: `tessera_refresh=${token}`, 'x-tessera-csrf': '1', origin: app, ...headers },
  });
}

describe('cookie mode', () => {
  it('a refresh with the token in the body moves it into an HttpOnly, Secure, SameSite=Strict cookie on the refresh path', async () => {
    const server = await start();
    const session = await signIn(server);
    // Session creation is server to server: no cookie there.
    const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: session.refresh_token }, headers: { origin: app } });
    expect(answer.status, answer.text).toBe(200);
    const cookie = setCookie(answer)!;
    expect(cookie.value).toBe(answer.body.refresh_token);
    expect(cookie.attributes).toMatchObject({ httponly: true, secure: true, samesite: 'Strict', path: '/v1/token/refresh' });
    const maxAge = Number(cookie.attributes['max-age']);
    const expected = (Date.parse(answer.body.refresh_token_expires_at) - Date.parse(answer.body.server_time)) / 1000;
    expect(maxAge).toBe(Math.floor(expected));
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('refreshes from the cookie alone with the CSRF header; each answer rotates the cookie', async () => {
    const server = await start();
    const first = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } });
    let token = setCookie(first)!.value;
    for (let round = 0; round < 3; round++) {
      const answer = await cookieRefresh(server, token);
      expect(answer.status, answer.text).toBe(200);
      const next = setCookie(answer)!.value;
      expect(next).not.toBe(token);
      token = next;
    }
    // Same-origin pages (Origin = the server itself) and clients without an Origin (not browsers) pass too.
    const sameOrigin = await cookieRefresh(server, token, { origin: server.url });
    expect(sameOrigin.status, sameOrigin.text).toBe(200);
    const noOrigin = await send(`${server.url}/v1/token/refresh`, {
      method: 'POST',
      headers: { cookie: `tessera_refresh=${setCookie(sameOrigin)!.value}`, 'x-tessera-csrf': '1' },
    });
    expect(noOrigin.status, noOrigin.text).toBe(200);
  });

  it('refresh_token_in_body: false leaves the token out of the JSON (only the cookie has it)', async () => {
    const server = await start({ refresh_token_in_body: false });
    const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } });
    expect(answer.status).toBe(200);
    expect(answer.body).not.toHaveProperty('refresh_token');
    expect(answer.body).toHaveProperty('refresh_token_expires_at');
    expect(answer.body).toHaveProperty('access_token');
    expect(setCookie(answer)!.value).toMatch(/^rt_/);
  });

  it('SameSite=Lax, a domain and another path when configured', async () => {
    const server = await start({ same_site: 'lax', domain: 'example.com', path: '/auth/v1/token/refresh', secure: false });
    const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } });
    const cookie = setCookie(answer)!;
    expect(cookie.attributes).toMatchObject({ samesite: 'Lax', domain: 'example.com', path: '/auth/v1/token/refresh' });
    expect(cookie.attributes).not.toHaveProperty('secure');
  });

  describe('CSRF and hostile requests', () => {
    it('cookie without the CSRF header: csrf_failed, and the token is not spent', async () => {
      const server = await start();
      const token = setCookie(await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } }))!.value;
      const missing = await send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { cookie: `tessera_refresh=${token}`, origin: app } });
      expect(missing.status).toBe(403);
      expect(missing.body.error).toBe('csrf_failed');
      expect(missing.body.details).toEqual([{ header: 'X-Tessera-CSRF', reason: 'missing' }]);
      expect(setCookie(missing)).toBeUndefined();
      const wrong = await cookieRefresh(server, token, { 'x-tessera-csrf': 'yes' });
      expect(wrong.body.error).toBe('csrf_failed');
      // A form post (what a cross-site page can send without a preflight) is refused as well.
      const form = await send(`${server.url}/v1/token/refresh`, {
        method: 'POST',
        headers: { cookie: `tessera_refresh=${token}`, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'refresh_token=',
      });
      expect(form.status).toBe(415);
      expect((await cookieRefresh(server, token)).status).toBe(200);
    });

    it('a forged Origin with the cookie and the header: origin_not_allowed, the token not spent, no CORS headers', async () => {
      const server = await start();
      const token = setCookie(await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } }))!.value;
      for (const origin of ['https://evil.example', 'null', 'https://app.example.evil.example']) {
        const answer = await cookieRefresh(server, token, { origin });
        expect(answer.status, origin).toBe(403);
        expect(answer.body.error).toBe('origin_not_allowed');
        expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      }
      expect((await cookieRefresh(server, token)).status).toBe(200);
    });

    it('cookie and body both present: the body token is the one used, the cookie is replaced', async () => {
      const server = await start();
      const stale = setCookie(await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } }))!.value;
      const other = await call(`${server.url}/v1/sessions`, { body: { user_id: 'bob' }, token: testApiKey });
      const answer = await call(`${server.url}/v1/token/refresh`, {
        body: { refresh_token: other.body.refresh_token },
        headers: { cookie: `tessera_refresh=${stale}` },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.session.user_id).toBe('bob');
      expect(setCookie(answer)!.value).toBe(answer.body.refresh_token);
      // The stale cookie was not touched: alice's token is still live.
      expect((await cookieRefresh(server, stale)).body.session.user_id).toBe('alice');
    });

    it('neither body token nor cookie (the cookie is gone): token_missing, 401, naming both places', async () => {
      const server = await start();
      for (const answer of [
        await send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { 'x-tessera-csrf': '1', origin: app } }),
        await send(`${server.url}/v1/token/refresh`, { method: 'POST' }),
        await call(`${server.url}/v1/token/refresh`, { body: {}, headers: { origin: app } }),
        await send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: 'other=1' }, body: '' }),
      ]) {
        expect(answer.status, answer.text).toBe(401);
        expect(answer.body.error).toBe('token_missing');
        expect(answer.body.details).toEqual([{ field: 'refresh_token', message: 'no refresh_token in the body and no tessera_refresh cookie', in: 'cookie' }]);
        expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
        expect(setCookie(answer)).toBeUndefined();
      }
    });

    it('a body refresh_token of the wrong type is still invalid_request, cookie or not', async () => {
      const server = await start();
      const token = (await signIn(server)).refresh_token;
      for (const cookie of [undefined, `tessera_refresh=${token}`]) {
        const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: 42 }, headers: cookie ? { cookie, 'x-tessera-csrf': '1' } : {} });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('invalid_request');
        expect(answer.body.details[0].field).toBe('refresh_token');
      }
    });

    it('a huge cookie: over the header limit the envelope 400, under it invalid_request for an over-long token; never a 500', async () => {
      const server = await start();
      const huge = await send(`${server.url}/v1/token/refresh`, {
        method: 'POST',
        headers: { cookie: `tessera_refresh=${'x'.repeat(20_000)}`, 'x-tessera-csrf': '1' },
      });
      expect(huge.status).toBe(400);
      expect(huge.body.error).toBe('invalid_request');
      const long = await cookieRefresh(server, 'x'.repeat(4000));
      expect(long.status).toBe(400);
      expect(long.body.details[0].field).toBe('cookie.tessera_refresh');
      const junk = await cookieRefresh(server, '%E0%A4%A');
      expect(junk.status).toBe(401);
      expect(junk.body.error).toBe('session_not_found');
      const many = await send(`${server.url}/v1/token/refresh`, {
        method: 'POST',
        headers: { cookie: Array.from({ length: 300 }, (_, index) => `c${index}=v`).join('; ') + '; tessera_refresh=rt_x', 'x-tessera-csrf': '1' },
      });
      expect(many.body.error).toBe('session_not_found');
    });

    it('per-token rate limit applies to cookie refreshes too', async () => {
      const server = await start({}, { rate_limits: { refresh_per_token: { limit: 2, window: 60 } } });
      for (let index = 0; index < 2; index++) expect((await cookieRefresh(server, 'rt_guess')).status).toBe(401);
      const limited = await cookieRefresh(server, 'rt_guess');
      expect(limited.status).toBe(429);
      expect(limited.body.error).toBe('rate_limited');
    });
  });

  describe('the cookie ends with the session', () => {
    it('logout clears the cookie on its path', async () => {
      const server = await start();
      const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } });
      const logout = await send(`${server.url}/v1/session/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${answer.body.access_token}`, origin: app },
      });
      expect(logout.status).toBe(200);
      const cleared = setCookie(logout)!;
      expect(cleared.value).toBe('');
      expect(cleared.attributes).toMatchObject({ 'max-age': '0', path: '/v1/token/refresh', httponly: true });
      expect(logout.headers.get('access-control-allow-credentials')).toBe('true');
    });

    it('a cookie refresh of a revoked session clears the cookie; a bad body token leaves it alone', async () => {
      const server = await start();
      const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token } });
      const token = setCookie(answer)!.value;
      const bodyFailure = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: 'rt_nope' }, headers: { cookie: `tessera_refresh=${token}` } });
      expect(bodyFailure.body.error).toBe('session_not_found');
      expect(setCookie(bodyFailure)).toBeUndefined();
      await call(`${server.url}/v1/sessions/${answer.body.session.id}`, { method: 'DELETE', token: testApiKey });
      const revoked = await cookieRefresh(server, token);
      expect(revoked.body.error).toBe('session_revoked');
      expect(setCookie(revoked)!.attributes['max-age']).toBe('0');
    });
  });
});

describe('cookie mode off (the default)', () => {
  it('no Set-Cookie, a cookie is ignored, the body stays required', async () => {
    const server = await startServer();
    servers.push(server);
    const session = await signIn(server);
    const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: session.refresh_token } });
    expect(answer.headers.getSetCookie()).toEqual([]);
    const cookieOnly = await send(`${server.url}/v1/token/refresh`, {
      method: 'POST',
      headers: { cookie: `tessera_refresh=${answer.body.refresh_token}`, 'x-tessera-csrf': '1' },
    });
    expect(cookieOnly.status).toBe(400);
    expect(cookieOnly.body.error).toBe('invalid_request');
  });
});

describe('cookie mode: the __Host- prefix', () => {
  const cookieName = (answer: Answer) => answer.headers.getSetCookie()[0]?.split('=')[0];

  it('with path "/", Secure and no domain, the cookie is __Host-<name>; a same-named cookie a sibling planted is ignored', async () => {
    const server = await start({ path: '/' });
    const first = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token }, headers: { origin: app } });
    expect(first.status, first.text).toBe(200);
    expect(cookieName(first)).toBe('__Host-tessera_refresh');
    const cookie = setCookie(first)!;
    expect(cookie.attributes).toMatchObject({ path: '/', secure: true, httponly: true });
    expect(cookie.attributes).not.toHaveProperty('domain');
    const refreshed = await cookieRefresh(server, cookie.value, { cookie: `__Host-tessera_refresh=${cookie.value}` });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(cookieName(refreshed)).toBe('__Host-tessera_refresh');
    // A cookie without the prefix can come from any subdomain (Domain=app.example): it is not ours.
    const planted = await cookieRefresh(server, setCookie(refreshed)!.value);
    expect(planted.status).toBe(401);
    expect(planted.body.error).toBe('token_missing');
    // Logout clears the prefixed cookie, with the attributes it was set with.
    const logout = await send(`${server.url}/v1/session/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${refreshed.body.access_token}`, origin: app },
    });
    expect(logout.status).toBeLessThan(300);
    expect(cookieName(logout)).toBe('__Host-tessera_refresh');
    expect(setCookie(logout)!.attributes).toMatchObject({ path: '/', secure: true });
  });

  it('keeps the plain name where browsers would refuse the prefix: a narrower path, a domain, or no Secure', async () => {
    for (const cookie of [{}, { path: '/', domain: 'app.example' }, { path: '/', secure: false }]) {
      const server = await start(cookie);
      const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token }, headers: { origin: app } });
      expect(cookieName(answer), JSON.stringify(cookie)).toBe('tessera_refresh');
    }
  });

  it('a name that already carries the prefix is not prefixed twice', async () => {
    const server = await start({ path: '/', name: '__Host-auth' });
    const answer = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: (await signIn(server)).refresh_token }, headers: { origin: app } });
    expect(cookieName(answer)).toBe('__Host-auth');
  });
});
