// A thousand concurrent sockets on one server, each on its own session, revoked at once.
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenGrant } from '../../src/core/sessions.js';
import { call, testApiKey } from '../helpers.js';
import { openSocket, type RealtimeServer, startRealtimeServer, type TestSocket } from './sockets.js';

let server: RealtimeServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

describe('a thousand sockets', () => {
  it('all authenticate, all carry app messages, and a revocation of all their sessions reaches every one', async () => {
    const count = 1000;
    server = await startRealtimeServer({
      // All from 127.0.0.1: the per-address cap (500 by default) is off here.
      realtime: { maxSocketsPerClient: null, onMessage: (connection, data) => void connection.send({ echo: data }) },
    });
    const { tessera } = server;
    const grants: TokenGrant[] = [];
    for (let i = 0; i < count; i += 100) {
      grants.push(...(await Promise.all(Array.from({ length: 100 }, () => tessera.sessions.createSession({ userId: 'crowd' })))));
    }
    const sockets: TestSocket[] = [];
    for (let i = 0; i < count; i += 100) {
      sockets.push(...(await Promise.all(grants.slice(i, i + 100).map(() => openSocket(server!.socketUrl)))));
    }
    for (const [i, socket] of sockets.entries()) socket.auth(grants[i]!.accessToken);
    const readies = await Promise.all(sockets.map((socket) => socket.next('ready', 30_000)));
    expect(new Set(readies.map((ready) => ready.session_id)).size).toBe(count);
    expect(server.realtime.connections()).toHaveLength(count);
    expect(server.realtime.authenticatedSize).toBe(count);

    for (const [i, socket] of sockets.entries()) socket.sendJson({ type: 'message', data: i });
    const echoes = await Promise.all(sockets.map((socket) => socket.next('message', 30_000)));
    expect(echoes.map((echo) => echo.data.echo)).toEqual(sockets.map((_, i) => i));

    const started = Date.now();
    const revoked = await call(`${server.url}/v1/users/crowd/sessions`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBeLessThan(300);
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    expect(new Set(closes.map((closed) => closed.code))).toEqual(new Set([4003]));
    expect(sockets.every((socket) => socket.frames.at(-1)?.type === 'session_ended')).toBe(true);
    // Generous: 1,000 revocations in one transaction and 1,000 close handshakes on a shared 2-core machine.
    expect(Math.max(...closes.map((closed) => closed.at)) - started).toBeLessThan(5000);
    for (let waited = 0; server.realtime.size > 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.realtime.size).toBe(0);
    expect(server.realtime.authenticatedSize).toBe(0);
  }, 90_000);
});
