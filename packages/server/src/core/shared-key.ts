import { randomBytes } from 'node:crypto';
import type { SessionStore } from './store.js';

/**
 * The 256-bit key every node of `store` holds under `name` (`SessionStore.sharedSecret`): made by the
 * first node that asks, read by the others, so what one node seals or MACs, any node opens.
 */
export async function sharedKey(store: SessionStore, name: string, now: number): Promise<Buffer> {
  return Buffer.from(await store.sharedSecret(name, randomBytes(32).toString('base64url'), now), 'base64url');
}
