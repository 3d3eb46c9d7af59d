import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from './clock.js';
import { newId } from './ids.js';
import type { SessionStore, SigningKeyRecord } from './store.js';

/** ES256: on this hardware it verifies faster than EdDSA, and verification is the hot path (BENCHMARKS.md). */
export const signingAlgorithm = 'ES256';

/** Keys are re-read from the store this often, so a rotation by another process or node is picked up. */
const reloadIntervalMs = 30_000;
/** An unknown `kid` triggers a reload at most this often, so random kids cannot hammer the store. */
const unknownKidReloadMs = 1_000;

interface LoadedKey {
  readonly record: SigningKeyRecord;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  privateKey?: CryptoKey;
}

export interface SigningKeysOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** How long a retired key must keep verifying: the longest access-token lifetime, in seconds. */
  readonly longestTokenTtl: number;
}

/** The server's signing keys: one current key that signs, retired ones that still verify. */
export class SigningKeys {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #longestTokenTtl: number;
  #keys = new Map<string, LoadedKey>();
  #current: LoadedKey | undefined;
  #loadedAt = -Infinity;
  #loading: Promise<void> | undefined;
  /** Kids this instance has made sure carry its longest token lifetime. */
  readonly #stamped = new Set<string>();
  readonly #rotationListeners = new Set<(key: SigningKeyRecord) => void>();

  constructor(options: SigningKeysOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#longestTokenTtl = options.longestTokenTtl;
  }

  /** Loads the keys, creating the first one when the store has none. */
  async init(): Promise<void> {
    await this.#reload();
    if (!this.#current) {
      await this.#store.addSigningKey(await this.#createKey(), null);
      await this.#reload();
    }
  }

  /**
   * Makes a new current key. The old one stops signing but stays in the JWKS until every token it
   * signed has expired (plus one reload interval, for nodes that have not seen the rotation yet):
   * for the longest lifetime any node signing with it recorded, not only what this process knows.
   */
  async rotate(): Promise<SigningKeyRecord> {
    await this.#reload();
    const recorded = [...this.#keys.values()].filter((key) => key.record.retiredAt === null).map((key) => key.record.longestTokenTtl ?? 0);
    const horizonTtl = Math.max(this.#longestTokenTtl, ...recorded);
    const key = await this.#createKey();
    const verifyUntil = this.#clock.now() + horizonTtl * 1000 + 2 * reloadIntervalMs;
    await this.#store.addSigningKey(key, verifyUntil);
    await this.#reload();
    for (const listener of this.#rotationListeners) listener(key);
    return key;
  }

  /** Calls `listener` after each rotation made through this instance; returns the function that stops it. */
  onRotated(listener: (key: SigningKeyRecord) => void): () => void {
    this.#rotationListeners.add(listener);
    return () => this.#rotationListeners.delete(listener);
  }

  /** Re-reads the keys now: another node or process rotated them. */
  reload(): Promise<void> {
    return this.#reload();
  }

  /** The key that signs new tokens. */
  async currentKey(): Promise<{ kid: string; privateKey: CryptoKey }> {
    if (this.#clock.now() - this.#loadedAt > reloadIntervalMs) await this.#reload();
    const current = this.#current;
    if (!current) throw new Error('no signing key: init() was not called');
    await this.#stamp(current.record);
    current.privateKey ??= (await importJWK(JSON.parse(current.record.privateJwk) as JWK, signingAlgorithm)) as CryptoKey;
    return { kid: current.record.kid, privateKey: current.privateKey };
  }

  /** The public key for `kid`, if it may still verify tokens. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    let key = this.#keys.get(kid);
    if (!key && this.#clock.now() - this.#loadedAt > unknownKidReloadMs) {
      await this.#reload();
      key = this.#keys.get(kid);
    }
    if (!key || !this.#mayVerify(key.record)) return undefined;
    return key.publicKey;
  }

  /** Whether a key `kid` is loaded and may still verify tokens; no store read. */
  stillVerifies(kid: string): boolean {
    const key = this.#keys.get(kid);
    return key !== undefined && this.#mayVerify(key.record);
  }

  /** The JWKS document: every key that may still verify a token. */
  publicJwks(): { keys: JWK[] } {
    const keys = [...this.#keys.values()].filter((key) => this.#mayVerify(key.record)).map((key) => key.publicJwk);
    return { keys };
  }

  /** Records on the key, once per key and instance, that it signs tokens living up to this node's longest lifetime. */
  async #stamp(record: SigningKeyRecord): Promise<void> {
    if (this.#stamped.has(record.kid)) return;
    if ((record.longestTokenTtl ?? 0) < this.#longestTokenTtl) await this.#store.extendSigningKeyTtl(record.kid, this.#longestTokenTtl);
    this.#stamped.add(record.kid);
  }

  #mayVerify(record: SigningKeyRecord): boolean {
    return record.verifyUntil === null || record.verifyUntil > this.#clock.now();
  }

  async #createKey(): Promise<SigningKeyRecord> {
    const { privateKey, publicKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
    const kid = newId('', this.#clock.now());
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: signingAlgorithm, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: signingAlgorithm };
    return {
      kid,
      alg: signingAlgorithm,
      privateJwk: JSON.stringify(privateJwk),
      publicJwk: JSON.stringify(publicJwk),
      createdAt: this.#clock.now(),
      retiredAt: null,
      verifyUntil: null,
      longestTokenTtl: this.#longestTokenTtl,
    };
  }

  // Concurrent callers share one reload.
  #reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    const records = await this.#store.listSigningKeys();
    const keys = new Map<string, LoadedKey>();
    for (const record of records) {
      const known = this.#keys.get(record.kid);
      if (known) {
        keys.set(record.kid, { ...known, record });
        continue;
      }
      const publicJwk = JSON.parse(record.publicJwk) as JWK;
      const publicKey = (await importJWK(publicJwk, record.alg)) as CryptoKey;
      keys.set(record.kid, { record, publicKey, publicJwk });
    }
    this.#keys = keys;
    // Newest unretired key signs; two nodes that raced to create the first key agree on it.
    this.#current = [...keys.values()]
      .filter((key) => key.record.retiredAt === null)
      .sort((a, b) => b.record.kid.localeCompare(a.record.kid))[0];
    this.#loadedAt = this.#clock.now();
  }
}
