import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.js';
import type { SessionStore } from './store.js';

function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The keys that may call the management API. Only their hashes are kept. */
export class ApiKeys {
  #hashes: Buffer[] = [];

  private constructor(hashes: Buffer[]) {
    this.#hashes = hashes;
  }

  /**
   * With `fixedKey`, that key alone is accepted (and its hash stored). Otherwise the stored keys are;
   * when there are none, one is generated and returned in `generated`, to be shown once.
   */
  static async open(store: SessionStore, clock: Clock, fixedKey?: string): Promise<{ apiKeys: ApiKeys; generated?: string }> {
    if (fixedKey !== undefined && fixedKey !== '') {
      const hash = hashApiKey(fixedKey);
      await store.addApiKeyHash(hash.toString('base64url'), clock.now());
      return { apiKeys: new ApiKeys([hash]) };
    }
    const stored = await store.listApiKeyHashes();
    if (stored.length > 0) return { apiKeys: new ApiKeys(stored.map((hash) => Buffer.from(hash, 'base64url'))) };
    const generated = `tsk_${randomBytes(32).toString('base64url')}`;
    const hash = hashApiKey(generated);
    await store.addApiKeyHash(hash.toString('base64url'), clock.now());
    return { apiKeys: new ApiKeys([hash]), generated };
  }

  /** Whether `presented` is an accepted key; the comparison takes the same time for every key. */
  accepts(presented: string): boolean {
    const hash = hashApiKey(presented);
    let accepted = false;
    for (const known of this.#hashes) accepted = timingSafeEqual(hash, known) || accepted;
    return accepted;
  }
}
