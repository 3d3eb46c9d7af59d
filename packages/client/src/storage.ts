import type { HeldTokens, SessionInfo } from './token-grant.js';

/**
 * Where a client keeps its session between page loads: the shape of the Web Storage API, sync or
 * async, so `localStorage`, an IndexedDB wrapper, React Native's AsyncStorage or a file in Node fit.
 *
 * `persistRefreshToken` says whether the refresh token may be written here. Storage that page
 * scripts can read (`localStorage`, `sessionStorage`) hands a long-lived credential to any XSS
 * payload, so the built-in Web Storage adapters leave it out unless the app opts in; the access
 * token (minutes) is stored, the refresh token stays in memory and dies with the page.
 *
 * @example
 * ```ts
 * const storage: TokenStorage = {
 *   persistRefreshToken: true, // the OS keychain is not readable by page scripts
 *   getItem: (key) => SecureStore.getItemAsync(key),
 *   setItem: (key, value) => SecureStore.setItemAsync(key, value),
 *   removeItem: (key) => SecureStore.deleteItemAsync(key),
 * };
 * ```
 */
export interface TokenStorage {
  readonly persistRefreshToken: boolean;
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** Keeps the session in this client only (the default): nothing survives a reload, nothing is readable elsewhere. */
export function memoryStorage(): TokenStorage {
  const items = new Map<string, string>();
  return {
    persistRefreshToken: true,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

export interface WebStorageOptions {
  /**
   * Also store the refresh token. Any script on the page can then read a credential that lasts
   * as long as the session (days): only do it when XSS is otherwise contained (strict CSP).
   */
  persistRefreshToken?: boolean;
}

/** `window.sessionStorage`: survives reloads of this tab, not shared with other tabs. */
export function sessionStorageAdapter(options: WebStorageOptions = {}): TokenStorage {
  return webStorage(() => globalThis.sessionStorage, options);
}

/** `window.localStorage`: survives restarts and is shared by the tabs of the origin. */
export function localStorageAdapter(options: WebStorageOptions = {}): TokenStorage {
  return webStorage(() => globalThis.localStorage, options);
}

// Web Storage throws in some sandboxes and private modes, and when full. A read that fails finds
// nothing; a write that fails throws on to the client, which keeps going on the session in memory
// and warns (see `saveSession`): the app's developer learns why sessions do not survive reloads.
function webStorage(resolve: () => Storage, options: WebStorageOptions): TokenStorage {
  return {
    persistRefreshToken: options.persistRefreshToken === true,
    getItem(key) {
      try {
        return resolve().getItem(key);
      } catch {
        return null;
      }
    },
    setItem: (key, value) => resolve().setItem(key, value),
    removeItem: (key) => resolve().removeItem(key),
  };
}

/** What is written to storage, as JSON. */
interface StoredSession {
  readonly v: 1;
  readonly tokens: HeldTokens;
  /** Milliseconds the device clock was ahead of the server's when stored. */
  readonly clockSkew: number;
  /** The server's description of the session, so a tab opened later knows it before its first refresh. */
  readonly session?: SessionInfo | null;
}

/** A session read back from storage. */
export interface LoadedSession {
  readonly tokens: HeldTokens;
  readonly clockSkew: number;
  readonly session: SessionInfo | null;
}

/** Writes the session; the refresh token only where the storage may hold it. Rejects when the storage refuses the write. */
export async function saveSession(
  storage: TokenStorage,
  key: string,
  tokens: HeldTokens,
  clockSkew: number,
  session: SessionInfo | null = null,
): Promise<void> {
  const kept: HeldTokens = storage.persistRefreshToken ? tokens : { ...tokens, refreshToken: null };
  const record: StoredSession = { v: 1, tokens: kept, clockSkew, session };
  await storage.setItem(key, JSON.stringify(record));
}

/** Reads the session back; null when there is none or it is unreadable. */
export async function loadSession(storage: TokenStorage, key: string): Promise<LoadedSession | null> {
  let text: string | null;
  try {
    text = await storage.getItem(key);
  } catch {
    return null;
  }
  if (text === null) return null;
  try {
    const record = JSON.parse(text) as Partial<StoredSession>;
    if (record.v !== 1 || !isHeldTokens(record.tokens)) return null;
    const session = isSessionOf(record.session, record.tokens) ? record.session : null;
    return { tokens: record.tokens, clockSkew: typeof record.clockSkew === 'number' ? record.clockSkew : 0, session };
  } catch {
    return null;
  }
}

/** Removes the session. Rejects when the storage refuses (the tokens in memory are gone already). */
export async function clearSession(storage: TokenStorage, key: string): Promise<void> {
  await storage.removeItem(key);
}

function isHeldTokens(value: unknown): value is HeldTokens {
  if (typeof value !== 'object' || value === null) return false;
  const tokens = value as Record<string, unknown>;
  return typeof tokens['accessToken'] === 'string' && (tokens['refreshToken'] === null || typeof tokens['refreshToken'] === 'string');
}

/** Whether `value` describes the session `tokens` belong to. */
function isSessionOf(value: unknown, tokens: HeldTokens): value is SessionInfo {
  if (typeof value !== 'object' || value === null) return false;
  const session = value as Record<string, unknown>;
  return typeof session['id'] === 'string' && session['id'] === tokens.sessionId && typeof session['user_id'] === 'string';
}

/**
 * A client's session in its storage, under its key: writes run in order (each sees the one before),
 * and a refusal (quota, private mode, a sandbox) does not stop the client, which goes on with the
 * session in memory, but is not silent either: a warning on the console, once per streak of
 * failures, says that the session will not survive a reload (or, for a removal, may be read back).
 */
export class SessionPersistence {
  readonly #storage: TokenStorage;
  readonly #key: string;
  #writes: Promise<void> = Promise.resolve();
  /** A write failed and was warned about; the next success ends the streak. */
  #warned = false;

  constructor(storage: TokenStorage, key: string) {
    this.#storage = storage;
    this.#key = key;
  }

  /** Whether the storage keeps refresh tokens (and, shared by tabs, shows another tab's refresh). */
  get keepsRefreshToken(): boolean {
    return this.#storage.persistRefreshToken;
  }

  /** Settles once every write asked for so far is done (never rejects). */
  get written(): Promise<void> {
    return this.#writes;
  }

  /** The stored session, read at once. */
  load(): Promise<LoadedSession | null> {
    return loadSession(this.#storage, this.#key);
  }

  /** The stored session, read after the writes asked for so far. */
  async loadAfterWrites(): Promise<LoadedSession | null> {
    await this.#writes;
    return this.load();
  }

  save(tokens: HeldTokens, clockSkew: number, session: SessionInfo | null): void {
    this.#writes = this.#writes.then(() => this.#write(() => saveSession(this.#storage, this.#key, tokens, clockSkew, session), 'written to'));
  }

  clear(): void {
    this.#writes = this.#writes.then(() => this.#write(() => clearSession(this.#storage, this.#key), 'removed from'));
  }

  async #write(write: () => Promise<void>, verb: 'written to' | 'removed from'): Promise<void> {
    try {
      await write();
      this.#warned = false;
    } catch (error) {
      if (this.#warned) return;
      this.#warned = true;
      const consequence = verb === 'written to' ? 'it is kept in this page only and will not survive a reload' : 'a reload may read the ended session back';
      console.warn(`Tessera: the session could not be ${verb} storage (key "${this.#key}"): ${consequence}.`, error);
    }
  }
}
