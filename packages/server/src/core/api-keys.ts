import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.js';
import type { SessionStore } from './store.js';

function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The keys that may call the management API. Only their hashes are kept. */
export class ApiKeys {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #hashes: Buffer[];

  private constructor(store: SessionStore, clock: Clock, hashes: Buffer[]) {
    this.#store = store;
    this.#clock = clock;
    this.#hashes = hashes;
  }

  /** With `fixedKey`, that key alone is accepted (and its hash stored); otherwise the stored keys are. */
  static async load(store: SessionStore, clock: Clock, fixedKey?: string): Promise<ApiKeys> {
    if (fixedKey !== undefined && fixedKey !== '') {
      const hash = hashApiKey(fixedKey);
      await store.addApiKeyHash(hash.toString('base64url'), clock.now());
      return new ApiKeys(store, clock, [hash]);
    }
    const stored = await store.listApiKeyHashes();
    return new ApiKeys(store, clock, stored.map((hash) => Buffer.from(hash, 'base64url')));
  }

  /** True when no key is accepted yet: the server should generate one and show it once. */
  get isEmpty(): boolean {
    return this.#hashes.length === 0;
  }

  /** Creates a new key, stores its hash and accepts it; the key itself is returned once and never kept. */
  async generate(): Promise<string> {
    const key = `tsk_${randomBytes(32).toString('base64url')}`;
    const hash = hashApiKey(key);
    await this.#store.addApiKeyHash(hash.toString('base64url'), this.#clock.now());
    this.#hashes.push(hash);
    return key;
  }

  /** Whether `presented` is an accepted key; every known key is compared, in constant time each. */
  accepts(presented: string): boolean {
    const hash = hashApiKey(presented);
    let accepted = false;
    for (const known of this.#hashes) accepted = timingSafeEqual(hash, known) || accepted;
    return accepted;
  }
}
