// The admin console's server side: `?status=all` on the user listing (on both stores) and the
// console's page and scripts, served with their security headers and never CORS-enabled.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { buildApp } from '../../src/http/app.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTessera } from '../../src/tessera.js';
import { type Answer, call, send, startServer, testApiKey } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';

const start = Date.UTC(2026, 0, 1, 9, 0, 0);
/** A flow that ends after ten idle minutes, next to the default ones (`verification` ends after 15 minutes). */
const config = { flows: { idle: { access_token_ttl: 60, idle_timeout: 600, absolute_lifetime: 86_400, reuse_interval: 10 } } };
const sessionKeys = [
  'created_at',
  'device',
  'expires_at',
  'flow',
  'id',
  'idle_expires_at',
  'last_refreshed_at',
  'last_seen_at',
  'metadata',
  'refresh_count',
  'revoked_at',
  'revoked_reason',
  'status',
  'user_id',
];

interface RunningServer {
  url: string;
  clock: ManualClock;
  close(): Promise<void>;
}

async function startSqliteServer(): Promise<RunningServer> {
  const clock = new ManualClock(start);
  const server = await startServer({ clock, config });
  return { url: server.url, clock, close: () => server.close() };
}

let database: TestDatabase | undefined;

async function startPostgresServer(): Promise<RunningServer> {
  database ??= await createTestDatabase();
  const clock = new ManualClock(start);
  const store = await PostgresSessionStore.open({ connectionString: database.url });
  const tessera = await createTessera({ store, clock, config: parseConfig(config), apiKey: testApiKey, issuer: 'http://tessera.test' });
  const app = await buildApp(tessera);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    clock,
    async close() {
      await app.close();
      await tessera.close();
    },
  };
}

afterAll(async () => {
  await database?.drop();
});

function expectError(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body?.success).toBe(false);
  expect(answer.body?.error).toBe(code);
  expect(answer.headers.get('x-request-id')).toBe(answer.body.request_id);
}

describe.each([
  ['SQLite', startSqliteServer],
  ['PostgreSQL', startPostgresServer],
])('GET /v1/users/:user_id/sessions?status=all on %s', (_store, startNode) => {
  let server: RunningServer;
  // Unique per test: the PostgreSQL database is shared by the tests of this file.
  let user: string;
  beforeEach(async () => {
    server = await startNode();
    user = `user-${Math.random().toString(36).slice(2)}`;
  });
  afterEach(async () => server?.close());

  const manage = (path: string, method = 'GET', body?: unknown) => call(`${server.url}${path}`, { method, token: testApiKey, body });

  async function create(userId: string, flow = 'default'): Promise<any> {
    const created = await manage('/v1/sessions', 'POST', { user_id: userId, flow, metadata: { device: '<b>x</b>' } });
    expect(created.status, created.text).toBe(201);
    server.clock.advance(1);
    return created.body;
  }

  it('lists every status, newest first, with reason and times computed on the server clock', async () => {
    const absolute = await create(user, 'verification');
    const idle = await create(user, 'idle');
    const active = await create(user);
    const revoked = await create(user);
    await create(`${user}-other`);
    const revokedAnswer = await manage(`/v1/sessions/${revoked.session.id}`, 'DELETE');
    expect(revokedAnswer.status, revokedAnswer.text).toBe(200);
    // Keep the default session alive and let the idle one lapse (10 min) and the verification one end (15 min).
    server.clock.advance(300);
    const refreshed = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: active.refresh_token } });
    expect(refreshed.status, refreshed.text).toBe(200);
    server.clock.advance(700);

    const all = await manage(`/v1/users/${encodeURIComponent(user)}/sessions?status=all`);
    expect(all.status, all.text).toBe(200);
    expect(all.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(all.body).sort()).toEqual(['next_cursor', 'sessions', 'total']);
    expect(all.body.total).toBe(4);
    expect(all.body.next_cursor).toBeNull();
    const sessions: any[] = all.body.sessions;
    expect(sessions.map((s) => s.id)).toEqual([revoked, active, idle, absolute].map((g) => g.session.id));
    for (const session of sessions) {
      expect(Object.keys(session).sort()).toEqual(sessionKeys);
      expect(session.user_id).toBe(user);
      expect(session.metadata).toEqual({ device: '<b>x</b>' });
    }
    const [revokedView, activeView, idleView, absoluteView] = sessions;
    expect(revokedView).toMatchObject({ status: 'revoked', revoked_reason: 'admin', revoked_at: new Date(start + 5_000).toISOString() });
    expect(activeView).toMatchObject({ status: 'active', revoked_reason: null, revoked_at: null, last_refreshed_at: new Date(start + 305_000).toISOString() });
    expect(idleView).toMatchObject({ status: 'expired', flow: 'idle', revoked_at: null, idle_expires_at: new Date(start + 1_000 + 600_000).toISOString() });
    expect(absoluteView).toMatchObject({ status: 'expired', flow: 'verification', expires_at: new Date(start + 900_000).toISOString() });

    // Each agrees with the single-session view, which computes status the same way.
    for (const session of sessions) {
      const one = await manage(`/v1/sessions/${session.id}`);
      expect(one.body).toEqual(session);
    }

    // The default is unchanged: the active ones only, in the contract's shape.
    const activeOnly = await manage(`/v1/users/${encodeURIComponent(user)}/sessions`);
    expect(activeOnly.status).toBe(200);
    expect(Object.keys(activeOnly.body)).toEqual(['sessions', 'next_cursor', 'total']);
    expect(activeOnly.body.sessions.map((s: any) => s.id)).toEqual([active.session.id]);
    const explicit = await manage(`/v1/users/${encodeURIComponent(user)}/sessions?status=active`);
    expect(explicit.body).toEqual(activeOnly.body);
  });

  it('returns a page of the most recent with the true total, and a cursor to the rest', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) ids.push((await create(user)).session.id);
    const all = await manage(`/v1/users/${encodeURIComponent(user)}/sessions?status=all&limit=100`);
    expect(all.status).toBe(200);
    expect(all.body.sessions).toHaveLength(100);
    expect(all.body.total).toBe(101);
    expect(all.body.sessions.map((s: any) => s.id)).toEqual(ids.slice(1).reverse());
    const rest = await manage(`/v1/users/${encodeURIComponent(user)}/sessions?status=all&limit=100&cursor=${all.body.next_cursor}`);
    expect(rest.body).toMatchObject({ next_cursor: null, total: 101 });
    expect(rest.body.sessions.map((s: any) => s.id)).toEqual([ids[0]]);
  });

  it('answers an empty list for a user with no sessions', async () => {
    const all = await manage('/v1/users/nobody-at-all/sessions?status=all');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ sessions: [], next_cursor: null, total: 0 });
  });

  it.each(['any', 'ALL', '', 'all&status=active', 'all%00'])('refuses ?status=%s as invalid_request', async (value) => {
    const answer = await manage(`/v1/users/${encodeURIComponent(user)}/sessions?status=${value}`);
    expectError(answer, 400, 'invalid_request');
    expect(answer.body.details).toEqual([{ field: 'status', message: expect.stringContaining('allowed values'), in: 'querystring' }]);
  });

  it('needs the API key, as the rest of the management API', async () => {
    const answer = await call(`${server.url}/v1/users/${encodeURIComponent(user)}/sessions?status=all`, { token: 'not-the-key' });
    expectError(answer, 401, 'api_key_invalid');
  });
});

