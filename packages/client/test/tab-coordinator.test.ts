import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FastForwardClock } from '../../server/src/core/clock.js';
import type { SessionClientOptions, StorageEventSource, TabMessage, TokenStorage } from '../src/index.js';
import {
  browserTabCoordinator,
  createSessionClient,
  type LockManagerLike,
  type SessionClient,
  storageEventChannel,
  type TabCoordinator,
} from '../src/index.js';
import { holdTokens } from '../src/token-grant.js';
import { FakePage, FakeTessera } from './fakes.js';
import { fastForwardTimers } from './fast-forward-timers.js';

/** One browser's `navigator.locks`, shared by its tabs: exclusive locks granted in request order. */
class FakeLocks implements LockManagerLike {
  readonly #tails = new Map<string, Promise<unknown>>();
  request<T>(name: string, _options: { mode: 'exclusive' }, callback: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(name) ?? Promise.resolve()).then(() => callback());
    this.#tails.set(
      name,
      run.catch(() => {}),
    );
    return run;
  }
}

/** One origin's `localStorage`, shared by its tabs. */
class MapStorage {
  constructor(readonly items = new Map<string, string>()) {}
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}

/**
 * One origin's `localStorage` as each tab sees it: a write by one tab fires a `storage` event in
 * every other tab, as browsers do.
 */
class StorageHub {
  readonly items = new Map<string, string>();
  readonly #windows: EventTarget[] = [];

  /** A tab's view: its `localStorage` and its `window` (where the others' writes arrive). */
  openTab(): { storage: MapStorage; window: EventTarget } {
    const window = new EventTarget();
    this.#windows.push(window);
    const announce = (key: string, newValue: string | null) => {
      for (const other of this.#windows) {
        if (other !== window) other.dispatchEvent(Object.assign(new Event('storage'), { key, newValue }));
      }
    };
    const storage = new MapStorage(this.items);
    storage.setItem = (key, value) => {
      this.items.set(key, value);
      announce(key, value);
    };
    storage.removeItem = (key) => {
      this.items.delete(key);
      announce(key, null);
    };
    return { storage, window };
  }
}

let server: FakeTessera;
let shift: number;
let tabs: SessionClient[];

beforeEach(() => {
  server = new FakeTessera();
  shift = 0;
  tabs = [];
});

afterEach(() => {
  for (const tab of tabs) tab.dispose();
});

function openTab(coordinator: TabCoordinator, handler = {}, options: Partial<SessionClientOptions> = {}): SessionClient {
  const tab = createSessionClient({
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    now: () => Date.now() + shift,
    tabs: coordinator,
    handler,
    environment: { target: null, document: null },
    ...options,
  });
  tabs.push(tab);
  return tab;
}

function moveClocks(ms: number): void {
  shift += ms;
  server.serverAhead = shift;
}

