import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createSessionClient,
  localStorageAdapter,
  memoryStorage,
  type SessionClient,
  type SessionClientOptions,
  sessionStorageAdapter,
  type TokenStorage,
} from '../src/index.js';
import { FakeTessera } from './fakes.js';

class MapStorage {
  readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}

const start = Date.UTC(2026, 0, 1, 9, 0, 0);
let server: FakeTessera;
let local: MapStorage;
let session: MapStorage;
let clients: SessionClient[];

beforeEach(() => {
  vi.useFakeTimers({ now: start });
  server = new FakeTessera();
  local = new MapStorage();
  session = new MapStorage();
  vi.stubGlobal('localStorage', local);
  vi.stubGlobal('sessionStorage', session);
  clients = [];
});

afterEach(() => {
  for (const each of clients) each.dispose();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function client(storage: TokenStorage, options: Partial<SessionClientOptions> = {}): SessionClient {
  const created = createSessionClient({
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    storage,
    tabs: false,
    environment: { target: null, document: null },
    ...options,
  });
  clients.push(created);
  return created;
}

const stored = (storage: MapStorage) =>
  JSON.parse(storage.items.get('tessera.session') ?? 'null') as { tokens: { accessToken: string; refreshToken: string | null } } | null;

describe('storage', () => {
  it('keeps the refresh token out of localStorage unless the app opts in', async () => {
    const grant = server.signIn();
    client(localStorageAdapter()).setSession(grant);
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(local)?.tokens).toMatchObject({ accessToken: grant.access_token, refreshToken: null });
    expect(local.items.get('tessera.session')).not.toContain(grant.refresh_token!);

    client(localStorageAdapter({ persistRefreshToken: true })).setSession(grant);
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(local)?.tokens).toMatchObject({ refreshToken: grant.refresh_token });
  });

  it('a tab opened later knows the session from storage before its first refresh', async () => {
    const grant = server.signIn();
    client(localStorageAdapter()).setSession(grant);
    await vi.advanceTimersByTimeAsync(0);

    const later = client(localStorageAdapter());
    await later.ready;
    expect(later.session).toEqual(grant.session);
    expect(server.refreshCount).toBe(0);

    // A description of another session is not taken for this one.
    const record = JSON.parse(local.items.get('tessera.session')!) as { session: { id: string } };
    local.items.set('tessera.session', JSON.stringify({ ...record, session: { ...record.session, id: 'ses_other' } }));
    const confused = client(localStorageAdapter());
    await confused.ready;
    expect(confused.sessionId).toBe('ses_1');
    expect(confused.session).toBeNull();
  });

  it('restores a session after a reload and refreshes it when it holds the refresh token', async () => {
    const grant = server.signIn();
    client(sessionStorageAdapter({ persistRefreshToken: true })).setSession(grant);
    await vi.advanceTimersByTimeAsync(0);

    const reloaded = client(sessionStorageAdapter({ persistRefreshToken: true }));
    expect(reloaded.state).toBe('loading');
    await reloaded.ready;
    expect(reloaded.state).toBe('active');
    expect(await reloaded.getAccessToken()).toBe(grant.access_token);
    vi.setSystemTime(start + 16 * 60_000);
    expect(await reloaded.getAccessToken()).not.toBe(grant.access_token);
    expect(server.refreshCount).toBe(1);
  });

  it('restores an access-token-only session until it is due, then ends it, told, as refresh_token_unavailable', async () => {
    const grant = server.signIn();
    client(localStorageAdapter()).setSession(grant);
    await vi.advanceTimersByTimeAsync(0);

    const onSessionError = vi.fn();
    const onSessionClosed = vi.fn();
    const reloaded = client(localStorageAdapter(), { handler: { onSessionError, onSessionClosed } });
    expect(await reloaded.getAccessToken()).toBe(grant.access_token);
    vi.setSystemTime(start + 16 * 60_000);
    // Issue 12: this was a bare token_expired for every call, and nothing told the app.
    await expect(reloaded.getAccessToken()).rejects.toMatchObject({ code: 'refresh_token_unavailable' });
    expect(reloaded.state).toBe('ended');
    expect(onSessionError).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ code: 'refresh_token_unavailable' }));
    expect(onSessionClosed).toHaveBeenCalledExactlyOnceWith('refresh_token_unavailable');
    expect(server.refreshCount).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(local.items.has('tessera.session')).toBe(false);
  });

  it('a stored access-token-only session found expired on load ends as refresh_token_unavailable, not in silence', async () => {
    client(localStorageAdapter()).setSession(server.signIn());
    await vi.advanceTimersByTimeAsync(0);
    vi.setSystemTime(start + 16 * 60_000);
    const onSessionClosed = vi.fn();
    const later = client(localStorageAdapter(), { handler: { onSessionClosed } });
    expect(later.state).toBe('loading');
    await later.ready;
    expect(later.state).toBe('ended');
    expect(later.endError?.code).toBe('refresh_token_unavailable');
    expect(onSessionClosed).toHaveBeenCalledExactlyOnceWith('refresh_token_unavailable');
    await vi.advanceTimersByTimeAsync(0);
    expect(local.items.has('tessera.session')).toBe(false);
  });

  it('clears storage when the session ends', async () => {
    const first = client(localStorageAdapter({ persistRefreshToken: true }));
    first.setSession(server.signIn());
    server.revoke('admin');
    vi.setSystemTime(start + 16 * 60_000);
    await expect(first.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
    await vi.advanceTimersByTimeAsync(0);
    expect(local.items.has('tessera.session')).toBe(false);
  });

  it('keeps working on the copy in memory when storage throws', async () => {
    const broken: TokenStorage = {
      persistRefreshToken: true,
      getItem: () => Promise.reject(new Error('denied')),
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {},
    };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const withBroken = client(broken);
    const grant = server.signIn();
    withBroken.setSession(grant);
    await vi.advanceTimersByTimeAsync(0);
    expect(await withBroken.getAccessToken()).toBe(grant.access_token);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });

  it('warns once per streak when storage refuses writes, and not while it takes them', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let full = true;
    const quota: TokenStorage = {
      persistRefreshToken: true,
      getItem: () => null,
      setItem: () => {
        if (full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      },
      removeItem: () => {},
    };
    const withQuota = client(quota);
    const grant = server.signIn();
    await withQuota.setSession(grant);
    vi.setSystemTime(start + 14.5 * 60_000);
    await withQuota.getAccessToken(); // a refresh: a second refused write, same streak
    await vi.advanceTimersByTimeAsync(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/could not be written to storage \(key "tessera.session"\).*will not survive a reload/);
    expect(warn.mock.calls[0]![1]).toMatchObject({ name: 'QuotaExceededError' });
    expect(withQuota.state).toBe('active');

    full = false;
    vi.setSystemTime(start + 29 * 60_000);
    await withQuota.getAccessToken(); // written: the streak is over
    full = true;
    vi.setSystemTime(start + 44 * 60_000);
    await withQuota.getAccessToken();
    await vi.advanceTimersByTimeAsync(0);
    expect(warn).toHaveBeenCalledTimes(2);

    warn.mockClear();
    await client(localStorageAdapter()).setSession(server.signIn('ses_2'));
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('the Web Storage adapters pass a refused write on, so the client can warn; a refused removal too', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('localStorage', {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      removeItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    const denied = client(localStorageAdapter());
    const grant = server.signIn();
    await denied.setSession(grant);
    expect(await denied.getAccessToken()).toBe(grant.access_token);
    expect(warn).toHaveBeenCalledTimes(1);
    await denied.logout();
    await vi.advanceTimersByTimeAsync(0);
    // Still refused: the same streak, told once. A client that could write warns about the removal.
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockClear();

    const removals: TokenStorage = { persistRefreshToken: true, getItem: () => null, setItem: () => {}, removeItem: () => Promise.reject(new Error('locked')) };
    const other = client(removals);
    await other.setSession(server.signIn('ses_3'));
    await other.logout();
    await vi.advanceTimersByTimeAsync(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/could not be removed from storage.*may read the ended session back/);
    warn.mockRestore();
  });

  it('memoryStorage is the default and holds nothing across clients', async () => {
    client(memoryStorage()).setSession(server.signIn());
    const other = client(memoryStorage());
    await other.ready;
    expect(other.state).toBe('signed_out');
  });
});
