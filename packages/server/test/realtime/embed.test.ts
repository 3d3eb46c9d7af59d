// attachRealtime on an app's own servers: a plain node:http server, and a `ws` server.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { systemClock } from '../../src/core/clock.js';
import { attachRealtime, type RealtimeGateway } from '../../src/index.js';
import { startCore, type TestTessera } from '../helpers.js';
import { readySocket } from './sockets.js';

let core: TestTessera | null = null;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await core?.close();
  core = null;
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('attachRealtime', () => {
  it("on an app's node:http server: a chat that relays messages to the user's sockets, and hears revocation", async () => {
    core = await startCore({ clock: systemClock });
    const tessera = core.tessera;
    const app = createServer((_request, response) => response.end('the app'));
    const received: unknown[] = [];
    const chat: RealtimeGateway = attachRealtime(app, {
      tessera,
      path: '/chat',
      onMessage(connection, data) {
        received.push(data);
        for (const peer of chat.connectionsOfUser(connection.userId!)) peer.send({ from: connection.sessionId, text: data });
      },
    });
    const port = await listen(app);
    cleanups.push(async () => {
      await chat.close();
      await new Promise((resolve) => app.close(resolve));
    });
    const phone = await tessera.sessions.createSession({ userId: 'alice' });
    const laptop = await tessera.sessions.createSession({ userId: 'alice' });
    const stranger = await tessera.sessions.createSession({ userId: 'bob' });
    const url = `ws://127.0.0.1:${port}/chat`;
    const [a, b, c] = await Promise.all([readySocket(url, phone.accessToken), readySocket(url, laptop.accessToken), readySocket(url, stranger.accessToken)]);

    a.socket.sendJson({ type: 'message', data: 'hello from the phone' });
    const onLaptop = await b.socket.next('message');
    const onPhone = await a.socket.next('message');
    expect(onLaptop).toEqual({ type: 'message', data: { from: phone.session.id, text: 'hello from the phone' } });
    expect(onPhone).toEqual(onLaptop);
    expect(received).toEqual(['hello from the phone']);
    expect(c.socket.frames.map((frame) => frame.type)).toEqual(['ready']);
    expect(chat.connectionsOfSession(laptop.session.id)).toHaveLength(1);

    await tessera.sessions.revokeSession(laptop.session.id, 'admin');
    expect((await b.socket.next('session_ended', 1000)).error.error).toBe('session_revoked');
    expect((await b.socket.closed).code).toBe(4003);
    expect(a.socket.ws.readyState).toBe(a.socket.ws.OPEN);
    expect(await fetch(`http://127.0.0.1:${port}/`).then((response) => response.text())).toBe('the app');
  });

  it('on a ws server: the same protocol; an app handler that throws closes only that socket, with 1011', async () => {
    core = await startCore({ clock: systemClock });
    const tessera = core.tessera;
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    const realtime = attachRealtime(wss, {
      tessera,
      onMessage(connection, data) {
        if (data === 'boom') throw new Error('app bug');
        connection.send({ echo: data });
      },
    });
    cleanups.push(async () => {
      await realtime.close();
      await new Promise((resolve) => wss.close(resolve));
    });
    const port = (wss.address() as { port: number }).port;
    const grant = await tessera.sessions.createSession({ userId: 'alice' });
    const { socket, ready } = await readySocket(`ws://127.0.0.1:${port}`, grant.accessToken);
    expect(ready.session_id).toBe(grant.session.id);
    socket.sendJson({ type: 'message', data: { n: 1 } });
    expect(await socket.next('message')).toEqual({ type: 'message', data: { echo: { n: 1 } } });

    const { socket: other } = await readySocket(`ws://127.0.0.1:${port}`, grant.accessToken);
    socket.sendJson({ type: 'message', data: 'boom' });
    expect(await socket.closed).toMatchObject({ code: 1011, reason: 'internal_error' });
    other.sendJson({ type: 'message', data: 2 });
    expect(await other.next('message')).toEqual({ type: 'message', data: { echo: 2 } });
    other.ws.close();
  });
});
