import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.js';
import { sharedKey } from './shared-key.js';
import type { SessionStore } from './store.js';

/** The name of the nonce key among the store's shared secrets. */
const secretName = 'dpop-nonce-key';
/** Bytes of the HMAC kept in a nonce: 128 bits, more than a guess can reach in a nonce's life. */
const macBytes = 16;

/**
 * Server-issued DPoP nonces (RFC 9449 §8): a proof must carry one this server gave out lately, so a
 * proof made ahead of time (by a script that had the key for a moment) is useless after a minute or
 * two. Stateless: a nonce is its time window and an HMAC of it under a key every node reads from the
 * store, so any node accepts what another gave out. The current window's nonce and the one before
 * are accepted: a nonce lives one to two windows.
 */
export class DpopNonces {
  readonly #key: Buffer;
  readonly #clock: Clock;
  readonly #windowMs: number;

  constructor(key: Buffer, clock: Clock, windowSeconds = 60) {
    this.#key = key;
    this.#clock = clock;
    this.#windowMs = windowSeconds * 1000;
  }

  /** The nonces of the nodes sharing `store`: the key is made by the first node that needs it. */
  static async shared(store: SessionStore, clock: Clock, windowSeconds?: number): Promise<DpopNonces> {
    return new DpopNonces(await sharedKey(store, secretName, clock.now()), clock, windowSeconds);
  }

  /** The nonce to give out now (the `DPoP-Nonce` header). */
  current(): string {
    return this.#nonceOf(this.#window());
  }

  /** Whether a proof's `nonce` is one given out in this window or the one before. */
  accepts(nonce: string | undefined): boolean {
    if (typeof nonce !== 'string') return false;
    const [windowText, mac] = nonce.split('.');
    if (windowText === undefined || mac === undefined || !/^[0-9a-z]{1,12}$/.test(windowText)) return false;
    const window = Number.parseInt(windowText, 36);
    const now = this.#window();
    if (window !== now && window !== now - 1) return false;
    const expected = Buffer.from(this.#macOf(window), 'base64url');
    const given = Buffer.from(mac, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #window(): number {
    return Math.floor(this.#clock.now() / this.#windowMs);
  }

  #nonceOf(window: number): string {
    return `${window.toString(36)}.${this.#macOf(window)}`;
  }

  #macOf(window: number): string {
    return createHmac('sha256', this.#key).update(`dpop-nonce:${window}`).digest().subarray(0, macBytes).toString('base64url');
  }
}
