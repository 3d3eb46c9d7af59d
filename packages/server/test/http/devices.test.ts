import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Answer, call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

// Devices (issue 16, item 1): what a session records of its device, from the backend at creation and
// from the refreshing client after; the user's own list of sessions and ending one of them.

const macChrome = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const linuxFirefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const iphoneSafari = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const origin = 'https://app.example';

let server: TestServer;
afterEach(async () => server?.close());

async function start(config: Record<string, unknown> = {}): Promise<void> {
  server = await startServer({ config: { cors: { origins: [origin] }, ...config } });
}

const manage = (path: string, init: { method?: string; body?: unknown } = {}) => call(`${server.url}${path}`, { ...init, token: testApiKey });
const asUser = (path: string, accessToken: string, method = 'GET', headers: Record<string, string> = {}) =>
  call(`${server.url}${path}`, { method, token: accessToken, headers });
const refresh = (refreshToken: string, headers: Record<string, string> = {}) =>
  call(`${server.url}/v1/token/refresh`, { body: { refresh_token: refreshToken }, headers });

async function signIn(body: Record<string, unknown>): Promise<any> {
  const created = await manage('/v1/sessions', { body });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

function expectInvalid(answer: Answer, field: string): void {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body.error).toBe('invalid_request');
  expect(answer.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
}

/** A refresh over node:http, which sends no User-Agent unless told (fetch always sends one). */
function refreshWithoutUserAgent(refreshToken: string): Promise<number> {
  const body = JSON.stringify({ refresh_token: refreshToken });
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${server.url}/v1/token/refresh`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('the device at creation', () => {
  it('records what the backend passes, parsed, and says when it was last seen', async () => {
    await start();
    const grant = await signIn({ user_id: 'alice', device: { user_agent: macChrome, ip: '203.0.113.7' } });
    expect(grant.session.device).toEqual({ user_agent: macChrome, browser: 'Chrome 131', os: 'macOS', ip: '203.0.113.7' });
    expect(grant.session.last_seen_at).toBe(grant.session.created_at);
    expect(grant.session.refresh_count).toBe(0);
    // Read back through the management API: stored, not only echoed.
    expect((await manage(`/v1/sessions/${grant.session.id}`)).body.device).toEqual(grant.session.device);
  });

  it('is null when the backend passes none, and partial when it passes part', async () => {
    await start();
    expect((await signIn({ user_id: 'alice' })).session.device).toBeNull();
    expect((await signIn({ user_id: 'alice', device: {} })).session.device).toBeNull();
    expect((await signIn({ user_id: 'alice', device: { ip: '2001:db8::1' } })).session.device).toEqual({
      user_agent: null,
      browser: null,
      os: null,
      ip: '2001:db8::1',
    });
    // An agent that names no browser is kept raw, with nothing made up.
    expect((await signIn({ user_id: 'alice', device: { user_agent: 'curl/8.5.0' } })).session.device).toEqual({
      user_agent: 'curl/8.5.0',
      browser: null,
      os: null,
      ip: null,
    });
    // An IPv4 client seen through a dual-stack socket is shown as the IPv4 address.
    expect((await signIn({ user_id: 'alice', device: { ip: '::ffff:198.51.100.4' } })).session.device.ip).toBe('198.51.100.4');
  });

  it('refuses a hostile or malformed device with the invalid_request envelope, and starts no session', async () => {
    await start();
    const create = (device: unknown) => manage('/v1/sessions', { body: { user_id: 'mallory', device } });
    expectInvalid(await create({ user_agent: 'A'.repeat(513) }), 'device.user_agent');
    expectInvalid(await create({ user_agent: `Mozilla/5.0 \u0000 evil` }), 'device.user_agent');
    expectInvalid(await create({ ip: 'not-an-ip' }), 'device.ip');
    expectInvalid(await create({ ip: '999.1.1.1' }), 'device.ip');
    expectInvalid(await create({ ip: '1'.repeat(65) }), 'device.ip');
    expectInvalid(await create({ user_agent: 42 }), 'device.user_agent');
    expectInvalid(await create({ ip: ['127.0.0.1'] }), 'device.ip');
    expectInvalid(await create({ ip: '127.0.0.1', mac: '00:00:00:00:00:00' }), 'device.mac');
    expectInvalid(await create('Chrome on macOS'), 'device');
    expectInvalid(await create(null), 'device');
    expect((await manage('/v1/users/mallory/sessions')).body.sessions).toEqual([]);
  });
});

describe('the device on refresh', () => {
  it("takes the refreshing client's User-Agent and address, counts the refresh and moves last_seen_at; whoami writes nothing", async () => {
    await start();
    const grant = await signIn({ user_id: 'alice', device: { user_agent: macChrome, ip: '203.0.113.7' } });
    server.clock.advance(60);
    const refreshed = await refresh(grant.refresh_token, { 'user-agent': linuxFirefox });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body.session.device).toEqual({ user_agent: linuxFirefox, browser: 'Firefox 133', os: 'Linux', ip: '127.0.0.1' });
    expect(refreshed.body.session.refresh_count).toBe(1);
    expect(refreshed.body.session.last_seen_at).toBe(new Date(server.clock.now()).toISOString());

    const before = await server.store.getSession(grant.session.id);
    server.clock.advance(30);
    const whoami = await asUser('/v1/session', refreshed.body.access_token, 'GET', { 'user-agent': iphoneSafari });
    expect(whoami.status, whoami.text).toBe(200);
    expect(whoami.body.session.last_seen_at).toBe(refreshed.body.session.last_seen_at);
    expect(await server.store.getSession(grant.session.id)).toEqual(before);

    const again = await refresh(refreshed.body.refresh_token, { 'user-agent': iphoneSafari });
    expect(again.body.session.device).toMatchObject({ browser: 'Mobile Safari 17', os: 'iOS' });
    expect(again.body.session.refresh_count).toBe(2);
  });

  it('keeps the stored user agent when a refresh sends none, and cuts a huge one to a storable length', async () => {
    await start();
    const grant = await signIn({ user_id: 'alice', device: { user_agent: macChrome, ip: '203.0.113.7' } });
    expect(await refreshWithoutUserAgent(grant.refresh_token)).toBe(200);
    const kept = (await manage(`/v1/sessions/${grant.session.id}`)).body;
    expect(kept.device).toEqual({ user_agent: macChrome, browser: 'Chrome 131', os: 'macOS', ip: '127.0.0.1' });

    const second = await signIn({ user_id: 'alice' });
    const huge = `${macChrome} ${'x'.repeat(8000)}`;
    const refreshed = await refresh(second.refresh_token, { 'user-agent': huge });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body.session.device.user_agent).toBe(huge.slice(0, 512));
    expect(refreshed.body.session.device.browser).toBe('Chrome 131');
  });

  it('a replay within the reuse interval is not counted and records nothing', async () => {
    await start();
    const grant = await signIn({ user_id: 'alice' });
    const first = await refresh(grant.refresh_token, { 'user-agent': linuxFirefox });
    const replay = await refresh(grant.refresh_token, { 'user-agent': iphoneSafari });
    expect(replay.status, replay.text).toBe(200);
    expect(replay.body.refresh_token).toBe(first.body.refresh_token);
    const stored = (await manage(`/v1/sessions/${grant.session.id}`)).body;
    expect(stored.refresh_count).toBe(1);
    expect(stored.device.browser).toBe('Firefox 133');
  });

  it('ignores X-Forwarded-For unless trust_proxy says the proxy may name the client', async () => {
    await start();
    const direct = await signIn({ user_id: 'alice' });
    const spoofed = await refresh(direct.refresh_token, { 'x-forwarded-for': '198.51.100.66' });
    expect(spoofed.body.session.device.ip).toBe('127.0.0.1');
    await server.close();

    await start({ trust_proxy: ['127.0.0.1'] });
    const proxied = await signIn({ user_id: 'alice' });
    const forwarded = await refresh(proxied.refresh_token, { 'x-forwarded-for': '198.51.100.66, 127.0.0.1' });
    expect(forwarded.body.session.device.ip).toBe('198.51.100.66');
    await server.close();

    await start({ trust_proxy: true });
    const anyProxy = await signIn({ user_id: 'alice' });
    const named = await refresh(anyProxy.refresh_token, { 'x-forwarded-for': '2001:db8::9' });
    expect(named.body.session.device.ip).toBe('2001:db8::9');
  });

  it('records the device of an OAuth refresh (/oauth/token) too', async () => {
    await start();
    const grant = await signIn({ user_id: 'alice' });
    const answer = await send(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': linuxFirefox },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: grant.refresh_token }).toString(),
    });
    expect(answer.status, answer.text).toBe(200);
    const stored = (await manage(`/v1/sessions/${grant.session.id}`)).body;
    expect(stored).toMatchObject({ refresh_count: 1, device: { browser: 'Firefox 133', os: 'Linux', ip: '127.0.0.1' } });
  });
});

describe("the user's own sessions", () => {
  it("lists the caller's active sessions, newest first, this one marked, nobody else's and no ended ones", async () => {
    await start();
    const laptop = await signIn({ user_id: 'alice', device: { user_agent: macChrome, ip: '203.0.113.7' } });
    server.clock.advance(1);
    const phone = await signIn({ user_id: 'alice', device: { user_agent: iphoneSafari, ip: '198.51.100.2' } });
    server.clock.advance(1);
    const ended = await signIn({ user_id: 'alice' });
    await manage(`/v1/sessions/${ended.session.id}`, { method: 'DELETE' });
    const bobs = await signIn({ user_id: 'bob', device: { user_agent: linuxFirefox } });

    const listed = await asUser('/v1/session/sessions', laptop.access_token);
    expect(listed.status, listed.text).toBe(200);
    expect(Object.keys(listed.body)).toEqual(['sessions']);
    expect(listed.body.sessions.map((session: any) => [session.id, session.current])).toEqual([
      [phone.session.id, false],
      [laptop.session.id, true],
    ]);
    expect(listed.body.sessions[0]).toMatchObject({
      user_id: 'alice',
      status: 'active',
      device: { browser: 'Mobile Safari 17', os: 'iOS', ip: '198.51.100.2' },
    });
    expect(listed.body.sessions[1]).toEqual({ ...(await manage(`/v1/sessions/${laptop.session.id}`)).body, current: true });

    const fromPhone = await asUser('/v1/session/sessions', phone.access_token);
    expect(fromPhone.body.sessions.filter((session: any) => session.current).map((session: any) => session.id)).toEqual([phone.session.id]);
    const bobsList = await asUser('/v1/session/sessions', bobs.access_token);
    expect(bobsList.body.sessions.map((session: any) => session.id)).toEqual([bobs.session.id]);
  });

  it('needs a live access token', async () => {
    await start();
    const grant = await signIn({ user_id: 'alice' });
    expect((await call(`${server.url}/v1/session/sessions`)).body.error).toBe('token_missing');
    await asUser('/v1/session/logout', grant.access_token, 'POST');
    const afterLogout = await asUser('/v1/session/sessions', grant.access_token);
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.body.error).toBe('session_revoked');
  });

  it("ends another of the caller's sessions as signed_out_elsewhere, recorded as done by the user", async () => {
    await start();
    const laptop = await signIn({ user_id: 'alice' });
    const phone = await signIn({ user_id: 'alice' });
    const ended = await asUser(`/v1/session/sessions/${phone.session.id}`, laptop.access_token, 'DELETE');
    expect(ended.status, ended.text).toBe(200);
    expect(ended.body.session).toMatchObject({ id: phone.session.id, status: 'revoked', revoked_reason: 'signed_out_elsewhere' });

    const refused = await refresh(phone.refresh_token);
    expect(refused.body).toMatchObject({ error: 'session_revoked', details: [{ reason: 'signed_out_elsewhere' }] });
    expect((await asUser('/v1/session/sessions', laptop.access_token)).body.sessions.map((session: any) => session.id)).toEqual([laptop.session.id]);
    const [event] = await server.store.listAuditEvents({ sessionId: phone.session.id, type: 'session.revoked', limit: 10 });
    expect(event).toMatchObject({ actor: { type: 'user', id: 'alice' }, reason: 'signed_out_elsewhere' });

    // Ending it again answers it as it is.
    const again = await asUser(`/v1/session/sessions/${phone.session.id}`, laptop.access_token, 'DELETE');
    expect(again.body.session).toMatchObject({ status: 'revoked', revoked_reason: 'signed_out_elsewhere' });
  });

  it("refuses another user's session as not_found, and leaves it alive", async () => {
    await start();
    const alice = await signIn({ user_id: 'alice' });
    const bob = await signIn({ user_id: 'bob' });
    const refused = await asUser(`/v1/session/sessions/${bob.session.id}`, alice.access_token, 'DELETE');
    expect(refused.status, refused.text).toBe(404);
    expect(refused.body.error).toBe('not_found');
    expect((await manage(`/v1/sessions/${bob.session.id}`)).body.status).toBe('active');
    expect((await refresh(bob.refresh_token)).status).toBe(200);

    const unknown = await asUser('/v1/session/sessions/ses_nope', alice.access_token, 'DELETE');
    expect(unknown.body.error).toBe('not_found');
    expectInvalid(await asUser(`/v1/session/sessions/${'s'.repeat(200)}`, alice.access_token, 'DELETE'), 'id');
  });

  it('ending the current session is a logout', async () => {
    await start();
    const grant = await signIn({ user_id: 'alice' });
    const ended = await asUser(`/v1/session/sessions/${grant.session.id}`, grant.access_token, 'DELETE');
    expect(ended.body.session).toMatchObject({ status: 'revoked', revoked_reason: 'logout' });
  });

  it('answers browsers of listed origins, preflights included, like the other end-user routes', async () => {
    await start();
    const laptop = await signIn({ user_id: 'alice' });
    const phone = await signIn({ user_id: 'alice' });
    for (const [path, method] of [
      ['/v1/session/sessions', 'GET'],
      [`/v1/session/sessions/${phone.session.id}`, 'DELETE'],
    ] as const) {
      const preflight = await send(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.status, preflight.text).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
      expect(preflight.headers.get('access-control-allow-methods')).toContain(method);
      const answer = await asUser(path, laptop.access_token, method, { origin });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBe(origin);
    }
    const stranger = await send(`${server.url}/v1/session/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(stranger.body.error).toBe('origin_not_allowed');
  });
});
