// The per-address cap on open sockets: refused before the handshake with the envelope, counted per
// client (X-Forwarded-For only from trusted proxies), freed when sockets close.
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { systemClock } from '../../src/core/clock.js';
import { clientAddressResolver } from '../../src/http/client-address.js';
import { attachRealtime, parseConfig } from '../../src/index.js';
import { startCore, type TestTessera } from '../helpers.js';
import { openSocket, type RealtimeServer, startRealtimeServer, type TestSocket } from './sockets.js';

let server: RealtimeServer | null = null;
let core: TestTessera | null = null;
const open: TestSocket[] = [];

afterEach(async () => {
  for (const socket of open.splice(0)) socket.ws.terminate();
  await server?.close();
  await core?.close();
  server = null;
  core = null;
});

/** An upgrade the server refuses: its status, headers and JSON body. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string | undefined, body: JSON.parse(text) }),
      );
    });
    ws.once('error', () => {});
  });
}

async function fill(url: string, count: number, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < count; i++) open.push(await openSocket(url, { headers }));
}

describe('sockets per client address', () => {
  it('refuses the socket past the cap with 429 rate_limited and Retry-After, and admits one again when one closes', async () => {
    server = await startRealtimeServer({ realtime: { maxSocketsPerClient: 3 } });
    await fill(server.socketUrl, 3);
    const refused = await refusedUpgrade(server.socketUrl);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('5');
    expect(refused.body).toMatchObject({ success: false, error: 'rate_limited', retry_after: 5, details: [{ limit: 'sockets_per_ip', max_sockets: 3 }] });
    expect(server.realtime.size).toBe(3);

    const first = open.shift()!;
    first.ws.close();
    await first.closed;
    open.push(await openSocket(server.socketUrl));
    expect(server.realtime.size).toBe(3);
  });

  it('counts each forwarded client apart when the proxy is trusted, and ignores X-Forwarded-For otherwise', async () => {
    server = await startRealtimeServer({ realtime: { maxSocketsPerClient: 2, clientAddress: clientAddressResolver(true) } });
    await fill(server.socketUrl, 2, { 'x-forwarded-for': '203.0.113.7' });
    expect((await refusedUpgrade(server.socketUrl, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(429);
    // Another client behind the same proxy; and another address of the same IPv6 /64 is the same client.
    await fill(server.socketUrl, 2, { 'x-forwarded-for': '2001:db8:1:2::1' });
    expect((await refusedUpgrade(server.socketUrl, { 'x-forwarded-for': '2001:db8:1:2:ffff::9' })).status).toBe(429);
    await server.close();

    // Untrusted: the header is the client's own claim, so every socket counts against the peer.
    server = await startRealtimeServer({ realtime: { maxSocketsPerClient: 2 } });
    await fill(server.socketUrl, 2, { 'x-forwarded-for': '198.51.100.1' });
    expect((await refusedUpgrade(server.socketUrl, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(429);
  });

  it("closes a socket past the cap with 1013 on an app's own ws server (the handshake is already done there)", async () => {
    core = await startCore({ clock: systemClock });
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    const wss = new WebSocketServer({ server: http });
    const gateway = attachRealtime(wss, { tessera: core.tessera, maxSocketsPerClient: 1 });
    try {
      const url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      open.push(await openSocket(url));
      const second = await openSocket(url);
      open.push(second);
      expect((await second.closed).code).toBe(1013);
      expect(gateway.size).toBe(1);
    } finally {
      await gateway.close();
      wss.close();
      http.close();
    }
  });

  it('is configured as rate_limits.sockets_per_ip: 500 by default, null for none', () => {
    expect(parseConfig({}).rateLimits.socketsPerIp).toBe(500);
    expect(parseConfig({ rate_limits: { sockets_per_ip: null } }).rateLimits.socketsPerIp).toBeNull();
    expect(parseConfig({ rate_limits: { sockets_per_ip: 20 } }).rateLimits.socketsPerIp).toBe(20);
    expect(() => parseConfig({ rate_limits: { sockets_per_ip: 0 } })).toThrow(/sockets_per_ip/);
    expect(() => parseConfig({ rate_limits: { sockets_per_ip: '20' } })).toThrow(/sockets_per_ip/);
  });
});
