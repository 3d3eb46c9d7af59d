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

/** A plain refresh token's length: the prefix and 256 random bits in base64url. */
const plainTokenLength = refreshTokenPrefix.length + 43;

/** A new refresh token: 256 random bits. Only its hash is ever stored. */
export function generateRefreshToken(): string {
  const { from, to } = takeRandom(32);
  return refreshTokenPrefix + randomPool.toString('base64url', from, to);
}

/** The longest refresh token a request may present (`POST /v1/token/refresh`, the OAuth token endpoint). */
export const refreshTokenMaxLength = 512;

/** The name of the identity key among the store's shared secrets (`SessionStore.sharedSecret`). */
export const tokenIdentityKeyName = 'refresh-token-identity-key';

/**
 * What a refresh token carries of its session: what never changes about it, enough to sign its next
 * access token and rotate it without reading it first (`SessionStore.rotateUnreadRefreshToken`). Its
 * DPoP key can only be set by the rotation of the token that carries it, which carries the new one on.
 */
export interface TokenIdentity {
  readonly id: string;
  readonly userId: string;
  readonly flow: string;
  readonly expiresAt: number;
  readonly dpopJkt: string | null;
}

/**
 * A new refresh token that carries `identity`, sealed (AES-256-GCM) under `key`, the key every node
 * of the store shares: `rt_<256 random bits><sealed identity>`, all base64url (no dot: to
 * introspection, a token with one is a JWT). Any node can then rotate it with one statement, not only
 * the one that issued it. The seal is bound to the random part, and the token's
 * hash covers both, so an altered identity matches no stored token. Where the sealed identity would
 * make the token longer than a request may carry (a very long user id), the token is plain, and its
 * refresh reads the session first.
 */
export function generateRefreshTokenFor(identity: TokenIdentity, key: Buffer): string {
  const token = generateRefreshToken();
  const { from, to } = takeRandom(12);
  const iv = Buffer.from(randomPool.subarray(from, to));
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(token, 'latin1'));
  const plaintext = JSON.stringify([identity.id, identity.userId, identity.flow, identity.expiresAt, identity.dpopJkt]);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const carrying = token + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
  return carrying.length <= refreshTokenMaxLength ? carrying : token;
}

/**
 * The identity a refresh token carries under `key`; null for a plain token (issued before tokens
 * carried one, or too long to), another key's, or one altered in any byte.
 */
export function identityOfRefreshToken(token: string, key: Buffer): TokenIdentity | null {
  if (token.length <= plainTokenLength || !token.startsWith(refreshTokenPrefix)) return null;
  const sealed = Buffer.from(token.slice(plainTokenLength), 'base64url');
  if (sealed.length <= 28) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(token.slice(0, plainTokenLength), 'latin1'));
    decipher.setAuthTag(sealed.subarray(12, 28));
    const fields: unknown = JSON.parse(Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8'));
    if (!Array.isArray(fields) || fields.length !== 5) return null;
    const [id, userId, flow, expiresAt, dpopJkt] = fields as unknown[];
    if (typeof id !== 'string' || typeof userId !== 'string' || typeof flow !== 'string' || typeof expiresAt !== 'number') return null;
    if (dpopJkt !== null && typeof dpopJkt !== 'string') return null;
    return { id, userId, flow, expiresAt, dpopJkt };
  } catch {
    return null;
  }
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