for (const mode of ['web locks', 'lease', 'lease and storage events'] as const) {
  describe(`two tabs coordinated with ${mode}`, () => {
    /** Two tabs' coordinators, and a maker of more for tabs opened later. */
    function coordinators(): [TabCoordinator, TabCoordinator, () => TabCoordinator] {
      const name = `tessera:test:${Math.random()}`;
      const locks = new FakeLocks();
      const storage = new MapStorage();
      const hub = new StorageHub();
      const make = () => {
        if (mode === 'web locks') return browserTabCoordinator(name, { locks, leaseStorage: storage });
        if (mode === 'lease') return browserTabCoordinator(name, { locks: null, leaseStorage: storage });
        // No BroadcastChannel either (older browsers): messages travel as storage events.
        const tab = hub.openTab();
        return browserTabCoordinator(name, {
          locks: null,
          leaseStorage: tab.storage,
          channel: storageEventChannel(name, tab.storage, tab.window as unknown as StorageEventSource),
        });
      };
      return [make(), make(), make];
    }

    it('a sign-in in one tab reaches the other; many callers in both cause one refresh', async () => {
      const [first, second] = coordinators();
      const a = openTab(first);
      const b = openTab(second);
      a.setSession(server.signIn());
      await vi.waitFor(() => expect(b.state).toBe('active'));
      expect(b.sessionId).toBe('ses_1');
      expect(b.session).toEqual(a.session);
      expect(b.session?.user_id).toBe('u1');

      moveClocks(14.5 * 60_000);
      const tokens = await Promise.all([...Array.from({ length: 20 }, () => a.getAccessToken()), ...Array.from({ length: 20 }, () => b.getAccessToken())]);
      expect(server.refreshCount).toBe(1);
      expect(new Set(tokens).size).toBe(1);
      expect(await b.getAccessToken()).toBe(await a.getAccessToken());
      expect(server.refreshCount).toBe(1);
      // The tab that did not refresh still has the server's latest description of the session.
      expect(a.session?.metadata).toEqual({ refreshes: 1 });
      expect(b.session).toEqual(a.session);
    });

    it('a revocation found by one tab ends the session in the other, told once, without a request', async () => {
      const [first, second] = coordinators();
      const handlerB = { onSessionRevoked: vi.fn(), onSessionClosed: vi.fn() };
      const a = openTab(first);
      const b = openTab(second, handlerB);
      a.setSession(server.signIn());
      await vi.waitFor(() => expect(b.state).toBe('active'));

      server.revoke('reuse_detected');
      moveClocks(14.5 * 60_000);
      await expect(a.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
      await vi.waitFor(() => expect(b.state).toBe('ended'));
      expect(handlerB.onSessionRevoked).toHaveBeenCalledExactlyOnceWith('reuse_detected', expect.anything());
      expect(handlerB.onSessionClosed).toHaveBeenCalledExactlyOnceWith('session_revoked');
      await expect(b.getAccessToken()).rejects.toMatchObject({ code: 'session_revoked' });
      expect(server.refreshCount).toBe(1);
    });

    it('a grant handed over again after a refresh is ignored in every tab: no spent refresh token comes back', async () => {
      const [first, second] = coordinators();
      const handlerA = { onSessionClosed: vi.fn(), onSessionError: vi.fn() };
      const a = openTab(first, handlerA);
      const b = openTab(second);
      const signIn = server.signIn();
      a.setSession(signIn);
      await vi.waitFor(() => expect(b.state).toBe('active'));
      moveClocks(14.5 * 60_000);
      const refreshed = await a.getAccessToken();
      await vi.waitFor(async () => expect(await b.getAccessToken()).toBe(refreshed));

      // The app hands its (server-rendered) sign-in answer to a tab again.
      b.setSession(signIn);
      expect(await b.getAccessToken()).toBe(refreshed);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await a.getAccessToken()).toBe(refreshed);

      // The next refresh presents the live token, not the spent one.
      moveClocks(14.5 * 60_000);
      const next = await Promise.all([a.getAccessToken(), b.getAccessToken()]);
      expect(new Set(next).size).toBe(1);
      expect(next[0]).not.toBe(refreshed);
      expect(server.refreshCount).toBe(2);
      expect(handlerA.onSessionClosed).not.toHaveBeenCalled();
      expect(handlerA.onSessionError).not.toHaveBeenCalled();
    });

    it('a tab that missed a refresh in the other tab (frozen: messages to it are dropped) gets the successor instead of presenting the spent token', async () => {
      const [first, second] = coordinators();
      let frozen = false;
      const deaf: TabCoordinator = { ...second, subscribe: (listener) => second.subscribe((message) => frozen || listener(message)) };
      const a = openTab(first);
      const b = openTab(deaf);
      a.setSession(server.signIn());
      await vi.waitFor(() => expect(b.state).toBe('active'));

      frozen = true;
      moveClocks(14.5 * 60_000);
      const refreshed = await a.getAccessToken();
      await new Promise((resolve) => setTimeout(resolve, 20));
      frozen = false;
      expect(await b.getAccessToken()).toBe(refreshed);
      expect(server.refreshCount).toBe(1);
    });

    it('logout in one tab signs the other out', async () => {
      const [first, second] = coordinators();
      const handlerB = { onSessionClosed: vi.fn() };
      const a = openTab(first);
      const b = openTab(second, handlerB);
      a.setSession(server.signIn());
      await vi.waitFor(() => expect(b.state).toBe('active'));
      await a.logout();
      await vi.waitFor(() => expect(b.state).toBe('signed_out'));
      expect(handlerB.onSessionClosed).toHaveBeenCalledExactlyOnceWith('logout');
    });

    // Issue 12, defect 2: a tab opened later read the access token back and then failed every call
    // with token_expired "this client holds no refresh token", the more so while the first tab was hidden.
    it('a tab opened later, whose storage keeps no refresh token, gets fresh tokens from the holder, hidden or not', async () => {
      const [first, , later] = coordinators();
      const storage = accessTokenOnlyStorage();
      const holderPage = new FakePage();
      const a = openTab(first, {}, { storage, environment: holderPage });
      const grant = server.signIn();
      await a.setSession(grant);
      holderPage.hide();
      // Opened after the sign-in: it never heard the tokens go by.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const handlerB = { onSessionError: vi.fn(), onSessionClosed: vi.fn() };
      const b = openTab(later(), handlerB, { storage });
      await b.ready;
      expect(b.state).toBe('active');

      moveClocks(14.5 * 60_000);
      const tokens = await Promise.all(Array.from({ length: 10 }, () => b.getAccessToken()));
      expect(new Set(tokens).size).toBe(1);
      expect(tokens[0]).not.toBe(grant.access_token);
      expect(server.refreshCount).toBe(1);
      await vi.waitFor(() => expect(a.sessionId).toBe(b.sessionId));
      expect(await a.getAccessToken()).toBe(tokens[0]);
      expect(server.refreshCount).toBe(1);
      expect(handlerB.onSessionError).not.toHaveBeenCalled();
      expect(handlerB.onSessionClosed).not.toHaveBeenCalled();
    });

    it('a tab without a refresh token whose holder is gone says so once, as refresh_token_unavailable, without a request', async () => {
      const [first, , later] = coordinators();
      const storage = accessTokenOnlyStorage();
      const a = openTab(first, {}, { storage });
      await a.setSession(server.signIn());
      a.dispose();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const handlerB = { onSessionError: vi.fn(), onSessionClosed: vi.fn() };
      // The other tabs get a second to answer: on b's own clock, which the test jumps over it.
      const clock = new FastForwardClock();
      const b = openTab(later(), handlerB, { storage, timers: fastForwardTimers(clock), now: () => clock.now() + shift });
      await b.ready;
      expect(b.state).toBe('active');
      moveClocks(14.5 * 60_000);
      let settled = false;
      const asked = b.getAccessToken();
      asked.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let jumps = 0; !settled && jumps < 100; jumps++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        clock.fastForward(1);
      }
      await expect(asked).rejects.toMatchObject({ code: 'refresh_token_unavailable' });
      await expect(b.getAccessToken()).rejects.toMatchObject({ code: 'refresh_token_unavailable' });
      expect(b.state).toBe('ended');
      expect(handlerB.onSessionError).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ code: 'refresh_token_unavailable' }));
      expect(handlerB.onSessionClosed).toHaveBeenCalledExactlyOnceWith('refresh_token_unavailable');
      expect(server.refreshCount).toBe(0);
    });
  });
}

