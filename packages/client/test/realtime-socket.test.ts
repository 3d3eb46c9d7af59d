// The realtime socket's decisions, against a scripted WebSocket and a scripted session client.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionEndedError, SilentAuthFailedError } from '../src/errors.js';
import { openRealtime, publicClientHost, type RealtimeHost, type RealtimeSocket, type WebSocketLike } from '../src/realtime.js';
import { ManualTimers } from './fakes.js';

/** A frame the client sent, as parsed JSON: every frame has a type; the rest depends on it. */
interface SentFrame {
  readonly type: string;
  readonly access_token?: string;
  readonly data?: unknown;
}

class ScriptedSocket implements WebSocketLike {
  static all: ScriptedSocket[] = [];
  readyState = 0;
  readonly sent: SentFrame[] = [];
  closedWith: number | null = null;
  onopen: ((event: object) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: object) => void) | null = null;

  constructor(readonly url: string) {
    ScriptedSocket.all.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as SentFrame);
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.serverCloses(code);
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  serverCloses(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  get auths(): string[] {
    return this.sent.filter((frame) => frame.type === 'auth').map((frame) => frame.access_token ?? '(none)');
  }
}

/** A JWT-shaped token the SDK can read `sid` from (it never verifies). */
function token(sid: string, n: number): string {
  const payload = Buffer.from(JSON.stringify({ sid, n, exp: 2_000_000_000, iat: 1_900_000_000 })).toString('base64url');
  return `eyJhbGciOiJFUzI1NiJ9.${payload}.sig${n}`;
}

function scriptedHost(sid = 'ses_1') {
  let minted = 0;
  let current = token(sid, minted);
  const listeners = new Set<(state: string) => void>();
  const target = new EventTarget();
  const host = {
    baseUrl: 'https://auth.example.test',
    state: 'active',
    subscribe: (listener: (state: string) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getAccessToken: vi.fn(async () => current),
    renewAccessToken: vi.fn(async (used: string) => {
      if (used === current) current = token(sid, ++minted);
      return current;
    }),
    endSession: vi.fn(),
    environment: { target, document: null },
  } satisfies RealtimeHost;
  return {
    host,
    current: () => current,
    setState(state: string) {
      host.state = state;
      for (const listener of [...listeners]) listener(state);
    },
    wake: () => target.dispatchEvent(new Event('online')),
  };
}

const sockets: RealtimeSocket[] = [];
function open(host: RealtimeHost, readyTimeout = 5): RealtimeSocket {
  const socket = openRealtime(host, { WebSocket: ScriptedSocket, reconnect: { initialDelay: 0.01, maxDelay: 0.02 }, readyTimeout });
  sockets.push(socket);
  return socket;
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 2000) throw new Error(`not ${what}`);
    await tick(5);
  }
}
const latest = () => ScriptedSocket.all.at(-1)!;
const authsOnLatest = () => ScriptedSocket.all.at(-1)?.auths.length ?? 0;

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  ScriptedSocket.all = [];
});

