// Worker mode over real MessageChannels (Node's, the same structured cloning as browsers'): one
// session in the "worker", any number of pages. The browser test runs it in a real SharedWorker.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  connectSessionWorker,
  createSessionWorkerHost,
  type MessagePortLike,
  type SessionClient,
  SessionEndedError,
  type SessionWorkerHost,
  SilentAuthFailedError,
} from '../src/index.js';
import { FakeTessera } from './fakes.js';

// Signed in now, for the default 14 days: the client does not refresh a token that ends with its session.
const sessionInfo = {
  id: 'ses_1',
  user_id: 'alice',
  flow: 'default',
  status: 'active',
  created_at: new Date().toISOString(),
  last_refreshed_at: null,
  expires_at: new Date(Date.now() + 14 * 86_400_000).toISOString(),
  idle_expires_at: null,
  revoked_at: null,
  revoked_reason: null,
  metadata: {},
  device: null,
  last_seen_at: new Date().toISOString(),
  refresh_count: 0,
} as const;
let server: FakeTessera;
let host: SessionWorkerHost;
let channels: MessageChannel[];
let pages: SessionClient[];
/** Milliseconds added to the worker's device clock. */
let shift: number;

/** Moves the device clock and the server's together, as time passing does. */
function moveClocks(ms: number): void {
  shift += ms;
  server.serverAhead = shift;
}

beforeEach(() => {
  server = new FakeTessera();
  shift = 0;
  host = createSessionWorkerHost({
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    tabs: false,
    now: () => Date.now() + shift,
    retry: { initialDelay: 0.01, maxDelay: 0.02 },
  });
  channels = [];
  pages = [];
});

afterEach(() => {
  for (const page of pages) page.dispose();
  host.dispose();
  for (const channel of channels) {
    channel.port1.close();
    channel.port2.close();
  }
});

function openPage(handler = {}): SessionClient {
  const channel = new MessageChannel();
  channels.push(channel);
  host.connect(channel.port1 as unknown as MessagePortLike);
  const page = connectSessionWorker(channel.port2 as unknown as MessagePortLike, { handler });
  pages.push(page);
  return page;
}

