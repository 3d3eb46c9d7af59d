import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { testPort } from '../ports.js';
import { cleanupDirs, dataDir, jwtPayload, killAll, type ServeHandle, serve, spawnTessera, stop } from './harness.js';
import { runInProcess } from './in-process.js';

// Apart from the first group, every test starts processes of its own on a data folder of its own, so
// the tests of each group run side by side; whatever is left running is killed at the end.
afterAll(async () => {
  await killAll();
  cleanupDirs();
});

const loopback = ['--host', '127.0.0.1'];

// One data folder, started on in turn: first with nothing given, then again, then with TESSERA_API_KEY.
describe.sequential('tessera serve: a first start, and later ones on the same --data', () => {
  let data: string;
  let first: ServeHandle;
  beforeAll(async () => {
    data = dataDir();
    first = await serve(['--port', '0', ...loopback, '--data', data]);
  });

  it('prints the real listening URL, a generated key once, and a curl line that works', async () => {
    const server = first;
    const port = Number(new URL(server.printedUrl).port);
    expect(port).toBeGreaterThan(0);
    expect(server.printedUrl).toBe(`http://localhost:${port}`);
    expect(server.generatedKey).toMatch(/^tsk_[A-Za-z0-9_-]{20,}$/);
    // Exactly one key printed, and it is the one in the curl line.
    expect(
      server
        .stdout()
        .match(/tsk_[A-Za-z0-9_-]+/g)
        ?.filter((key) => key !== server.generatedKey),
    ).toEqual([]);
    const curl = server.stdout().match(/^\s*(curl .*)$/m)?.[1];
    expect(curl).toContain(`-X POST http://localhost:${port}/v1/sessions`);
    expect(curl).toContain(`authorization: Bearer ${server.generatedKey}`);
    expect(curl).toContain(`-d '{"user_id":"alice"}'`);

    // The printed key is the management key; no key or another key is refused.
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: server.generatedKey! });
    expect(created.status).toBe(201);
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' } })).status).toBe(401);
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: 'tsk_wrong' })).status).toBe(401);

    // With port 0 the default issuer still names the real port.
    const metadata = await call(`${server.url}/.well-known/oauth-authorization-server`);
    expect(metadata.body.issuer).toBe(`http://localhost:${port}`);
    expect(metadata.body.jwks_uri).toBe(`http://localhost:${port}/.well-known/jwks.json`);
    expect(jwtPayload(created.body.access_token).iss).toBe(`http://localhost:${port}`);
  });

  it('a second start on the same --data prints no key, and the first key still works', async () => {
    const key = first.generatedKey!;
    expect(key).toBeDefined();
    expect((await stop(first)).code).toBe(0);

    const second = await serve(['--port', '0', ...loopback, '--data', data]);
    expect(second.generatedKey).toBeUndefined();
    expect(second.stdout()).not.toMatch(/tsk_/);
    expect(second.stdout()).toContain('Management API key: the one you set or the one printed on first start.');
    expect(second.stdout()).toContain('authorization: Bearer $TESSERA_API_KEY');
    const created = await call(`${second.url}/v1/sessions`, { body: { user_id: 'bob' }, token: key });
    expect(created.status).toBe(201);
    await stop(second);
  });

  it('env TESSERA_API_KEY makes that key the accepted one, even over a stored generated key', async () => {
    const generated = first.generatedKey!;
    await stop(first);
    const server = await serve(['--port', '0', ...loopback, '--data', data], { TESSERA_API_KEY: 'tsk_chosen_by_env_0123456789abcdefghijk' });
    expect(server.generatedKey).toBeUndefined();
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'a' }, token: 'tsk_chosen_by_env_0123456789abcdefghijk' })).status).toBe(201);
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'a' }, token: generated })).status).toBe(401);
  });
});

describe.concurrent('tessera serve: the management key', () => {
  it('--api-key K makes K the accepted key, over TESSERA_API_KEY, and prints no generated key', async () => {
    const flagKey = 'tsk_chosen_by_flag_0123456789abcdefghij';
    const envKey = 'tsk_env_0123456789abcdefghijklmnopqrstu';
    const server = await serve(['--port', '0', ...loopback, '--data', dataDir(), '--api-key', flagKey], { TESSERA_API_KEY: envKey });
    expect(server.generatedKey).toBeUndefined();
    expect(server.stdout()).not.toContain(flagKey);
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'a' }, token: flagKey })).status).toBe(201);
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'a' }, token: envKey })).status).toBe(401);
    expect((await call(`${server.url}/v1/sessions`, { body: { user_id: 'a' }, token: 'tsk_other' })).status).toBe(401);
  });
});

