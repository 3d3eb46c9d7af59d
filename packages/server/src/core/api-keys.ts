import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Clock, type Scheduler, systemScheduler } from './clock.js';
import { type Actor, type Journal, systemActor } from './journal.js';
import { type Log, silentLog } from './log.js';
import type { ApiKeyRecord, SessionStore } from './store.js';

/** The shortest key an operator may supply: a guessable key would open the whole management API. */
export const minimumApiKeyLength = 32;
/** Names of the keys Tessera makes itself; `tessera api-keys create` cannot take them. */
export const suppliedKeyName = 'supplied';
export const generatedKeyName = 'generated';
/** How often a node re-reads the keys, so a revocation anywhere is honoured everywhere within a second. */
const reloadIntervalMs = 250;
/** A key's last use is written at most this often per node: a write per request would not be cheap. */
const useRecordIntervalMs = 60_000;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why `key` may not be supplied with `--api-key` / `TESSERA_API_KEY`; undefined when it may. */
export function suppliedApiKeyProblem(key: string): string | undefined {
  if (key.length >= minimumApiKeyLength) return undefined;
  return `the API key given with --api-key or TESSERA_API_KEY has ${key.length} characters; it needs at least ${minimumApiKeyLength} (for example \`openssl rand -base64 32\`).`;
}

/** Why `name` cannot name a new key; undefined when it can. */
export function apiKeyNameProblem(name: string): string | undefined {
  if (!namePattern.test(name)) return `an API key name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit: ${JSON.stringify(name)}`;
  if (name === suppliedKeyName || name === generatedKeyName || name.startsWith('legacy-')) return `the name ${name} is Tessera's own; choose another.`;
  return undefined;
}

function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function newKeySecret(): string {
  return `tsk_${randomBytes(32).toString('base64url')}`;
}

/**
 * The keys that may call the management API, as the store holds them (only their hashes). Every
 * node accepts exactly the store's live keys: it re-reads them every 250 ms once `watch` is called.
 */
export class ApiKeys {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #journal: Journal | undefined;
  /** The live keys' hashes, each with its name (who an accepted request's actor is). */
  #live: { readonly hash: Buffer; readonly name: string }[] = [];
  /** Hash (base64url) → when this node last saw it used, and when that was last written. */
  readonly #uses = new Map<string, { at: number; recordedAt: number }>();
  #reloading: Promise<void> | undefined;

  private constructor(store: SessionStore, clock: Clock, journal: Journal | undefined) {
    this.#store = store;
    this.#clock = clock;
    this.#journal = journal;
  }

  /** Loads the live keys. With a `journal`, keys made and revoked are recorded in the audit trail. */
  static async load(store: SessionStore, clock: Clock, journal?: Journal): Promise<ApiKeys> {
    const keys = new ApiKeys(store, clock, journal);
    await keys.reload();
    return keys;
  }

  /** True when no key is accepted: the server should generate one and show it once. */
  get isEmpty(): boolean {
    return this.#live.length === 0;
  }

