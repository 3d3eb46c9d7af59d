import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** What a sealed private key starts with; anything else in the store is a plain JWK from before. */
const sealedPrefix = 'tessera-kek:v1:';
const keyBytes = 32;
const ivBytes = 12;

/** A key-encryption key that is missing, malformed or not the one the store's keys were sealed under. */
export class KeyEncryptionError extends Error {
  override name = 'KeyEncryptionError';
}

/** Reads a key-encryption key: 32 bytes, base64 or base64url (`openssl rand -base64 32`). `source` names where it came from. */
export function parseKeyEncryptionKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (bytes.length !== keyBytes) {
    throw new KeyEncryptionError(`${source} must hold 32 random bytes in base64 (for example \`openssl rand -base64 32\`).`);
  }
  return bytes;
}

/** A short public name for a key-encryption key, stored beside what it sealed: says which key is needed, reveals nothing. */
function keyId(key: Buffer): string {
  return createHash('sha256').update('tessera-kek-id').update(key).digest('base64url').slice(0, 8);
}

/**
 * Seals signing private keys at rest with AES-256-GCM under a key-encryption key (KEK), bound to their
 * `kid`. `current` seals; `previous` keys only open, so the KEK can be rotated without downtime.
 */
export class KeyEncryption {
  readonly #current: { id: string; key: Buffer };
  readonly #byId: Map<string, Buffer>;

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    this.#current = { id: keyId(current), key: current };
    this.#byId = new Map([...previous, current].map((key) => [keyId(key), key]));
  }

  /** Whether `stored` is sealed (not a plain JWK from before encryption). */
  static isSealed(stored: string): boolean {
    return stored.startsWith(sealedPrefix);
  }

  /** `plaintext` sealed under the current KEK, bound to `kid`. */
  seal(plaintext: string, kid: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
    return `${sealedPrefix}${this.#current.id}:${parts.join(':')}`;
  }

  /** Whether `stored` is sealed under the current KEK already. */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`${sealedPrefix}${this.#current.id}:`);
  }

  /** The plaintext of `stored` (a plain JWK is returned as it is). Throws `KeyEncryptionError`. */
  open(stored: string, kid: string): string {
    if (!KeyEncryption.isSealed(stored)) return stored;
    const [id, iv, ciphertext, tag] = stored.slice(sealedPrefix.length).split(':');
    const key = id === undefined ? undefined : this.#byId.get(id);
    if (!key || iv === undefined || ciphertext === undefined || tag === undefined) throw wrongKey(kid, id);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyEncryptionError(`the private key of signing key ${kid} does not decrypt: it was altered, or sealed for another kid.`);
    }
  }
}

function wrongKey(kid: string, id: string | undefined): KeyEncryptionError {
  return new KeyEncryptionError(
    `signing key ${kid} is encrypted under the key-encryption key ${id ?? '?'}, which TESSERA_KEK / --kek-file does not hold (during a KEK rotation give the old one as TESSERA_PREVIOUS_KEK / --previous-kek-file).`,
  );
}

/** The error for a store holding sealed keys when no key-encryption key is given. */
export function missingKeyEncryptionKey(kid: string): KeyEncryptionError {
  return new KeyEncryptionError(`signing key ${kid} is encrypted at rest; give its key-encryption key with TESSERA_KEK or --kek-file.`);
}