describe.concurrent('tessera serve: port and issuer', () => {
  it('listens on env PORT when --port is not given', async () => {
    const port = await testPort();
    const server = await serve([...loopback, '--data', dataDir()], { PORT: String(port) });
    expect(server.printedUrl).toBe(`http://localhost:${port}`);
    const health = await call(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect((await call(`${server.url}/.well-known/oauth-authorization-server`)).body.issuer).toBe(`http://localhost:${port}`);
  });

  it('--port wins over env PORT', async () => {
    const port = await testPort();
    const server = await serve(['--port', String(port), ...loopback, '--data', dataDir()], { PORT: '1' });
    expect(server.printedUrl).toBe(`http://localhost:${port}`);
  });

  it('refuses a port that is not a port', async () => {
    // In this process (in-process.ts): startup-errors.test.ts refuses a flag in a real one.
    const result = await runInProcess(['serve', '--port', 'eighty', '--data', dataDir()]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('not a port: eighty');
  });

  it('exits non-zero when the port is taken', async () => {
    const first = await serve(['--port', '0', ...loopback, '--data', dataDir()]);
    const port = new URL(first.printedUrl).port;
    const second = spawnTessera(['serve', '--port', port, ...loopback, '--data', dataDir()]);
    const { code } = await second.exited;
    expect(code).not.toBe(0);
    expect(second.stderr()).toContain('tessera: cannot listen');
    expect(second.stderr()).toContain('EADDRINUSE');
    expect(second.stderr()).not.toMatch(/^\s+at /m);
    expect(second.stdout()).not.toContain('Tessera is listening');
  });

  it('--issuer sets the iss of tokens and of the authorization server metadata, over the config file issuer', async () => {
    const data = dataDir();
    const config = join(data, 'config.json');
    writeFileSync(config, JSON.stringify({ issuer: 'https://from-config.example.test' }));
    const issuer = 'https://auth.example.test';
    const server = await serve([
      '--port',
      '0',
      ...loopback,
      '--data',
      data,
      '--api-key',
      'tsk_k_0123456789abcdefghijklmnopqrstuvw',
      '--config',
      config,
      '--issuer',
      issuer,
    ]);
    const metadata = await call(`${server.url}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    expect(metadata.body.issuer).toBe(issuer);
    expect(metadata.body.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: 'tsk_k_0123456789abcdefghijklmnopqrstuvw' });
    expect(jwtPayload(created.body.access_token).iss).toBe(issuer);
    // And the server verifies its own tokens against that issuer.
    expect((await call(`${server.url}/v1/session`, { token: created.body.access_token })).status).toBe(200);
  });

  it('env TESSERA_ISSUER sets the issuer too', async () => {
    const issuer = 'https://env-issuer.example.test';
    const server = await serve(['--port', '0', ...loopback, '--data', dataDir(), '--api-key', 'tsk_k_0123456789abcdefghijklmnopqrstuvw'], {
      TESSERA_ISSUER: issuer,
    });
    expect((await call(`${server.url}/.well-known/oauth-authorization-server`)).body.issuer).toBe(issuer);
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: 'tsk_k_0123456789abcdefghijklmnopqrstuvw' });
    expect(jwtPayload(created.body.access_token).iss).toBe(issuer);
  });

  it('the config file issuer is used when no --issuer is given', async () => {
    const data = dataDir();
    const config = join(data, 'config.json');
    writeFileSync(config, JSON.stringify({ issuer: 'https://from-config.example.test' }));
    const server = await serve(['--port', '0', ...loopback, '--data', data, '--api-key', 'tsk_k_0123456789abcdefghijklmnopqrstuvw', '--config', config]);
    expect((await call(`${server.url}/.well-known/oauth-authorization-server`)).body.issuer).toBe('https://from-config.example.test');
    const created = await call(`${server.url}/v1/sessions`, { body: { user_id: 'alice' }, token: 'tsk_k_0123456789abcdefghijklmnopqrstuvw' });
    expect(jwtPayload(created.body.access_token).iss).toBe('https://from-config.example.test');
  });
});

describe.concurrent('tessera serve: logs', () => {
  it('with --log-level info and --log-requests all, writes pino JSON lines for every request', async () => {
    const server = await serve(['--port', '0', ...loopback, '--data', dataDir(), '--log-level', 'info', '--log-requests', 'all']);
    await call(`${server.url}/healthz`);
    await server.waitFor(/"msg":"request completed"/);
    const lines = (server.stdout() + server.stderr())
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      expect(typeof line['level']).toBe('number');
      expect(typeof line['time']).toBe('number');
      expect(line['service']).toBe('tessera');
      expect(typeof line['msg']).toBe('string');
    }
    const completed = lines.find((line) => line['msg'] === 'request completed');
    expect(completed?.['reqId']).toMatch(/^req_/);
    expect(lines.some((line) => line['msg'] === 'incoming request' && line['reqId'] === completed?.['reqId'])).toBe(true);
  });

  it('by default logs a line for each refused or failed answer only, and none with --log-requests none', async () => {
    const key = 'tsk_log_default_0123456789abcdefghijk';
    const quiet = await serve(['--port', '0', ...loopback, '--data', dataDir(), '--log-level', 'info', '--api-key', key]);
    const silent = await serve(['--port', '0', ...loopback, '--data', dataDir(), '--log-level', 'info', '--api-key', key], { LOG_REQUESTS: 'none' });
    for (const server of [quiet, silent]) {
      expect((await call(`${server.url}/healthz`)).status).toBe(200);
      // A resource server's long poll on the revocation feed: over a second by design, so not slow.
      const { cursor } = (await call(`${server.url}/v1/revocations`, { token: key })).body;
      const started = Date.now();
      expect((await call(`${server.url}/v1/revocations?cursor=${cursor}&wait=2`, { token: key })).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect((await call(`${server.url}/v1/session`)).status).toBe(401);
    }
    await quiet.waitFor(/"msg":"request completed"/);
    const requestLines = (output: string) =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; req?: { url: string }; res?: { statusCode: number }; responseTime?: number })
        .filter((line) => line.msg === 'request completed' || line.msg === 'incoming request');
    const logged = requestLines(quiet.stdout() + quiet.stderr());
    expect(logged.map((line) => [line.msg, line.req?.url, line.res?.statusCode])).toEqual([['request completed', '/v1/session', 401]]);
    expect(typeof logged[0]?.responseTime).toBe('number');
    // The other server answered the same two requests (after the first's line was written) and logged neither.
    expect(requestLines(silent.stdout() + silent.stderr())).toEqual([]);
  });

  it('with --log-level warn, writes no info lines', async () => {
    const server = await serve(['--port', '0', ...loopback, '--data', dataDir(), '--log-level', 'warn']);
    await call(`${server.url}/healthz`);
    await call(`${server.url}/healthz`);
    expect((server.stdout() + server.stderr()).split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
  });
});
