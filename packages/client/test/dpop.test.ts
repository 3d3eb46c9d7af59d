// DPoP (RFC 9449) in the SDK, in Node: the key, the proofs (each checked by the verifier's
// `checkDpopProof`, not by the SDK's own code), refreshes and `client.fetch` with proofs, nonces,
// logout, the realtime `auth` frame and worker mode. The browser's IndexedDB key is in
// browser-dpop.test.ts.
import { checkDpopProof } from '@tessera/verifier/core';
import { afterEach, describe, expect, it } from 'vitest';
import { generateDpopKeyPair } from '../src/dpop-key.js';
import { asksForNonce } from '../src/dpop-nonce.js';
import { accessTokenHash, proofTarget, signDpopProof } from '../src/dpop-proof.js';
import { createDpopProver } from '../src/dpop-prover.js';
import {
  connectSessionWorker,
  createSessionClient,
  createSessionWorkerHost,
  type SessionClient,
  type SessionClientOptions,
  type WebSocketLike,
} from '../src/index.js';
import { DpopTessera, type NonceRefusal } from './dpop-fakes.js';
import { FakePage, ManualTimers } from './fakes.js';

const start = Date.UTC(2026, 11, 2, 12, 0, 0);
const refreshUrl = 'http://tessera.test/v1/token/refresh';

interface ProofParts {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

function partsOf(proof: string): ProofParts {
  const [header, payload] = proof
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
  return { header: header!, payload: payload! };
}

const clients: SessionClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose();
});

/** A client on `server`, with DPoP unless told otherwise, on a device clock that moves only with `timers`. */
function clientOf(server: DpopTessera, timers: ManualTimers, options: Partial<SessionClientOptions> = {}): SessionClient {
  const client = createSessionClient({
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    tabs: false,
    timers,
    environment: new FakePage(),
    dpop: true,
    ...options,
  });
  clients.push(client);
  return client;
}

/** A server and a device on one clock, the server `ahead` ms ahead, and a sign-in grant of 15-minute tokens. */
function setUp(ahead = 0) {
  const timers = new ManualTimers(start);
  const server = new DpopTessera();
  server.now = () => timers.now() + ahead;
  return { timers, server, grant: server.signIn() };
}

/**
 * Time moves to a minute before the held token's exp (issued 15 minutes before), when the schedule
 * refreshes, and stops there: Web Crypto signs off the event loop, so the request may leave after
 * `advance` returns; the clock must not have moved on under it. The refresh is waited for.
 */
async function refreshOnSchedule(timers: ManualTimers, client: SessionClient): Promise<string> {
  await timers.advance(840_000);
  return client.getAccessToken();
}