describe('realtime socket', () => {
  it('connects to baseUrl/v1/realtime over ws(s), authenticates, and answers token_expiring in band on the same socket', async () => {
    const { host, current } = scriptedHost();
    const socket = open(host);
    await until(() => authsOnLatest() === 1, 'authenticated');
    expect(latest().url).toBe('wss://auth.example.test/v1/realtime');
    latest().receive({ type: 'ready', session_id: 'ses_1', access_token_expires_at: '2033-05-18T03:33:20.000Z' });
    expect(socket.status).toBe('open');
    const first = latest().auths[0]!;
    latest().receive({ type: 'token_expiring', access_token_expires_at: '2033-05-18T03:33:20.000Z' });
    await until(() => authsOnLatest() === 2, 're-authenticated');
    expect(host.renewAccessToken).toHaveBeenCalledWith(first);
    expect(latest().auths[1]).toBe(current());
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(socket.reauthentications).toBe(1);
  });

  it('4001 (token left to expire): reconnects with a token renewed past the refused one', async () => {
    const { host } = scriptedHost();
    const socket = open(host);
    await until(() => authsOnLatest() === 1, 'authenticated');
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    const refused = latest().auths[0]!;
    latest().receive({ type: 'error', error: { success: false, error: 'token_expired', message: 'expired', details: [], retry_after: null } });
    latest().serverCloses(4001);
    expect(socket.status).toBe('reconnecting');
    await until(() => ScriptedSocket.all.length === 2 && authsOnLatest() === 1, 'reconnected');
    expect(host.renewAccessToken).toHaveBeenCalledWith(refused);
    expect(latest().auths[0]).not.toBe(refused);
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    expect(socket.status).toBe('open');
    expect(socket.reconnects).toBe(1);
    expect(host.endSession).not.toHaveBeenCalled();
  });

  it('session_ended: the client session ends once, with the envelope as a SessionEndedError; no reconnect', async () => {
    const { host } = scriptedHost();
    const socket = open(host);
    await until(() => authsOnLatest() === 1, 'authenticated');
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    latest().receive({
      type: 'session_ended',
      error: {
        success: false,
        error: 'session_revoked',
        message: 'ended',
        details: [{ reason: 'admin', revoked_at: '2026-01-01T00:00:00.000Z' }],
        retry_after: null,
      },
    });
    latest().serverCloses(4003);
    await tick(50);
    expect(host.endSession).toHaveBeenCalledTimes(1);
    const [error, sessionId] = host.endSession.mock.calls[0]!;
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(error).toMatchObject({ code: 'session_revoked', reason: 'admin' });
    expect(sessionId).toBe('ses_1');
    expect(socket.status).toBe('closed');
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(socket.send('late')).toBe(false);
  });

  it('4002 ends the session as token_invalid, unless the server said the token was of another session: then a new socket', async () => {
    const mismatch = scriptedHost();
    const first = open(mismatch.host);
    await until(() => authsOnLatest() === 1, 'authenticated');
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    latest().receive({
      type: 'error',
      error: { success: false, error: 'token_invalid', message: 'x', details: [{ reason: 'session_mismatch' }], retry_after: null },
    });
    latest().serverCloses(4002);
    await until(() => ScriptedSocket.all.length === 2, 'reconnected');
    expect(mismatch.host.endSession).not.toHaveBeenCalled();
    first.close();

    const invalid = scriptedHost();
    const second = open(invalid.host);
    await until(() => authsOnLatest() === 1, 'authenticated');
    latest().serverCloses(4002);
    expect(invalid.host.endSession).toHaveBeenCalledTimes(1);
    expect(invalid.host.endSession.mock.calls[0]![0]).toMatchObject({ code: 'token_invalid' });
    expect(second.status).toBe('closed');
  });

  it('after a wake-up, an open socket re-authenticates; with no ready in time it is given up and replaced', async () => {
    const { host, wake } = scriptedHost();
    const socket = open(host, 0.1);
    await until(() => authsOnLatest() === 1, 'authenticated');
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    wake();
    await until(() => authsOnLatest() === 2, 'probed');
    // The socket is dead (no answer): the ready timeout closes it and a new one opens.
    await until(() => ScriptedSocket.all.length === 2, 'replaced');
    expect(ScriptedSocket.all[0]!.closedWith).toBe(4000);
    expect(socket.status).not.toBe('closed');
  });

  it('app messages: queued until ready, delivered to listeners; the session ending elsewhere closes the socket', async () => {
    const harness = scriptedHost();
    const received: unknown[] = [];
    const socket = open(harness.host);
    socket.onMessage((data) => received.push(data));
    expect(socket.send({ n: 1 })).toBe(true);
    await until(() => authsOnLatest() === 1, 'authenticated');
    expect(latest().sent.filter((frame) => frame.type === 'message')).toEqual([]);
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    expect(latest().sent.filter((frame) => frame.type === 'message')).toEqual([{ type: 'message', data: { n: 1 } }]);
    latest().receive({ type: 'message', data: { hello: 'there' } });
    expect(received).toEqual([{ hello: 'there' }]);

    harness.setState('ended');
    expect(socket.status).toBe('closed');
    expect(latest().closedWith).toBe(1000);
    await expect(socket.opened()).rejects.toThrow();
  });

  it('no token yet because the server is out of reach: retries; the session already over: closed without a socket', async () => {
    const offline = scriptedHost();
    offline.host.getAccessToken.mockRejectedValueOnce(new SilentAuthFailedError());
    const retrying = open(offline.host);
    await until(() => ScriptedSocket.all.length === 1, 'retried');
    expect(retrying.status).toBe('connecting');
    retrying.close();
    ScriptedSocket.all = [];

    const over = scriptedHost();
    over.host.getAccessToken.mockRejectedValue(new SessionEndedError('session_expired'));
    const closed = open(over.host);
    await until(() => closed.status === 'closed', 'closed');
    expect(ScriptedSocket.all).toHaveLength(0);
  });

  it('worker mode (public client API only): waits for the session to refresh; an ending is confirmed over HTTP through the client', async () => {
    let current = token('ses_1', 0);
    const fetched: string[] = [];
    const client = {
      state: 'active',
      subscribe: () => () => {},
      getAccessToken: vi.fn(async () => current),
      fetch: vi.fn(async (input: RequestInfo | URL) => {
        fetched.push(String(input));
        return new Response('{}', { status: 401 });
      }),
    };
    expect(() => publicClientHost(client as never, undefined)).toThrow(/url/);
    const host = publicClientHost(client as never, 'wss://auth.example.test/v1/realtime');
    expect(host.baseUrl).toBe('https://auth.example.test');
    const renewed = host.renewAccessToken(current);
    setTimeout(() => (current = token('ses_1', 1)), 100);
    expect(await renewed).toBe(token('ses_1', 1));
    host.endSession(new SessionEndedError('session_revoked'), 'ses_1');
    expect(fetched).toEqual(['https://auth.example.test/v1/session']);
  });

  it("on the host's timer source: no ready within readyTimeout gives the socket up, the reconnect waits its backoff, wake-up ticks run", async () => {
    const timers = new ManualTimers(Date.UTC(2026, 0, 1));
    const { host } = scriptedHost();
    const socket = openRealtime({ ...host, timers }, { WebSocket: ScriptedSocket, readyTimeout: 15, reconnect: { initialDelay: 2, maxDelay: 2 } });
    sockets.push(socket);
    await timers.advance(0);
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(latest().auths).toEqual([token('ses_1', 0)]);
    // The ready timer and the wake-up tick, both on the manual source.
    expect(timers.pending).toBe(2);

    await timers.advance(14_999);
    expect(latest().closedWith).toBeNull();
    await timers.advance(1);
    expect(latest().closedWith).toBe(4000);
    expect(socket.status).toBe('connecting');

    // Backoff of 2 s with equal jitter: between 1 and 2 s.
    await timers.advance(999);
    expect(ScriptedSocket.all).toHaveLength(1);
    await timers.advance(1001);
    expect(ScriptedSocket.all).toHaveLength(2);
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    expect(socket.status).toBe('open');

    // An hour of wake-up ticks on time: no probe, no new socket, no re-authentication.
    await timers.advance(3_600_000);
    expect(ScriptedSocket.all).toHaveLength(2);
    expect(latest().auths).toHaveLength(1);
    socket.close();
    expect(timers.pending).toBe(0);
  });

  it('the device sleeps while an auth waits for its ready: the late ready timer waits again, awake; the ready keeps the socket', async () => {
    const timers = new ManualTimers(Date.UTC(2026, 0, 1));
    const { host } = scriptedHost();
    const socket = openRealtime({ ...host, timers }, { WebSocket: ScriptedSocket, readyTimeout: 15 });
    sockets.push(socket);
    await timers.advance(0);
    expect(latest().auths).toHaveLength(1);

    // Asleep for an hour with the auth unanswered: on waking, its timer is 59 minutes late.
    await timers.sleep(3_600_000);
    expect(latest().closedWith).toBeNull();
    latest().receive({ type: 'ready', session_id: 'ses_1' });
    expect(socket.status).toBe('open');
    expect(ScriptedSocket.all).toHaveLength(1);

    // A probe after waking that the ready never answers still gives the socket up, a timeout later.
    await timers.sleep(3_600_000);
    expect(latest().auths).toHaveLength(2);
    await timers.advance(14_999);
    expect(latest().closedWith).toBeNull();
    await timers.advance(1);
    expect(ScriptedSocket.all[0]!.closedWith).toBe(4000);
    expect(socket.status).toBe('reconnecting');
  });
});
