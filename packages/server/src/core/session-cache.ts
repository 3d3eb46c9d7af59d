import type { SessionRecord } from './session.js';

type Entry = { readonly session: SessionRecord; readonly cachedAt: number } | { readonly staleBelow: number };

export interface SessionCacheOptions {
  /** Most entries held; the oldest go first. */
  readonly capacity?: number;
  /**
   * Longest an entry is trusted, in milliseconds: the bound on staleness for changes made by another
   * process that this one was not told about (a CLI revoke, a node without fan-out).
   */
  readonly maxAgeMs?: number;
}

/**
 * Session state for the checks every authenticated call makes. Every change this process makes or
 * hears about replaces or drops the entry; versions stop a slow read from putting an old state back.
 */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #maxAgeMs: number;

  constructor(options: SessionCacheOptions = {}) {
    this.#capacity = options.capacity ?? 50_000;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
  }

  /** The held session, if it was cached less than `maxAgeMs` before `now`. */
  get(id: string, now: number): SessionRecord | undefined {
    const entry = this.#entries.get(id);
    if (!entry || !('session' in entry) || now - entry.cachedAt >= this.#maxAgeMs) return undefined;
    return entry.session;
  }

  /** Keeps `session`, read at `now`, unless a newer version is already known. */
  set(session: SessionRecord, now: number): void {
    const entry = this.#entries.get(session.id);
    if (entry && session.version < ('session' in entry ? entry.session.version : entry.staleBelow)) return;
    this.#put(session.id, { session, cachedAt: now });
  }

  /** Drops what is held for `id`; with the new `version`, older reads in flight are refused too. */
  forget(id: string, version?: number): void {
    if (version === undefined) {
      this.#entries.delete(id);
      return;
    }
    this.#put(id, { staleBelow: version });
  }

  clear(): void {
    this.#entries.clear();
  }

  #put(id: string, entry: Entry): void {
    if (!this.#entries.has(id) && this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(id, entry);
  }
}