describe('the DPoP key', () => {
  it('is ES256 with a private key no script can export; its public JWK holds kty, crv, x, y only; its thumbprint is RFC 7638', async () => {
    const prover = createDpopProver(true, 'http://tessera.test', () => start)!;
    const key = await prover.key();
    expect(key.privateKey.extractable).toBe(false);
    expect(key.privateKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    await expect(crypto.subtle.exportKey('jwk', key.privateKey)).rejects.toThrow();
    await expect(crypto.subtle.exportKey('pkcs8', key.privateKey)).rejects.toThrow();
    expect(Object.keys(key.jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(key.jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    // jose's calculateJwkThumbprint, inside the verifier, works it out from the proof's header.
    const checked = await checkDpopProof(await prover.proof({ method: 'POST', url: refreshUrl }), { method: 'POST', url: refreshUrl, now: start });
    expect(checked.jkt).toBe(key.thumbprint);
    expect(key.thumbprint).toMatch(/^[\w-]{43}$/);
    // One key for the prover's life.
    expect(await prover.thumbprint()).toBe(key.thumbprint);
  });

  it('an app may bring its own ES256 pair; any other is refused', async () => {
    const pair = await generateDpopKeyPair();
    const prover = createDpopProver({ key: pair }, 'http://tessera.test', () => start)!;
    expect((await prover.key()).privateKey).toBe(pair.privateKey);
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const wrong = createDpopProver({ key: { privateKey: hmac, publicKey: hmac } }, 'http://tessera.test', () => start)!;
    await expect(wrong.key()).rejects.toThrow(TypeError);
    expect(createDpopProver(false, 'http://tessera.test', () => start)).toBeNull();
    expect(createDpopProver(undefined, 'http://tessera.test', () => start)).toBeNull();
  });
});

describe('a proof', () => {
  it('passes checkDpopProof: typ dpop+jwt, ES256, the public jwk, htm, htu without query and fragment, iat, a 128-bit jti, ath, nonce', async () => {
    const prover = createDpopProver(true, 'http://tessera.test', () => start)!;
    const key = await prover.key();
    const url = 'https://api.example.com/orders/7?page=2#top';
    const proof = await signDpopProof(key, { method: 'GET', url, issuedAt: start + 999, accessToken: 'the-token', nonce: 'n-1' });
    const { header, payload } = partsOf(proof);
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk });
    expect(payload).toEqual({
      jti: expect.stringMatching(/^[\w-]{22}$/),
      htm: 'GET',
      htu: 'https://api.example.com/orders/7',
      iat: start / 1000,
      ath: await accessTokenHash('the-token'),
      nonce: 'n-1',
    });
    const checked = await checkDpopProof(proof, {
      method: 'GET',
      url,
      now: start,
      accessToken: 'the-token',
      boundTo: key.thumbprint,
      acceptsNonce: (nonce) => nonce === 'n-1',
    });
    expect(checked).toEqual({ jkt: key.thumbprint, jti: payload['jti'], iat: start / 1000 });
    // Every proof has its own jti.
    const jtis = new Set(await Promise.all(Array.from({ length: 20 }, async () => partsOf(await prover.proof({ method: 'GET', url })).payload['jti'])));
    expect(jtis.size).toBe(20);
  });

  it('a socket URL proves as http(s): htu of wss://host/v1/realtime is https://host/v1/realtime', () => {
    expect(proofTarget('wss://auth.example.com/v1/realtime?x=1')).toBe('https://auth.example.com/v1/realtime');
    expect(proofTarget('ws://127.0.0.1:8080/v1/realtime')).toBe('http://127.0.0.1:8080/v1/realtime');
  });
});

describe('asksForNonce', () => {
  const nonce = { 'dpop-nonce': 'n-2' };
  const asJson = { 'content-type': 'application/json' };
  it.each([
    ['an OAuth use_dpop_nonce error (RFC 9449 §8)', 400, { error: 'use_dpop_nonce' }, { ...nonce, ...asJson }, true],
    ['a WWW-Authenticate DPoP challenge (§9)', 401, null, { ...nonce, 'www-authenticate': 'DPoP error="use_dpop_nonce"' }, true],
    [
      'a Tessera dpop_proof_invalid envelope for its nonce',
      401,
      { error: 'dpop_proof_invalid', details: [{ reason: 'nonce' }] },
      { ...nonce, ...asJson },
      true,
    ],
    ['use_dpop_nonce without a DPoP-Nonce header', 400, { error: 'use_dpop_nonce' }, asJson, false],
    ['another proof problem', 401, { error: 'dpop_proof_invalid', details: [{ reason: 'signature' }] }, { ...nonce, ...asJson }, false],
    ['a 500 with a nonce', 500, { error: 'use_dpop_nonce' }, { ...nonce, ...asJson }, false],
    ['a 200 with a nonce', 200, { ok: true }, { ...nonce, ...asJson }, false],
  ])('%s: %s', async (_, status, body, headers, asks) => {
    const response = new Response(body === null ? null : JSON.stringify(body), { status, headers });
    expect(await asksForNonce(response)).toBe(asks);
    // The body stays unread for the caller.
    expect(response.bodyUsed).toBe(false);
  });
});

describe('createSessionClient({ dpop: true })', () => {
  it('every refresh carries a proof for POST and the refresh URL, iat on server time on a device 10 minutes behind; the first binds the session', async () => {
    const { timers, server, grant } = setUp(10 * 60 * 1000);
    const client = clientOf(server, timers);
    await client.setSession(grant);
    const first = await refreshOnSchedule(timers, client);
    const second = await refreshOnSchedule(timers, client);
    expect(new Set([grant.access_token, first, second]).size).toBe(3);
    const refreshes = server.to('/v1/token/refresh');
    expect(refreshes).toHaveLength(2);
    // The fake checked each at its own clock: an iat from the device clock, 10 minutes behind, would fail.
    const thumbprint = await client.dpopThumbprint();
    expect(refreshes.map((each) => each.outcome)).toEqual([{ jkt: thumbprint }, { jkt: thumbprint }]);
    expect(partsOf(refreshes[0]!.proof!).payload).toMatchObject({ htm: 'POST', htu: refreshUrl });
    expect(partsOf(refreshes[0]!.proof!).payload['ath']).toBeUndefined();
    expect(server.boundTo).toBe(thumbprint);
  });

  it('client.fetch: a token bound to the key goes as Authorization: DPoP with a proof (ath its hash); a bearer token as before', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    const grant = server.signIn();
    await client.setSession(grant);
    // The sign-in token has no cnf: Bearer, no proof.
    const before = await client.fetch(`${server.baseUrl}/api/orders`);
    expect(before.status).toBe(200);
    // Refreshed on schedule, with a proof: bound now, its tokens carry cnf.jkt.
    const token = await refreshOnSchedule(timers, client);
    expect(server.to('/v1/token/refresh')).toHaveLength(1);
    expect(token).not.toBe(grant.access_token);
    const after = await client.fetch(`${server.baseUrl}/api/orders?page=2`, { method: 'post', body: '{}' });
    expect(after.status).toBe(200);
    const [bearer, dpop] = server.to('/api/orders');
    expect(bearer).toMatchObject({ authorization: `Bearer ${grant.access_token}`, proof: null });
    expect(dpop).toMatchObject({ method: 'POST', authorization: `DPoP ${token}`, outcome: { jkt: await client.dpopThumbprint() } });
    expect(partsOf(dpop!.proof!).payload).toMatchObject({ htm: 'POST', htu: `${server.baseUrl}/api/orders`, ath: await accessTokenHash(token) });
  });

  it('a Request object keeps its method and URL in the proof', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    server.boundTo = await client.dpopThumbprint();
    await client.setSession(server.signIn());
    const response = await client.fetch(new Request(`${server.baseUrl}/api/items/3`, { method: 'DELETE' }));
    expect(response.status).toBe(200);
    expect(partsOf(server.to('/api/items/3')[0]!.proof!).payload).toMatchObject({ htm: 'DELETE', htu: `${server.baseUrl}/api/items/3` });
  });

  it('dpop_jkt at sign-in: the first token is bound already, and the first request proves it', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    const grant = server.signIn((await client.dpopThumbprint())!);
    await client.setSession(grant);
    expect((await client.fetch(`${server.baseUrl}/api/me`)).status).toBe(200);
    expect(server.to('/api/me')[0]).toMatchObject({ authorization: `DPoP ${grant.access_token}`, outcome: { jkt: server.boundTo } });
    expect(server.to('/v1/token/refresh')).toHaveLength(0);
  });

  it.each<[string, NonceRefusal]>([
    ['an OAuth use_dpop_nonce error', 'oauth'],
    ['a Tessera dpop_proof_invalid envelope for its nonce', 'envelope'],
  ])('a refresh refused for want of a nonce (%s) is sent once more with it; the next refresh carries it at once', async (_, refusal) => {
    const { timers, server, grant } = setUp();
    server.nonce = 'n-1';
    server.nonceRefusal = refusal;
    const client = clientOf(server, timers);
    await client.setSession(grant);
    await refreshOnSchedule(timers, client);
    expect(server.to('/v1/token/refresh').map((each) => each.outcome)).toEqual([{ refused: 'nonce' }, { jkt: await client.dpopThumbprint() }]);
    expect(server.to('/v1/token/refresh')[1]!.nonce).toBe('n-1');
    expect(client.state).toBe('active');
    await refreshOnSchedule(timers, client);
    expect(server.to('/v1/token/refresh')).toHaveLength(3);
    expect(server.to('/v1/token/refresh')[2]).toMatchObject({ nonce: 'n-1', outcome: { jkt: server.boundTo } });
  });

  it('a new nonce later: one refused refresh, one with the new nonce', async () => {
    const { timers, server, grant } = setUp();
    server.nonce = 'n-1';
    const client = clientOf(server, timers);
    await client.setSession(grant);
    await refreshOnSchedule(timers, client);
    server.nonce = 'n-2';
    await refreshOnSchedule(timers, client);
    expect(server.to('/v1/token/refresh').map((each) => [each.nonce, 'refused' in (each.outcome ?? {})])).toEqual([
      [null, true],
      ['n-1', false],
      [null, true],
      ['n-2', false],
    ]);
  });

  it('client.fetch answered 401 WWW-Authenticate: DPoP error="use_dpop_nonce" is sent once more with the nonce; a second refusal is returned, not looped', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    server.boundTo = await client.dpopThumbprint();
    await client.setSession(server.signIn());
    server.nonce = 'n-api';
    expect((await client.fetch(`${server.baseUrl}/api/orders`)).status).toBe(200);
    expect(server.to('/api/orders').map((each) => each.nonce)).toEqual([null, 'n-api']);

    server.nonce = 'n-api-2';
    server.refuseEveryNonce = true;
    const refused = await client.fetch(`${server.baseUrl}/api/orders`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('use_dpop_nonce');
    // The remembered nonce, refused; the new one, refused: two sends, no more.
    expect(server.to('/api/orders')).toHaveLength(4);
  });

  it('logout sends the bound token as DPoP with a proof', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    server.boundTo = await client.dpopThumbprint();
    const grant = server.signIn();
    await client.setSession(grant);
    await client.logout();
    const [logout] = server.to('/v1/session/logout');
    expect(logout).toMatchObject({ method: 'POST', authorization: `DPoP ${grant.access_token}`, outcome: { jkt: server.boundTo } });
    expect(partsOf(logout!.proof!).payload).toMatchObject({ htm: 'POST', htu: `${server.baseUrl}/v1/session/logout` });
  });

  it('off by default: no DPoP header anywhere, no thumbprint, no proof', async () => {
    const { timers, server, grant } = setUp();
    const client = clientOf(server, timers, { dpop: undefined });
    await client.setSession(grant);
    await refreshOnSchedule(timers, client);
    await client.fetch(`${server.baseUrl}/api/orders`);
    expect(server.seen.map((each) => each.proof)).toEqual([null, null]);
    expect(await client.dpopThumbprint()).toBeNull();
    expect(await client.dpopProof({ method: 'GET', url: `${server.baseUrl}/api/orders` })).toBeNull();
  });

  it('dpopProof() makes a proof the app sends itself, with the nonce the server gave', async () => {
    const { timers, server, grant } = setUp();
    server.nonce = 'n-1';
    const client = clientOf(server, timers);
    await client.setSession(grant);
    const token = await refreshOnSchedule(timers, client);
    const url = 'http://tessera.test/api/export';
    const proof = await client.dpopProof({ method: 'GET', url, accessToken: token });
    const checked = await checkDpopProof(proof!, { method: 'GET', url, now: server.now(), accessToken: token, acceptsNonce: (nonce) => nonce === 'n-1' });
    expect(checked.jkt).toBe(await client.dpopThumbprint());
  });
});