/** `localStorageAdapter()` as the tabs of one origin share it: the access token kept, never the refresh token. */
function accessTokenOnlyStorage(): TokenStorage {
  const shared = new MapStorage();
  return { persistRefreshToken: false, getItem: shared.getItem, setItem: shared.setItem, removeItem: shared.removeItem };
}

describe('without coordination', () => {
  it('two tabs holding one refresh token each present it (what the coordinator prevents)', async () => {
    const a = openTab({ runExclusive: (task) => task(), publish: () => {}, subscribe: () => () => {}, close: () => {} });
    const b = openTab({ runExclusive: (task) => task(), publish: () => {}, subscribe: () => () => {}, close: () => {} });
    const grant = server.signIn();
    a.setSession(grant);
    b.setSession(grant);
    moveClocks(14.5 * 60_000);
    await Promise.allSettled([a.getAccessToken(), b.getAccessToken()]);
    expect(server.refreshCount).toBe(2);
  });
});

describe('a tab that hears another presenting its refresh token', () => {
  function manualCoordinator() {
    const listeners: ((message: TabMessage) => void)[] = [];
    const coordinator: TabCoordinator = {
      runExclusive: (task) => task(),
      publish: () => {},
      subscribe: (listener) => {
        listeners.push(listener);
        return () => {};
      },
      close: () => {},
    };
    return {
      coordinator,
      deliver: (message: TabMessage) => {
        for (const listener of listeners) listener(message);
      },
    };
  }

  it('waits for that answer instead of presenting the token again', async () => {
    const { coordinator, deliver } = manualCoordinator();
    const tab = openTab(coordinator);
    const grant = server.signIn();
    tab.setSession(grant);
    deliver({ type: 'refreshing', sessionId: 'ses_1', refreshToken: grant.refresh_token! });
    moveClocks(14.5 * 60_000);
    const pending = tab.getAccessToken();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.refreshCount).toBe(0);
    const fromOtherTab = server.signIn('ses_1');
    deliver({ type: 'tokens', tokens: holdTokens(fromOtherTab), clockSkew: 0 });
    expect(await pending).toBe(fromOtherTab.access_token);
    expect(server.refreshCount).toBe(0);
  });

  it('presents it itself once the other tab reports that its attempt failed', async () => {
    const { coordinator, deliver } = manualCoordinator();
    const tab = openTab(coordinator);
    const grant = server.signIn();
    tab.setSession(grant);
    deliver({ type: 'refreshing', sessionId: 'ses_1', refreshToken: grant.refresh_token! });
    moveClocks(14.5 * 60_000);
    const pending = tab.getAccessToken();
    await new Promise((resolve) => setTimeout(resolve, 50));
    deliver({ type: 'refresh_failed', sessionId: 'ses_1', refreshToken: grant.refresh_token! });
    expect(await pending).not.toBe(grant.access_token);
    expect(server.refreshCount).toBe(1);
  });
});