describe('the console at /admin', () => {
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const server = await startServer();
    url = server.url;
    close = () => server.close();
  });
  afterAll(async () => close?.());

  function expectSecurityHeaders(answer: Answer): void {
    const csp = answer.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  }

  it('serves the page, public and uncached, with no inline script or style', async () => {
    const page = await send(`${url}/admin`, { headers: { origin: 'http://elsewhere.example' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expectSecurityHeaders(page);
    expect(page.text).toContain('<script type="module" src="/admin/app.js"></script>');
    expect(page.text).toContain('href="/admin/console.css"');
    // Every script tag loads a file; no element carries a style attribute or an inline handler.
    for (const tag of page.text.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/\ssrc="\/admin\/[a-z-]+\.js"/);
    expect(page.text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const testId of ['key-input', 'key-submit', 'search-input', 'search-submit', 'revoke-all', 'counter-refresh-rate', 'session-rows']) {
      expect(page.text).toContain(`data-testid="${testId}"`);
    }
  });

  it('serves its icon, so the browser asks for no /favicon.ico', async () => {
    const page = await send(`${url}/admin`);
    expect(page.text).toContain('<link rel="icon" href="/admin/favicon.svg" type="image/svg+xml">');
    const icon = await send(`${url}/admin/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.text).toMatch(/^<svg /);
  });

  it('serves the stylesheet and the script with every module it imports', async () => {
    const css = await send(`${url}/admin/console.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expectSecurityHeaders(css);

    const pending = ['app.js'];
    const seen = new Set<string>();
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const script = await send(`${url}/admin/${file}`);
      expect(script.status, file).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(script.headers.get('cache-control')).toBe('no-cache');
      expectSecurityHeaders(script);
      expect(script.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
      for (const match of script.text.matchAll(/from '\.\/([a-z-]+\.js)'/g)) pending.push(match[1]!);
    }
    expect([...seen].sort()).toEqual([
      'activity-chart.js',
      'app.js',
      'confirm.js',
      'dom.js',
      'management-api.js',
      'node-counters.js',
      'session-detail.js',
      'session-state.js',
      'sessions-table.js',
      'times.js',
      'webhooks-table.js',
    ]);
  });

  it.each(['/admin/nope.js', '/admin/app.d.ts', '/admin/index.html', '/admin/%2e%2e%2fpackage.json', '/admin/..%2F..%2Fpackage.json', '/admin/a/b'])(
    'answers %s with the not_found envelope',
    async (path) => {
      const answer = await send(`${url}${path}`);
      expectError(answer, 404, 'not_found');
    },
  );

  it('sends /admin/ to /admin', async () => {
    const answer = await fetch(`${url}/admin/`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    expect(answer.status).toBe(308);
    expect(answer.headers.get('location')).toBe('/admin');
  });

  it('has no CORS: no preflight answer, no allow-origin header', async () => {
    const preflight = await send(`${url}/admin`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    expect(preflight.body?.success).toBe(false);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers other methods with the envelope', async () => {
    const answer = await send(`${url}/admin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expectError(answer, 405, 'method_not_allowed');
  });
});
