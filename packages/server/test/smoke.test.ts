import { afterEach, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer, testApiKey } from './helpers.js';

describe('smoke: create, refresh, whoami over HTTP', () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it('creates a session and refreshes it once', async () => {
    server = await startServer();
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
    expect(created.status).toBe(201);
    const refreshed = await call(`${server.url}/v1/token/refresh`, { body: { refresh_token: created.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(created.body.refresh_token);
    const whoami = await call(`${server.url}/v1/session`, { token: refreshed.body.access_token });
    expect(whoami.body.session.id).toBe(created.body.session.id);
  });
});