  /**
   * The key the operator runs this node with (`--api-key`), or none: that key is accepted, and every
   * key supplied before it, generated on a first start, or stored before keys had names no longer is
   * (keys made with `create` stay). Without one, only keys supplied earlier are revoked.
   */
  async supply(key: string | undefined): Promise<void> {
    const now = this.#clock.now();
    const revoked = this.#recordRevoked();
    if (key === undefined) {
      await this.#store.revokeApiKeysOfOrigin('supplied', now, null, revoked);
    } else {
      const problem = suppliedApiKeyProblem(key);
      if (problem) throw new RangeError(problem);
      const hash = hashApiKey(key).toString('base64url');
      await this.#store.revokeApiKeysOfOrigin('supplied', now, hash, revoked);
      await this.#store.revokeApiKeysOfOrigin('generated', now, hash, revoked);
      await this.#store.revokeApiKeysOfOrigin('legacy', now, hash, revoked);
      // Supplied again on every start: recorded only the first time it goes live.
      const alreadyLive = (await this.#store.listApiKeys()).some((known) => known.hash === hash && known.revokedAt === null);
      const record: ApiKeyRecord = { hash, name: suppliedKeyName, origin: 'supplied', createdAt: now, revokedAt: null, lastUsedAt: null };
      await this.#store.putApiKey(record, alreadyLive ? undefined : this.#recordCreated(systemActor));
    }
    await this.reload();
  }

  /** Makes a key on a first start, when none is live; it is returned once and never kept. */
  generate(): Promise<string> {
    return this.#add(generatedKeyName, 'generated', systemActor);
  }

  /**
   * Makes a named key (`tessera api-keys create`); it is returned once and never kept. Throws
   * `RangeError` for a bad or taken name. `actor` is recorded as who made it.
   */
  async create(name: string, actor: Actor = systemActor): Promise<string> {
    const problem = apiKeyNameProblem(name);
    if (problem) throw new RangeError(problem);
    const taken = (await this.#store.listApiKeys()).some((key) => key.name === name && key.revokedAt === null);
    if (taken) throw new RangeError(`a live API key is already named ${name}; revoke it first or choose another name.`);
    return this.#add(name, 'created', actor);
  }

  /** Revokes the live key named `name`; false when there is none. Every node refuses it within a second. */
  async revoke(name: string, actor: Actor = systemActor): Promise<boolean> {
    const origin = (await this.#store.listApiKeys()).find((key) => key.name === name && key.revokedAt === null)?.origin ?? null;
    const journal = this.#journal;
    const revoked = await this.#store.revokeApiKey(
      name,
      this.#clock.now(),
      journal && ((revokedName) => journal.write([{ type: 'api_key.revoked', actor, details: { name: revokedName, origin } }])),
    );
    await this.reload();
    return revoked;
  }

  /** Every key, revoked ones too, oldest first: names and times, never a secret. */
  list(): Promise<ApiKeyRecord[]> {
    return this.#store.listApiKeys();
  }

  /** Whether `presented` is a live key; every live key is compared, in constant time each. */
  accepts(presented: string): boolean {
    return this.nameOf(presented) !== undefined;
  }

  /**
   * The name of the live key `presented` is (the audit trail's actor), or undefined when it is none:
   * the same single hash and constant-time comparisons as `accepts`.
   */
  nameOf(presented: string): string | undefined {
    const hash = hashApiKey(presented);
    let accepted: { readonly hash: Buffer; readonly name: string } | undefined;
    for (const known of this.#live) if (timingSafeEqual(hash, known.hash)) accepted = known;
    if (accepted) this.#noteUse(accepted.hash.toString('base64url'));
    return accepted?.name;
  }

  /** Re-reads the live keys now, and writes the last uses due. Concurrent callers share one read. */
  reload(): Promise<void> {
    this.#reloading ??= this.#load().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** Re-reads the keys every 250 ms (on `scheduler`'s timers) until the returned function is called. */
  watch(log: Log = silentLog, scheduler: Scheduler = systemScheduler): () => void {
    let failing = false;
    const timer = scheduler.setRepeating(
      reloadIntervalMs,
      () => {
        this.reload().then(
          () => {
            if (failing) log.info({}, 'api keys: reading the store again');
            failing = false;
          },
          (error: unknown) => {
            if (!failing) log.warn({ err: error }, 'api keys: cannot re-read the store; keeping the keys last read');
            failing = true;
          },
        );
      },
      { unref: true },
    );
    return () => timer.cancel();
  }

  async #add(name: string, origin: 'generated' | 'created', actor: Actor): Promise<string> {
    const key = newKeySecret();
    const hash = hashApiKey(key).toString('base64url');
    await this.#store.putApiKey({ hash, name, origin, createdAt: this.#clock.now(), revokedAt: null, lastUsedAt: null }, this.#recordCreated(actor));
    await this.reload();
    return key;
  }

  async #load(): Promise<void> {
    await this.#recordUses();
    const keys = await this.#store.listApiKeys();
    this.#live = keys.filter((key) => key.revokedAt === null).map((key) => ({ hash: Buffer.from(key.hash, 'base64url'), name: key.name }));
  }

  /** `api_key.revoked` for keys a start revoked (a supplied key replaced or dropped), by the system. */
  #recordRevoked() {
    const journal = this.#journal;
    return (
      journal &&
      ((keys: ApiKeyRecord[]) =>
        journal.write(keys.map((key) => ({ type: 'api_key.revoked' as const, actor: systemActor, details: { name: key.name, origin: key.origin } }))))
    );
  }

  /** `api_key.created`: the key's name and origin, never its secret or hash. */
  #recordCreated(actor: Actor) {
    const journal = this.#journal;
    return journal && ((key: ApiKeyRecord) => journal.write([{ type: 'api_key.created', actor, details: { name: key.name, origin: key.origin } }]));
  }

  #noteUse(hash: string): void {
    const use = this.#uses.get(hash);
    if (use) use.at = this.#clock.now();
    else this.#uses.set(hash, { at: this.#clock.now(), recordedAt: -Infinity });
  }

  async #recordUses(): Promise<void> {
    const now = this.#clock.now();
    for (const [hash, use] of this.#uses) {
      if (use.recordedAt >= use.at || now - use.recordedAt < useRecordIntervalMs) continue;
      use.recordedAt = now;
      await this.#store.recordApiKeyUse(hash, use.at);
    }
  }
}
