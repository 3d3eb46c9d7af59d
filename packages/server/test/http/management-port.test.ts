// With a management port, /metrics and /admin are served there only; the public port answers 404.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { type RunningServer, startServer as startNode } from '../../src/serve.js';
import { cleanupDirs, dataDir, killAll, serve } from '../cli/harness.js';
import { send } from '../helpers.js';
import { testPort } from '../ports.js';

const key = 'tsk_management_port_key_of_32_chars_or_more';
const servers: RunningServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
});

const loopback = (url: string) => url.replace('localhost', '127.0.0.1');

describe('the management port', () => {
  it('serves /metrics and /admin (and the management API the console calls); the public port refuses them with 404', async () => {
    const port = await testPort();
    const server = await startNode({
      port: 0,
      host: '127.0.0.1',
      dataDir: dataDir(),
      apiKey: key,
      logLevel: 'silent',
      config: parseConfig({ management: { port } }),
    });
    servers.push(server);
    const publicUrl = loopback(server.url);
    const managementUrl = `http://127.0.0.1:${port}`;
    expect(server.managementUrl).toBe(`http://127.0.0.1:${port}`);

    for (const path of ['/metrics', '/admin', '/admin/app.js']) {
      const refused = await send(`${publicUrl}${path}`);
      expect(refused.status, path).toBe(404);
      expect(refused.body.error).toBe('not_found');
    }
    const metrics = await send(`${managementUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('tessera_');
    const admin = await send(`${managementUrl}/admin`);
    expect(admin.status).toBe(200);
    expect(admin.headers.get('content-type')).toMatch(/^text\/html/);
    const listed = await send(`${managementUrl}/v1/users/alice/sessions`, { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(200);
    // The public port keeps everything else.
    expect((await send(`${publicUrl}/readyz`)).status).toBe(200);
    expect((await send(`${publicUrl}/v1/users/alice/sessions`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });

  it('without one, /metrics and /admin stay on the one port', async () => {
    const server = await startNode({ port: 0, host: '127.0.0.1', dataDir: dataDir(), apiKey: key, logLevel: 'silent' });
    servers.push(server);
    expect(server.managementUrl).toBeUndefined();
    expect((await send(`${loopback(server.url)}/metrics`)).status).toBe(200);
  });

  it('serve --management-port: prints where it listens, and SIGTERM closes both ports', async () => {
    const port = await testPort();
    const node = await serve(['--port', '0', '--host', '127.0.0.1', '--data', dataDir(), '--api-key', key, '--management-port', String(port)]);
    expect(node.stdout()).toContain(`Management (metrics, admin console) on http://127.0.0.1:${port}`);
    expect((await send(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect((await send(`${node.url}/metrics`)).status).toBe(404);
    node.process.kill('SIGTERM');
    expect((await node.exited).code).toBe(0);
  }, 30_000);

  it('is bounded in the config file', () => {
    expect(parseConfig({}).management).toEqual({ port: null, host: '127.0.0.1' });
    for (const management of [{ port: 70000 }, { port: -1 }, { host: '' }, { other: 1 }]) {
      expect(() => parseConfig({ management }), JSON.stringify(management)).toThrow();
    }
  });
});
