// `tessera serve` (a real process) serves the socket protocol on its own port, and shuts down
// cleanly with sockets open.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupDirs, dataDir, killAll, serve } from '../cli/harness.js';
import { call } from '../helpers.js';
import { openSocket, readySocket } from './sockets.js';

const key = 'tsk_realtime_serve_key_0123456789abcdef';

afterAll(async () => {
  await killAll();
  cleanupDirs();
});

describe('tessera serve', () => {
  it('answers /v1/realtime on its HTTP port; a revoke reaches the socket; SIGTERM closes open sockets with 1001 and exits 0', async () => {
    const node = await serve(['--port', '0', '--host', '127.0.0.1', '--data', dataDir(), '--api-key', key]);
    const created = await call(`${node.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key });
    expect(created.status).toBe(201);
    const { socket, ready } = await readySocket(`${node.url}/v1/realtime`, created.body.access_token);
    expect(ready.session_id).toBe(created.body.session.id);
    const revoked = await call(`${node.url}/v1/sessions/${created.body.session.id}`, { method: 'DELETE', token: key });
    expect(revoked.status).toBeLessThan(300);
    expect((await socket.next('session_ended', 1000)).error.error).toBe('session_revoked');
    expect((await socket.closed).code).toBe(4003);

    const other = await call(`${node.url}/v1/sessions`, { body: { user_id: 'bob' }, token: key });
    const { socket: open } = await readySocket(`${node.url}/v1/realtime`, other.body.access_token);
    node.process.kill('SIGTERM');
    expect((await open.closed).code).toBe(1001);
    expect(await node.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('reports its sockets in /metrics: open, authenticated, and dropped by cause', async () => {
    const node = await serve(['--port', '0', '--host', '127.0.0.1', '--data', dataDir(), '--api-key', key]);
    const gauge = async (name: string) => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const line = text.split('\n').find((each) => each.startsWith(`${name} `) || each.startsWith(`${name}{`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(await gauge('tessera_realtime_sockets')).toBe(0);
    const created = await call(`${node.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key });
    const { socket } = await readySocket(`${node.url}/v1/realtime`, created.body.access_token);
    const anonymous = await openSocket(`${node.url}/v1/realtime`);
    // Polled rather than slept on: whatever the node has yet to count shows up without a guessed pause.
    await expect.poll(() => gauge('tessera_realtime_sockets')).toBe(2);
    expect(await gauge('tessera_realtime_authenticated_sockets')).toBe(1);
    expect(await gauge('tessera_realtime_dropped_total')).toBe(0);
    socket.ws.close();
    anonymous.ws.close();
    await Promise.all([socket.closed, anonymous.closed]);
    await expect.poll(() => gauge('tessera_realtime_sockets')).toBe(0);
    expect(await gauge('tessera_realtime_authenticated_sockets')).toBe(0);
    node.process.kill('SIGTERM');
    await node.exited;
  }, 30_000);
});
