import { repeat, sleep, systemTimers, type Timers } from './timers.js';
import type { HeldTokens, SessionInfo } from './token-grant.js';

/** What the tabs of one origin tell each other about their shared session. */
export type TabMessage =
  /** A tab is about to present this refresh token: the others wait for its answer instead of racing. */
  | { readonly type: 'refreshing'; readonly sessionId: string | null; readonly refreshToken: string }
  /** That attempt got no answer; the next tab may try. */
  | { readonly type: 'refresh_failed'; readonly sessionId: string | null; readonly refreshToken: string }
  /** A tab holds this refresh token, which another tab has spent (it slept through the news): a tab with its successor sends its tokens. */
  | { readonly type: 'missed'; readonly sessionId: string | null; readonly refreshToken: string }
  /**
   * A tab that cannot refresh by itself (its storage keeps no refresh token, or it was just opened)
   * needs fresh tokens of this session (null: of whatever session the tabs hold). A tab that can
   * refresh answers `holder` at once, then sends `tokens`, refreshing first when they are due, even hidden.
   */
  | { readonly type: 'wanted'; readonly sessionId: string | null }
  /** The answer to `wanted`: this tab can refresh the session, and its tokens follow. */
  | { readonly type: 'holder'; readonly sessionId: string | null }
  /** The answer to `wanted` of a tab that holds a session but cannot help: another one, or no refresh token for it. */
  | { readonly type: 'cannot_help'; readonly sessionId: string | null }
  /** New tokens, from a refresh (`spent`: the refresh token they replace) or a sign-in in another tab. */
  | {
      readonly type: 'tokens';
      readonly tokens: HeldTokens;
      readonly clockSkew: number;
      readonly spent?: string | null;
      /** The server's description of the session, when the tab that sends the tokens has it. */
      readonly session?: SessionInfo | null;
    }
  /** The server ended the session. */
  | {
      readonly type: 'ended';
      readonly sessionId: string | null;
      readonly error: { readonly code: string; readonly message: string; readonly details: Record<string, unknown>[] };
    }
  /** The user signed out in another tab. */
  | { readonly type: 'signed_out'; readonly sessionId: string | null };

/**
 * Keeps the tabs (and workers) of one origin from racing on one refresh token: one refreshes under
 * an exclusive lock, the others receive its tokens as messages.
 */
export interface TabCoordinator {
  /** Runs `task` while no other tab of the origin runs one for the same name. */
  runExclusive<T>(task: () => Promise<T>): Promise<T>;
  /** Tells every other tab. */
  publish(message: TabMessage): void;
  /** Hears the other tabs; returns the function that stops listening. */
  subscribe(listener: (message: TabMessage) => void): () => void;
  /**
   * Notes, where every tab of the origin can read it, that `refreshToken` has been exchanged. A
   * frozen tab misses the messages sent meanwhile; this is how it learns its token is spent.
   */
  recordSpent?(refreshToken: string): void;
  /** Whether a tab of the origin noted `refreshToken` as exchanged. */
  wasSpent?(refreshToken: string): boolean;
  /**
   * Says whether this tab holds a session another tab could be handed. Such tabs are counted by
   * `countOthers` (with Web Locks: each holds a shared lock meanwhile).
   */
  setHoldingSession?(holding: boolean): void;
  /**
   * How many other live tabs (and workers) of the origin hold a session, where that can be known
   * (Web Locks); else `Infinity`. A tab with none to ask does not wait for answers that cannot come.
   */
  countOthers?(): Promise<number>;
  close(): void;
}

/** For a single context (Node, a lone worker): no lock to take, nobody to tell. */
export const noTabCoordination: TabCoordinator = {
  runExclusive: (task) => task(),
  countOthers: async () => 0,
  publish: () => {},
  subscribe: () => () => {},
  close: () => {},
};

/** The part of `navigator.locks` used here. */
export interface LockManagerLike {
  request<T>(name: string, options: { mode: 'exclusive' | 'shared' }, callback: () => Promise<T>): Promise<T>;
  /** Which locks are held: how a tab learns whether others are open. */
  query?(): Promise<{ held?: readonly { name?: string }[] }>;
}

