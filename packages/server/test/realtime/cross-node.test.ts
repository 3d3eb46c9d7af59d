// Revocation on one node reaches a socket on another: two real `tessera serve` processes sharing
// one data dir (the embedded SQLite store), revoked through the other node's HTTP API and through
// the `tessera sessions revoke` command (a third process). The socket hears it only through
// SessionService.onSessionEvent, fed by the cross-node fan-out (core/fanout.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupDirs, dataDir, killAll, runTessera, type ServeHandle, serve } from '../cli/harness.js';
import { call } from '../helpers.js';
import { openSocket, readySocket } from './sockets.js';

const key = 'tsk_cross_node_realtime_0123456789abcdef';

describe('revocation on one node reaches a socket on another', () => {
  let dir: string;
  let a: ServeHandle;
  let b: ServeHandle;

  beforeAll(async () => {
    dir = dataDir();
    const args = ['--port', '0', '--host', '127.0.0.1', '--data', dir, '--api-key', key, '--issuer', 'http://auth.example.test'];
    a = await serve(args);
    b = await serve(args);
  }, 60_000);

  afterAll(async () => {
    await killAll();
    cleanupDirs();
  });

  async function socketOnA(userId: string) {
    const created = await call(`${b.url}/v1/sessions`, { body: { user_id: userId }, token: key });
    expect(created.status, created.text).toBe(201);
    const { socket, ready } = await readySocket(`${a.url}/v1/realtime`, created.body.access_token);
    expect(ready.session_id).toBe(created.body.session.id);
    return { socket, sessionId: created.body.session.id as string };
  }

  it('DELETE on node B → session_ended (admin) and close 4003 on node A within 1 s', async () => {
    const { socket, sessionId } = await socketOnA('alice');
    const started = Date.now();
    const revoked = await call(`${b.url}/v1/sessions/${sessionId}`, { method: 'DELETE', token: key });
    expect(revoked.status).toBeLessThan(300);
    const ended = await socket.next('session_ended', 3000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ended.error).toMatchObject({ error: 'session_revoked', details: [{ reason: 'admin' }] });
    expect((await socket.closed).code).toBe(4003);
  });

  it('`tessera sessions revoke` (another process) → the socket on node A hears it within 1 s of the command finishing', async () => {
    const { socket, sessionId } = await socketOnA('bob');
    const revoked = await runTessera(['sessions', 'revoke', sessionId, '--data', dir]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const finished = Date.now();
    await socket.next('session_ended', 3000);
    expect(Date.now() - finished).toBeLessThan(1000);
    expect((await socket.closed).code).toBe(4003);
  });

  it('a logout on node B ends the socket on node A (reason logout)', async () => {
    const created = await call(`${b.url}/v1/sessions`, { body: { user_id: 'carol' }, token: key });
    const socket = await openSocket(`${a.url}/v1/realtime`);
    socket.auth(created.body.access_token);
    await socket.next('ready');
    expect((await call(`${b.url}/v1/session/logout`, { method: 'POST', token: created.body.access_token })).status).toBeLessThan(300);
    expect((await socket.next('session_ended', 3000)).error.details[0].reason).toBe('logout');
  });
});