/** A session worker with DPoP on (its key in the worker), a page connected to it over a channel, on manual time. */
function workerWithDpop() {
  const timers = new ManualTimers(start);
  const server = new DpopTessera();
  server.now = () => timers.now();
  const host = createSessionWorkerHost({ baseUrl: server.baseUrl, fetch: server.fetch, tabs: false, timers, dpop: true });
  const channel = new MessageChannel();
  host.connect(channel.port1 as unknown as Parameters<typeof host.connect>[0]);
  const page = connectSessionWorker(channel.port2 as unknown as Parameters<typeof connectSessionWorker>[0]);
  const dispose = () => {
    page.dispose();
    host.dispose();
    channel.port1.close();
    channel.port2.close();
  };
  return { server, host, page, dispose };
}

describe('the realtime socket with DPoP', () => {
  class Socket implements WebSocketLike {
    static created: ((socket: Socket) => void) | null = null;
    readyState = 0;
    readonly frames: Record<string, unknown>[] = [];
    onopen: ((event: object) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    onerror: ((event: object) => void) | null = null;
    #sent: (() => void) | null = null;
    readonly firstFrame = new Promise<void>((resolve) => (this.#sent = resolve));

    constructor(readonly url: string) {
      Socket.created?.(this);
      queueMicrotask(() => {
        this.readyState = 1;
        this.onopen?.({});
      });
    }

    send(data: string): void {
      this.frames.push(JSON.parse(data) as Record<string, unknown>);
      this.#sent?.();
    }

    close(): void {
      this.readyState = 3;
    }
  }

  /** The next socket the client opens. */
  const nextSocket = () => new Promise<Socket>((resolve) => (Socket.created = resolve));

  it('the auth frame of a bound token carries `dpop`: a proof for GET and the socket URL as http(s), with ath', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    server.boundTo = await client.dpopThumbprint();
    const grant = server.signIn();
    await client.setSession(grant);
    const opening = nextSocket();
    const socket = client.realtime({ WebSocket: Socket });
    try {
      const ws = await opening;
      await ws.firstFrame;
      expect(ws.url).toBe('ws://tessera.test/v1/realtime');
      const [auth] = ws.frames;
      expect(auth).toMatchObject({ type: 'auth', access_token: grant.access_token, dpop: expect.any(String) });
      const checked = await checkDpopProof(auth!['dpop'] as string, {
        method: 'GET',
        url: 'http://tessera.test/v1/realtime',
        now: server.now(),
        accessToken: grant.access_token,
        boundTo: server.boundTo!,
      });
      expect(checked.jkt).toBe(server.boundTo);
    } finally {
      socket.close();
    }
  });

  it("in worker mode the page's socket is proved by the worker's key: its auth frame carries the worker's proof", async () => {
    const { server, page, dispose } = workerWithDpop();
    const opening = nextSocket();
    let socket: { close(): void } | undefined;
    try {
      server.boundTo = await page.dpopThumbprint();
      const grant = server.signIn();
      await page.setSession(grant);
      const url = 'wss://tessera.test/v1/realtime';
      socket = page.realtime({ WebSocket: Socket, url });
      const ws = await opening;
      await ws.firstFrame;
      const [auth] = ws.frames;
      expect(auth).toMatchObject({ type: 'auth', access_token: grant.access_token, dpop: expect.any(String) });
      const checked = await checkDpopProof(auth!['dpop'] as string, {
        method: 'GET',
        url: 'https://tessera.test/v1/realtime',
        now: server.now(),
        accessToken: grant.access_token,
        boundTo: server.boundTo!,
      });
      expect(checked.jkt).toBe(server.boundTo);
    } finally {
      socket?.close();
      dispose();
    }
  });

  it('a bearer token authenticates as before, without `dpop`', async () => {
    const { timers, server } = setUp();
    const client = clientOf(server, timers);
    const grant = server.signIn();
    await client.setSession(grant);
    const opening = nextSocket();
    const socket = client.realtime({ WebSocket: Socket });
    try {
      const ws = await opening;
      await ws.firstFrame;
      expect(ws.frames[0]).toEqual({ type: 'auth', access_token: grant.access_token });
    } finally {
      socket.close();
    }
  });
});

describe('worker mode', () => {
  it('the key lives in the worker: a page reads its thumbprint, and its fetch is proved there', async () => {
    const { server, host, page, dispose } = workerWithDpop();
    try {
      const thumbprint = await page.dpopThumbprint();
      expect(thumbprint).toBe(await host.client.dpopThumbprint());
      server.boundTo = thumbprint;
      await page.setSession(server.signIn());
      expect((await page.fetch(`${server.baseUrl}/api/orders`)).status).toBe(200);
      expect(server.to('/api/orders')[0]).toMatchObject({ outcome: { jkt: thumbprint } });
      const url = `${server.baseUrl}/v1/realtime`;
      const proof = await page.dpopProof({ method: 'GET', url });
      expect((await checkDpopProof(proof!, { method: 'GET', url, now: server.now() })).jkt).toBe(thumbprint);
    } finally {
      dispose();
    }
  });
});