/** The part of `BroadcastChannel` used here. */
export interface MessageChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

/** The part of `Storage` the lease fallback uses. */
export interface LeaseStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface BrowserTabCoordinatorOptions {
  /** `navigator.locks` by default; null to force the lease fallback. */
  readonly locks?: LockManagerLike | null;
  /** A `BroadcastChannel` of this name by default; where there is none, `storage` events of `localStorage`. */
  readonly channel?: MessageChannelLike | null;
  /** `localStorage` by default: where the lease lives when Web Locks are missing. */
  readonly leaseStorage?: LeaseStorage | null;
  /** How long a lease holds without renewal (ms): a tab that dies frees it after this. Default 10000. */
  readonly leaseDuration?: number;
  /** The clock of the lease. Default: `timers.now`. */
  readonly now?: () => number;
  /** Where the lease's polls and renewals and the settle delay wait. Default: the globals. */
  readonly timers?: Timers;
  /** How long (ms) a tab that published while holding the lock keeps it, so its message lands first. Default 50. */
  readonly settleDelay?: number;
}

/**
 * Coordination across tabs: Web Locks where present, else a lease with an expiry in
 * `localStorage` that another tab takes over when its holder dies; messages over `BroadcastChannel`.
 */
export function browserTabCoordinator(name: string, options: BrowserTabCoordinatorOptions = {}): TabCoordinator {
  const locks = options.locks === undefined ? webLocks() : options.locks;
  const leaseStorage = options.leaseStorage === undefined ? localStorageOrNull() : options.leaseStorage;
  const channel = options.channel === undefined ? (openChannel(name) ?? storageEventChannel(name, leaseStorage, storageEventSource())) : options.channel;
  const timers = options.timers ?? systemTimers;
  const now = options.now ?? (() => timers.now());
  const lease = leaseStorage ? new Lease(`${name}:lease`, leaseStorage, options.leaseDuration ?? 10_000, now, timers) : null;
  const spent = leaseStorage ? new SpentTokens(`${name}:spent`, leaseStorage) : null;
  const listeners = new Set<(message: TabMessage) => void>();
  const onMessage = (event: { data: unknown }) => {
    if (!isTabMessage(event.data)) return;
    for (const listener of listeners) listener(event.data);
  };
  channel?.addEventListener('message', onMessage);

  // A tab that holds a session holds a shared lock meanwhile (the browser lets go when the tab
  // closes, crashes or is discarded), so a tab opened later can tell whether anyone may hand it the
  // session. Chrome does not freeze a page that holds a Web Lock (its Energy Saver freezing spares
  // it): a frozen holder could not answer. Shared, and never asked for exclusively: granted at once.
  const presenceName = `${name}:holding`;
  let presence: { readonly granted: Promise<void>; readonly leave: () => void } | null = null;
  const setHolding = (holding: boolean): void => {
    if (!locks || holding === (presence !== null)) return;
    if (!holding) {
      presence?.leave();
      presence = null;
      return;
    }
    let markGranted: () => void = () => {};
    let leave: () => void = () => {};
    const granted = new Promise<void>((resolve) => (markGranted = resolve));
    const held = new Promise<void>((resolve) => (leave = resolve));
    locks
      .request(presenceName, { mode: 'shared' }, () => {
        markGranted();
        return held;
      })
      .catch(() => markGranted());
    presence = { granted, leave };
  };

  const settleDelay = options.settleDelay ?? 50;
  let held = 0;
  let publishedWhileHeld = false;
  // Messages and lock grants travel separately: a holder that told the others something keeps the
  // lock a moment longer, so the next holder has heard it before it looks.
  const settled = async <T>(task: () => Promise<T>): Promise<T> => {
    held += 1;
    publishedWhileHeld = false;
    try {
      return await task();
    } finally {
      if (publishedWhileHeld && channel) await sleep(timers, settleDelay);
      held -= 1;
    }
  };

  return {
    runExclusive<T>(task: () => Promise<T>): Promise<T> {
      if (locks) return locks.request(name, { mode: 'exclusive' }, () => settled(task));
      if (lease) return lease.run(() => settled(task));
      return task();
    },
    publish(message) {
      if (held > 0) publishedWhileHeld = true;
      try {
        channel?.postMessage(message);
      } catch {
        // A closed channel: this tab is going away.
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recordSpent: (refreshToken) => spent?.record(refreshToken),
    wasSpent: (refreshToken) => spent?.has(refreshToken) ?? false,
    setHoldingSession: setHolding,
    async countOthers() {
      if (!locks?.query) return Number.POSITIVE_INFINITY;
      try {
        const self = presence;
        await self?.granted;
        const held = (await locks.query()).held ?? [];
        return Math.max(0, held.filter((lock) => lock.name === presenceName).length - (self ? 1 : 0));
      } catch {
        return Number.POSITIVE_INFINITY;
      }
    },
    close() {
      setHolding(false);
      listeners.clear();
      channel?.removeEventListener('message', onMessage);
      channel?.close();
    },
  };
}

/** Whether this context is one where tabs can race (a page, or a worker with Web Locks). */
export function tabsCanRace(): boolean {
  const scope = globalThis as { document?: unknown; navigator?: { locks?: unknown } };
  return scope.navigator?.locks !== undefined || scope.document !== undefined;
}

const pollInterval = 50;

/**
 * A mutual-exclusion lease in shared storage. Storage has no compare-and-set, so a claim is
 * written, then read back after a pause: the last writer wins, the others see it and wait.
 */
class Lease {
  readonly #key: string;
  readonly #storage: LeaseStorage;
  readonly #duration: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #holder = `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(key: string, storage: LeaseStorage, duration: number, now: () => number, timers: Timers) {
    this.#key = key;
    this.#storage = storage;
    this.#duration = duration;
    this.#now = now;
    this.#timers = timers;
  }

  /** Runs `task` under the lease; tasks of this tab queue behind each other. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => this.#runHeld(task));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #runHeld<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    const stopRenewal = repeat(this.#timers, () => this.#write(), Math.max(pollInterval, this.#duration / 3));
    try {
      return await task();
    } finally {
      stopRenewal();
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    // Never wait forever: past two lease lengths, a refresh twice is better than no refresh.
    const giveUpAt = this.#now() + this.#duration * 2;
    while (this.#now() < giveUpAt) {
      const current = this.#read();
      if (current === null || current.expiresAt <= this.#now() || current.holder === this.#holder) {
        this.#write();
        await sleep(this.#timers, pollInterval);
        if (this.#read()?.holder === this.#holder) return;
      }
      await sleep(this.#timers, pollInterval);
    }
  }

  #read(): { holder: string; expiresAt: number } | null {
    try {
      const text = this.#storage.getItem(this.#key);
      if (text === null) return null;
      const value = JSON.parse(text) as { holder?: unknown; expiresAt?: unknown };
      return typeof value.holder === 'string' && typeof value.expiresAt === 'number' ? { holder: value.holder, expiresAt: value.expiresAt } : null;
    } catch {
      return null;
    }
  }

  #write(): void {
    try {
      this.#storage.setItem(this.#key, JSON.stringify({ holder: this.#holder, expiresAt: this.#now() + this.#duration }));
    } catch {
      // Storage unavailable: the lease degrades to no lease.
    }
  }

  #release(): void {
    if (this.#read()?.holder !== this.#holder) return;
    try {
      this.#storage.removeItem(this.#key);
    } catch {
      // As above.
    }
  }
}

/** How many exchanged refresh tokens the tabs of an origin remember. */
const spentMemory = 16;

/**
 * The refresh tokens lately exchanged by the tabs of an origin, in shared storage. Only their
 * fingerprints are written: storage that page scripts read never holds a refresh token, even a spent
 * one (within the reuse interval it still brings its successor).
 */
class SpentTokens {
  readonly #key: string;
  readonly #storage: LeaseStorage;

  constructor(key: string, storage: LeaseStorage) {
    this.#key = key;
    this.#storage = storage;
  }

  record(refreshToken: string): void {
    const print = fingerprint(refreshToken);
    const prints = this.#read().filter((each) => each !== print);
    prints.push(print);
    try {
      this.#storage.setItem(this.#key, JSON.stringify(prints.slice(-spentMemory)));
    } catch {
      // Storage unavailable: tabs know only what their messages told them.
    }
  }

  has(refreshToken: string): boolean {
    return this.#read().includes(fingerprint(refreshToken));
  }

  #read(): string[] {
    try {
      const value = JSON.parse(this.#storage.getItem(this.#key) ?? '[]') as unknown;
      return Array.isArray(value) ? value.filter((each): each is string => typeof each === 'string') : [];
    } catch {
      return [];
    }
  }
}

/**
 * A 64-bit fingerprint (cyrb53): recognises a token among the few lately spent, cannot stand in for
 * it. Not a cryptographic hash, and it need not be: a token is 256 random bits, and 64 bits of any
 * function of it cannot name it. Web Crypto's SHA-256 was tried: it is asynchronous, and in the
 * browser tests a digest awaited while another page of the origin was paused stalled the refresh
 * that recorded it; it is also missing outside secure contexts.
 */
function fingerprint(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${(h2 >>> 0).toString(36)}.${(h1 >>> 0).toString(36)}`;
}

function webLocks(): LockManagerLike | null {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return locks ?? null;
}

function openChannel(name: string): MessageChannelLike | null {
  if (typeof BroadcastChannel !== 'function') return null;
  try {
    return new BroadcastChannel(name) as unknown as MessageChannelLike;
  } catch {
    return null;
  }
}

/** Where `storage` events arrive: the page's `window`. */
export interface StorageEventSource {
  addEventListener(type: 'storage', listener: (event: { key: string | null; newValue: string | null }) => void): void;
  removeEventListener(type: 'storage', listener: (event: { key: string | null; newValue: string | null }) => void): void;
}

/**
 * The fallback where `BroadcastChannel` is missing: a message is written to `localStorage` and
 * removed at once; every other tab of the origin hears the write as a `storage` event. The
 * message (a refresh token among it) sits in storage only for that instant.
 */
export function storageEventChannel(name: string, storage: LeaseStorage | null, source: StorageEventSource | null): MessageChannelLike | null {
  if (!storage || !source) return null;
  const key = `${name}:message`;
  const listeners = new Set<(event: { data: unknown }) => void>();
  const onStorage = (event: { key: string | null; newValue: string | null }) => {
    if (event.key !== key || event.newValue === null) return;
    let envelope: { data?: unknown };
    try {
      envelope = JSON.parse(event.newValue) as { data?: unknown };
    } catch {
      return;
    }
    for (const listener of listeners) listener({ data: envelope.data });
  };
  source.addEventListener('storage', onStorage);
  let sequence = 0;
  return {
    postMessage(data) {
      sequence += 1;
      // The sequence makes each write differ from the last, so each one fires an event.
      storage.setItem(key, JSON.stringify({ sequence, at: Date.now(), data }));
      storage.removeItem(key);
    },
    addEventListener: (_type, listener) => void listeners.add(listener),
    removeEventListener: (_type, listener) => void listeners.delete(listener),
    close() {
      listeners.clear();
      source.removeEventListener('storage', onStorage);
    },
  };
}

function storageEventSource(): StorageEventSource | null {
  const scope = globalThis as { addEventListener?: unknown; document?: unknown };
  return scope.document !== undefined && typeof scope.addEventListener === 'function' ? (globalThis as unknown as StorageEventSource) : null;
}

function localStorageOrNull(): LeaseStorage | null {
  try {
    return (globalThis as { localStorage?: LeaseStorage }).localStorage ?? null;
  } catch {
    return null;
  }
}

function isTabMessage(value: unknown): value is TabMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return (
    type === 'refreshing' ||
    type === 'refresh_failed' ||
    type === 'missed' ||
    type === 'wanted' ||
    type === 'holder' ||
    type === 'cannot_help' ||
    type === 'tokens' ||
    type === 'ended' ||
    type === 'signed_out'
  );
}
