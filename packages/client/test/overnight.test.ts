// "Left open overnight": a session client on a fake timer source (the `timers` option), advanced by
// hours, refreshes exactly on schedule, and the whole night takes milliseconds of real time.
// No `vi.useFakeTimers` here: every timer of the client must come from the source it was given.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessionClient, type SessionClient, type SessionClientOptions } from '../src/index.js';
import { FakePage, FakeTessera, ManualTimers } from './fakes.js';

const start = Date.UTC(2026, 0, 1, 22, 0, 0);
const hours = (n: number) => n * 3_600_000;

const clients: SessionClient[] = [];
afterEach(() => {
  for (const each of clients.splice(0)) each.dispose();
});

function setUp(options: { ttl: number; leeway: number; serverAhead?: number; extra?: Partial<SessionClientOptions> }) {
  const timers = new ManualTimers(start);
  const server = new FakeTessera();
  server.clock = () => timers.now();
  server.ttl = options.ttl;
  server.serverAhead = options.serverAhead ?? 0;
  const page = new FakePage();
  const onSessionRefreshed = vi.fn();
  const onSessionError = vi.fn();
  const client = createSessionClient({
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    environment: page,
    tabs: false,
    leeway: options.leeway,
    timers,
    handler: { onSessionRefreshed, onSessionError },
    ...options.extra,
  });
  clients.push(client);
  return { timers, server, page, client, onSessionRefreshed, onSessionError };
}

/**
 * Watches a global timer function for calls from the client's source (the stack at each call names
 * it). The test runner shares this process and sets timers of its own on a busy machine (a 10 s and a
 * 2 s one were seen in a CI run): those are not the client's.
 */
function watchGlobal(name: 'setTimeout' | 'setInterval'): { callsFromClient(): string[]; restore(): void } {
  const original = globalThis[name];
  const stacks: string[] = [];
  const spy = vi.spyOn(globalThis, name).mockImplementation(((...args: Parameters<typeof setTimeout>) => {
    stacks.push(new Error().stack ?? '');
    return original(...args);
  }) as typeof setTimeout);
  return {
    callsFromClient: () => stacks.filter((stack) => stack.includes('/client/src/')),
    restore: () => spy.mockRestore(),
  };
}

describe('left open overnight on a fake timer source', () => {
  it.each([
    // A refresh every (ttl − leeway): 8 h of 15 min tokens refreshed 60 s early is one every 14 min.
    { name: '15 min tokens, 60 s leeway, 8 h', ttl: 900, leeway: 60, night: 8, refreshes: Math.floor((8 * 60) / 14) },
    { name: '5 min tokens, 60 s leeway, 8 h', ttl: 300, leeway: 60, night: 8, refreshes: (8 * 60) / 4 },
    { name: '1 h tokens, 60 s leeway, 12 h', ttl: 3600, leeway: 60, night: 12, refreshes: Math.floor((12 * 60) / 59) },
    { name: '15 min tokens, server clock 10 min ahead, 8 h', ttl: 900, leeway: 60, night: 8, refreshes: Math.floor((8 * 60) / 14), serverAhead: 600_000 },
    { name: '15 min tokens, server clock 10 min behind, 8 h', ttl: 900, leeway: 60, night: 8, refreshes: Math.floor((8 * 60) / 14), serverAhead: -600_000 },
  ])('$name: $refreshes refreshes', async ({ ttl, leeway, night, refreshes, serverAhead }) => {
    const { timers, server, client, onSessionRefreshed, onSessionError } = setUp({ ttl, leeway, serverAhead });
    const globalTimer = watchGlobal('setTimeout');
    const globalInterval = watchGlobal('setInterval');
    const began = performance.now();
    await client.setSession(server.signIn());
    await timers.advance(hours(night));
    const took = performance.now() - began;
    // Every wait of the night went through the source it was given.
    expect(globalTimer.callsFromClient()).toEqual([]);
    expect(globalInterval.callsFromClient()).toEqual([]);
    globalTimer.restore();
    globalInterval.restore();

    expect(server.refreshCount).toBe(refreshes);
    expect(onSessionRefreshed).toHaveBeenCalledTimes(refreshes);
    expect(onSessionError).not.toHaveBeenCalled();
    expect(client.state).toBe('active');
    // The held token is fresh at dawn, on the server's clock: more than the leeway left, no request needed.
    expect(client.accessTokenExpiresAt!.getTime() - server.now()).toBeGreaterThan(leeway * 1000);
    await client.getAccessToken();
    expect(server.refreshCount).toBe(refreshes);
    // A night in milliseconds (generous for a busy machine: the real night is 8+ hours).
    expect(took).toBeLessThan(10_000);
  });

  it('a hidden page does not keep the session alive overnight; shown in the morning, it refreshes once', async () => {
    const { timers, server, page, client } = setUp({ ttl: 900, leeway: 60 });
    await client.setSession(server.signIn());
    page.hide();
    await timers.advance(hours(8));
    expect(server.refreshCount).toBe(0);
    page.show();
    await timers.advance(0);
    expect(server.refreshCount).toBe(1);
    expect(client.state).toBe('active');
  });

  it('after dispose() no timer of the client is left waiting', async () => {
    const { timers, server, client } = setUp({ ttl: 900, leeway: 60 });
    await client.setSession(server.signIn());
    await timers.advance(hours(1));
    expect(timers.pending).toBeGreaterThan(0);
    client.dispose();
    expect(timers.pending).toBe(0);
    await timers.advance(hours(8));
    expect(server.refreshCount).toBe(4);
  });
});
