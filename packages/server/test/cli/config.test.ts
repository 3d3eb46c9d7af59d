import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, jwtPayload, killAll, runTessera, serve } from './harness.js';
import { runInProcess } from './in-process.js';

afterAll(async () => {
  await killAll();
  cleanupDirs();
});

const key = 'tsk_config_key_0123456789abcdefghijklm';

function configFile(data: string, text: string): string {
  const path = join(data, 'config.json');
  writeFileSync(path, text);
  return path;
}

/** `tessera serve --config` on a file holding `text`, in a process of its own or (the default) in this one. */
async function serveFails(text: string, run: typeof runTessera = runInProcess): Promise<{ code: number | null; stderr: string; data: string }> {
  const data = dataDir();
  const result = await run(['serve', '--port', '0', '--host', '127.0.0.1', '--data', data, '--config', configFile(data, text)]);
  expect(result.stdout).not.toContain('Tessera is listening');
  return { code: result.code, stderr: result.stderr, data };
}

// Each case has a data folder of its own: they run side by side. The refusals after the first run in
// this process (see in-process.ts).
describe.concurrent('tessera serve --config', () => {
  it('refuses a misspelt key, naming it (a real process: a message and exit 2, nothing written)', async () => {
    const { code, stderr, data } = await serveFails(JSON.stringify({ flows: { default: { acces_token_ttl: 60 } } }), runTessera);
    expect(code).toBe(2);
    expect(stderr).toContain('flows.default.acces_token_ttl: unknown key');
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(existsSync(join(data, 'tessera.db'))).toBe(false);
  });

  it('refuses a value of the wrong type, naming the key', async () => {
    const { code, stderr } = await serveFails(JSON.stringify({ flows: { default: { access_token_ttl: 'x' } } }));
    expect(code).toBe(2);
    expect(stderr).toContain('flows.default.access_token_ttl');
    expect(stderr).toMatch(/integer/);
  });

  it('refuses an unknown top-level key and a bad flow name', async () => {
    const unknown = await serveFails(JSON.stringify({ flowz: {} }));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('flowz: unknown key');
    const badName = await serveFails(JSON.stringify({ flows: { 'no spaces': {} } }));
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('flows.no spaces: flow names must match');
  });

  it('refuses __proto__ as a flow name', async () => {
    const { code, stderr } = await serveFails('{"flows":{"__proto__":{"access_token_ttl":5}}}');
    expect(code).toBe(2);
    expect(stderr).toContain('flows.__proto__: flow names must match');
  });

  it('refuses invalid JSON', async () => {
    const { code, stderr } = await serveFails('{"flows": {');
    expect(code).toBe(2);
    expect(stderr).toMatch(/config\.json is not valid JSON/);
  });

  it('refuses a missing file', async () => {
    const data = dataDir();
    const result = await runInProcess(['serve', '--port', '0', '--data', data, '--config', join(data, 'missing.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Cannot read config file');
  });

  it('the one-shot commands validate the config too', async () => {
    const data = dataDir();
    const path = configFile(data, JSON.stringify({ flows: { default: { reuse_interval: -1 } } }));
    const result = await runInProcess(['sessions', 'list', '--user', 'u', '--data', data, '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('flows.default.reuse_interval');
  });

  it('a valid config with a custom flow works', async () => {
    const data = dataDir();
    const path = configFile(
      data,
      JSON.stringify({ flows: { kiosk: { access_token_ttl: 60, idle_timeout: 600, absolute_lifetime: 3600 } }, audience: 'my-app' }),
    );
    const server = await serve(['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key, '--config', path]);
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice', flow: 'kiosk' }, token: key });
    expect(created.status, created.text).toBe(201);
    expect(created.body.session.flow).toBe('kiosk');
    const claims = jwtPayload(created.body.access_token);
    expect(claims.flow).toBe('kiosk');
    expect(claims.aud).toBe('my-app');
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    const createdAt = Date.parse(created.body.session.created_at);
    expect(Date.parse(created.body.session.expires_at) - createdAt).toBe(3600_000);
    expect(Date.parse(created.body.session.idle_expires_at) - createdAt).toBe(600_000);
    expect((await call(`${server.url}/v1/session`, { token: created.body.access_token })).status).toBe(200);

    // The built-in flow is still there; a flow nobody configured is refused.
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key })).body.session.flow).toBe('default');
    const unknown = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice', flow: 'nope' }, token: key });
    expect(unknown.status).toBe(400);
  });
});
