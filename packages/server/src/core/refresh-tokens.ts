import { createCipheriv, createDecipheriv, createHash, randomFillSync } from 'node:crypto';

const refreshTokenPrefix = 'rt_';

/**
 * CSPRNG bytes drawn 4 KiB at a time: a refresh takes 44 (its token and its seal's IV), and a call
 * of `randomBytes` each cost ~10 µs of the event loop here. Every byte is handed out once.
 */
const randomPool = Buffer.alloc(4096);
let randomPoolNext = randomPool.length;

function takeRandom(size: number): { readonly from: number; readonly to: number } {
  if (randomPoolNext + size > randomPool.length) {
    randomFillSync(randomPool);
    randomPoolNext = 0;
  }
  const from = randomPoolNext;
  randomPoolNext += size;
  return { from, to: randomPoolNext };
}

/** A new refresh token: 256 random bits. Only its hash is ever stored. */
export function generateRefreshToken(): string {
  const { from, to } = takeRandom(32);
  return refreshTokenPrefix + randomPool.toString('base64url', from, to);
}

/** The SHA-256 under which a refresh token is stored and looked up. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

// A key separate from the lookup hash, so the stored hash cannot open the sealed successor.
function sealingKey(token: string): Buffer {
  return createHash('sha256').update('tessera/successor/v1\0').update(token).digest();
}

/**
 * Seals the successor grant with a key derived from the spent token, so a retry that presents the
 * spent token inside the reuse interval gets the identical pair, while the store alone cannot.
 */
export function sealSuccessor(spentToken: string, successor: unknown): string {
  const { from, to } = takeRandom(12);
  // A copy: the pool's bytes are overwritten when it is refilled.
  const iv = Buffer.from(randomPool.subarray(from, to));
  const cipher = createCipheriv('aes-256-gcm', sealingKey(spentToken), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(successor), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
}

/** Opens what `sealSuccessor` sealed; null when the token does not match or the seal is damaged. */
export function openSuccessor(spentToken: string, sealed: string): unknown {
  const [iv, tag, ciphertext] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !ciphertext) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(spentToken), iv);
    decipher.setAuthTag(tag);
    return JSON.parse(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8'));
  } catch {
    return null;
  }
}
