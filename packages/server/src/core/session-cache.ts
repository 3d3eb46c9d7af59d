import type { SessionRecord } from './session.js';

type Entry = { readonly session: SessionRecord } | { readonly staleBelow: number };

/**
 * Session state for the checks every authenticated call makes. Every change this process makes or
 * hears about replaces or drops the entry; versions stop a slow read from putting an old state back.
 */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;

  constructor(capacity = 50_000) {
    this.#capacity = capacity;
  }

  get(id: string): SessionRecord | undefined {
    const entry = this.#entries.get(id);
    return entry && 'session' in entry ? entry.session : undefined;
  }

  /** Keeps `session` unless a newer version is already known. */
  set(session: SessionRecord): void {
    const entry = this.#entries.get(session.id);
    if (entry && session.version < ('session' in entry ? entry.session.version : entry.staleBelow)) return;
    this.#put(session.id, { session });
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
