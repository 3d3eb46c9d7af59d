import { signingAlgorithm } from '@tessera/verifier/core';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Clock } from './clock.js';
import { newId } from './ids.js';
import { type Actor, type Journal, systemActor } from './journal.js';
import { KeyEncryption, KeyEncryptionError, missingKeyEncryptionKey } from './key-encryption.js';
import type { SessionStore, SigningKeyRecord } from './store.js';

// Defined where the offline verifier pins it, so signer and verifier cannot disagree.
export { signingAlgorithm } from '@tessera/verifier/core';

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
  /** Seals new private keys at rest and opens sealed ones; without it, a sealed key in the store is an error. */
  readonly keyEncryption?: KeyEncryption;
  /** Records each new key (`signing_key.rotated`) in the audit trail; without it, nothing is recorded. */
  readonly journal?: Journal;
}

/** The server's signing keys: one current key that signs, retired ones that still verify. */
export class SigningKeys {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #longestTokenTtl: number;
  readonly #keyEncryption: KeyEncryption | undefined;
  readonly #journal: Journal | undefined;
  #keys = new Map<string, LoadedKey>();
  #current: LoadedKey | undefined;
  #loadedAt = -Infinity;
  /** When an unknown kid last made this instance re-read the keys. */
  #unknownKidReloadAt = -Infinity;
  #loading: Promise<void> | undefined;
  /** Kids this instance has made sure carry its longest token lifetime. */
  readonly #stamped = new Set<string>();
  readonly #rotationListeners = new Set<(key: SigningKeyRecord) => void>();

  constructor(options: SigningKeysOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#longestTokenTtl = options.longestTokenTtl;
    this.#keyEncryption = options.keyEncryption;
    this.#journal = options.journal;
  }

  /**
   * Loads the keys, creating the first one when the store has none. Opens the current private key
   * now (unless told not to: a command that never signs), so a missing or wrong key-encryption key
   * fails the start (`KeyEncryptionError`), not a sign-in.
   */
  async init(options: { openCurrentKey?: boolean } = {}): Promise<void> {
    await this.#reload();
    if (!this.#current) {
      // A node's very first key is recorded too: Tessera made it.
      await this.#store.addSigningKey(await this.#createKey(), null, this.#recording(systemActor, []));
      await this.#reload();
    }
    if (options.openCurrentKey ?? true) await this.currentKey();
  }

  /**
   * Seals every stored private key under the current key-encryption key (plain ones, and ones sealed
   * under a previous KEK); returns how many changed. The way to encrypt an existing store or finish a
   * KEK rotation.
   */
  async reencrypt(): Promise<number> {
    const encryption = this.#keyEncryption;
    if (!encryption) throw new KeyEncryptionError('re-encrypting the signing keys needs TESSERA_KEK or --kek-file.');
    let changed = 0;
    for (const record of await this.#store.listSigningKeys()) {
      if (encryption.isCurrent(record.privateJwk)) continue;
      const plain = encryption.open(record.privateJwk, record.kid);
      await this.#store.replaceSigningKeyPrivateJwk(record.kid, encryption.seal(plain, record.kid));
      changed += 1;
    }
    await this.#reload();
    return changed;
  }

  /**
   * Makes a new current key. The old one stops signing but stays in the JWKS until every token it
   * signed has expired (plus one reload interval, for nodes that have not seen the rotation yet):
   * for the longest lifetime any node signing with it recorded, not only what this process knows.
   * `actor` is who asked (the CLI's operator), recorded with the new key's kid.
   */
  async rotate(actor: Actor = systemActor): Promise<SigningKeyRecord> {
    await this.#reload();
    const recorded = [...this.#keys.values()].filter((key) => key.record.retiredAt === null).map((key) => key.record.longestTokenTtl ?? 0);
    const horizonTtl = Math.max(this.#longestTokenTtl, ...recorded);
    const key = await this.#createKey();
    const verifyUntil = this.#clock.now() + horizonTtl * 1000 + 2 * reloadIntervalMs;
    const retired = [...this.#keys.values()].filter((known) => known.record.retiredAt === null).map((known) => known.record.kid);
    await this.#store.addSigningKey(key, verifyUntil, this.#recording(actor, retired));
    await this.#reload();
    for (const listener of this.#rotationListeners) listener(key);
    return key;
  }

  /** The journal entry of a new key: its kid and the kids it retires; never key material. */
  #recording(actor: Actor, retired: readonly string[]) {
    const journal = this.#journal;
    return (
      journal &&
      ((key: SigningKeyRecord) => journal.write([{ type: 'signing_key.rotated', actor, details: { kid: key.kid, alg: key.alg, retired_kids: retired } }]))
    );
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
    current.privateKey ??= (await importJWK(JSON.parse(this.#plainPrivateJwk(current.record)) as JWK, signingAlgorithm)) as CryptoKey;
    return { kid: current.record.kid, privateKey: current.privateKey };
  }

  /** The public key for `kid`, if it may still verify tokens. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    let key = this.#keys.get(kid);
    // Timed from the last reload an unknown kid caused, not from any load: a node that has just
    // started must still learn the key another node created at the same moment (both found none).
    if (!key && this.#clock.now() - this.#unknownKidReloadAt > unknownKidReloadMs) {
      this.#unknownKidReloadAt = this.#clock.now();
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
    if ((record.longestTokenTtl ?? 0) < this.#longestTokenTtl) {
      // A store that cannot take the write now must not stop sign-ins: the next signing tries again.
      const stamped = await this.#store.extendSigningKeyTtl(record.kid, this.#longestTokenTtl).then(
        () => true,
        () => false,
      );
      if (!stamped) return;
    }
    this.#stamped.add(record.kid);
  }

  #plainPrivateJwk(record: SigningKeyRecord): string {
    if (this.#keyEncryption) return this.#keyEncryption.open(record.privateJwk, record.kid);
    if (KeyEncryption.isSealed(record.privateJwk)) throw missingKeyEncryptionKey(record.kid);
    return record.privateJwk;
  }

  #mayVerify(record: SigningKeyRecord): boolean {
    return record.verifyUntil === null || record.verifyUntil > this.#clock.now();
  }

  async #createKey(): Promise<SigningKeyRecord> {
    // Never a plain key beside sealed ones: that would quietly undo the encryption.
    const sealed = [...this.#keys.values()].find((key) => KeyEncryption.isSealed(key.record.privateJwk));
    if (sealed && !this.#keyEncryption) throw missingKeyEncryptionKey(sealed.record.kid);
    const { privateKey, publicKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
    const kid = newId('', this.#clock.now());
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: signingAlgorithm, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: signingAlgorithm };
    return {
      kid,
      alg: signingAlgorithm,
      privateJwk: this.#keyEncryption ? this.#keyEncryption.seal(JSON.stringify(privateJwk), kid) : JSON.stringify(privateJwk),
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
    this.#current = [...keys.values()].filter((key) => key.record.retiredAt === null).sort((a, b) => b.record.kid.localeCompare(a.record.kid))[0];
    this.#loadedAt = this.#clock.now();
  }
}