describe('worker mode', () => {
  it('pages share the worker session: many callers on two pages cause one refresh', async () => {
    const first = openPage();
    const second = openPage();
    await Promise.all([first.ready, second.ready]);
    expect(first.state).toBe('signed_out');

    const grant = server.signIn();
    first.setSession(grant);
    expect(await second.getAccessToken()).toBe(grant.access_token);
    await vi.waitFor(() => expect(second.state).toBe('active'));
    expect(second.sessionId).toBe('ses_1');

    moveClocks(14.5 * 60_000);
    const tokens = await Promise.all([
      ...Array.from({ length: 20 }, () => first.getAccessToken()),
      ...Array.from({ length: 20 }, () => second.getAccessToken()),
    ]);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(grant.access_token);
    expect(server.refreshCount).toBe(1);
  });

  it('pages mirror the session, the access-token expiry and the end error', async () => {
    const page = openPage();
    await page.ready;
    const grant = { ...server.signIn(), session: sessionInfo };
    page.setSession(grant);
    await vi.waitFor(() => expect(page.accessTokenExpiresAt?.getTime()).toBe(Date.parse(grant.access_token_expires_at ?? '')));
    expect(page.session).toEqual(sessionInfo);
    server.revoke('admin');
    moveClocks(16 * 60_000);
    await page.getAccessToken().catch(() => {});
    await vi.waitFor(() => expect(page.state).toBe('ended'));
    expect(page.endError).toBeInstanceOf(SessionEndedError);
    expect([page.endError?.code, page.endError?.reason]).toEqual(['session_revoked', 'admin']);
    expect(page.accessTokenExpiresAt).toBeNull();
  });

  it('fetch goes through the worker: bearer attached, body and headers kept, refreshed and retried on token_expired', async () => {
    const page = openPage();
    page.setSession(server.signIn());
    const response = await page.fetch('http://tessera.test/api/orders', { method: 'POST', body: JSON.stringify({ item: 1 }), headers: { 'x-app': 'yes' } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ok: boolean; token: string };
    expect(body.token).toBe(await page.getAccessToken());

    // The server's clock is past exp, the client's is not: the API says token_expired, the worker refreshes and retries.
    server.serverAhead = 16 * 60_000;
    const retried = await page.fetch('http://tessera.test/api/orders');
    expect(retried.status).toBe(200);
    expect(server.refreshCount).toBe(1);
    expect(server.requests.filter((line) => line.endsWith('/api/orders'))).toHaveLength(3);
  });

  it('every page hears each transition once, with errors of the right class', async () => {
    const heard: Record<string, unknown[][]> = { first: [], second: [] };
    const recorder = (name: keyof typeof heard) => ({
      onSessionRevoked: (...args: unknown[]) => heard[name]!.push(['revoked', ...args]),
      onSessionClosed: (...args: unknown[]) => heard[name]!.push(['closed', ...args]),
      onSessionError: (...args: unknown[]) => heard[name]!.push(['error', ...args]),
    });
    const first = openPage(recorder('first'));
    openPage(recorder('second'));
    first.setSession(server.signIn());
    await first.getAccessToken();

    server.revoke('admin');
    moveClocks(14.5 * 60_000);
    const results = await Promise.allSettled([first.getAccessToken(), first.getAccessToken()]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as SessionEndedError;
      expect(reason).toBeInstanceOf(SessionEndedError);
      expect(reason.code).toBe('session_revoked');
      expect(reason.reason).toBe('admin');
    }
    await vi.waitFor(() => expect(heard['second']).toHaveLength(2));
    for (const events of Object.values(heard)) {
      expect(events.map((event) => event.slice(0, 2))).toEqual([
        ['revoked', 'admin'],
        ['closed', 'session_revoked'],
      ]);
      expect(events[0]![2]).toBeInstanceOf(SessionEndedError);
    }
    await vi.waitFor(() => expect(first.state).toBe('ended'));
  });

  it('a network failure reaches the page as SilentAuthFailedError and the session is kept', async () => {
    const onSessionError = vi.fn();
    const page = openPage({ onSessionError });
    page.setSession(server.signIn());
    await page.getAccessToken();
    server.failNext({ kind: 'network' }, { kind: 'network' }, { kind: 'network' });
    moveClocks(16 * 60_000);
    const error = await page.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SilentAuthFailedError);
    await vi.waitFor(() => expect(onSessionError).toHaveBeenCalledOnce());
    expect(page.state).not.toBe('ended');
    // The worker retries on its schedule and recovers.
    await vi.waitFor(async () => expect((await page.fetch('http://tessera.test/api/x')).status).toBe(200), { timeout: 3000 });
  });

  it('setSession checks its argument in the page; logout ends the session for every page', async () => {
    const closed = vi.fn();
    const first = openPage();
    const second = openPage({ onSessionClosed: closed });
    expect(() => first.setSession({} as never)).toThrow(TypeError);
    first.setSession(server.signIn());
    await first.getAccessToken();
    await first.logout();
    await vi.waitFor(() => expect(second.state).toBe('signed_out'));
    expect(closed).toHaveBeenCalledExactlyOnceWith('logout');
    await expect(second.getAccessToken()).rejects.toMatchObject({ code: 'token_missing' });
  });

  it('sessions() and endSession() go through the worker: dates arrive as Date, errors with their class', async () => {
    const page = openPage();
    page.setSession(server.signIn());
    const devices = await page.sessions();
    expect(devices.map((device) => [device.id, device.current, device.browser])).toEqual([
      ['ses_1', true, null],
      ['ses_phone', false, 'Mobile Safari 17'],
    ]);
    expect(devices[1]!.lastSeenAt).toBeInstanceOf(Date);
    expect(devices[1]!.lastSeenAt.toISOString()).toBe(devices[1]!.session.last_seen_at);
    await page.endSession('ses_phone');
    expect(server.endedSessions).toEqual(['ses_phone']);
    await expect(page.endSession('ses_nope')).rejects.toMatchObject({ code: 'not_found', name: 'TesseraError' });
  });
});
