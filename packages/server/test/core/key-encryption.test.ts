import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { KeyEncryption, parseKeyEncryptionKey } from '../../src/core/key-encryption.js';
import type { SessionStore } from '../../src/core/store.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { createTessera } from '../../src/tessera.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, onDatabase, type TestDatabase } from '../services.js';

/** Signing private keys sealed at rest under a key-encryption key, on SQLite and PostgreSQL. */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const kekA = randomBytes(32);
const kekB = randomBytes(32);

describe.each([
  {
    name: 'SQLite',
    open: async () => {
      const temp = tempDir();
      const path = join(temp.dir, 'tessera.db');
      return { reopen: async (): Promise<SessionStore> => new SqliteSessionStore(path), cleanup: temp.cleanup };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      await (await PostgresSessionStore.open({ connectionString: database.url })).close();
      await onDatabase(database.url, (client) => client.query('TRUNCATE sessions, refresh_tokens, signing_keys, api_keys CASCADE'));
      return { reopen: () => PostgresSessionStore.open({ connectionString: database.url }), cleanup: () => {} };
    },
  },
])('signing keys at rest on $name', ({ open }) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));

  async function node(reopen: () => Promise<SessionStore>, keyEncryption?: KeyEncryption) {
    const store = await reopen();
    try {
      return await createTessera({ store, clock, ...(keyEncryption ? { keyEncryption } : {}) });
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  it('are sealed under the KEK, sign and verify, and need that KEK to start again', async () => {
    const { reopen, cleanup } = await open();
    try {
      const first = await node(reopen, new KeyEncryption(kekA));
      const [stored] = await first.store.listSigningKeys();
      expect(stored!.privateJwk).toMatch(/^tessera-kek:v1:/);
      expect(stored!.privateJwk).not.toContain('"d"');
      const grant = await first.sessions.createSession({ userId: 'alice' });
      await first.close();

      const again = await node(reopen, new KeyEncryption(kekA));
      expect((await again.sessions.authenticate(grant.accessToken)).session.userId).toBe('alice');
      expect((await again.signingKeys.currentKey()).kid).toBe(stored!.kid);
      await again.close();

      await expect(node(reopen)).rejects.toThrow(ConfigError);
      await expect(node(reopen)).rejects.toThrow(/encrypted at rest; give its key-encryption key with TESSERA_KEK or --kek-file/);
      await expect(node(reopen, new KeyEncryption(kekB))).rejects.toThrow(/does not hold/);
    } finally {
      cleanup();
    }
  });

  it('a node without the KEK of a key another node rotated to answers service_unavailable, never an internal error', async () => {
    const { reopen, cleanup } = await open();
    try {
      const plain = await node(reopen);
      const sealing = await node(reopen, new KeyEncryption(kekA));
      try {
        await sealing.signingKeys.rotate();
        // The plain node picks up the new current key on its next reload, and cannot open it.
        clock.advance(31);
        const refused = await plain.sessions.createSession({ userId: 'alice' }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toMatchObject({ code: 'service_unavailable', status: 503, retryAfter: 30 });
        expect((refused as Error).cause).toMatchObject({ name: 'KeyEncryptionError' });
        // The node with the KEK signs as before.
        expect((await sealing.sessions.createSession({ userId: 'alice' })).accessToken).toBeTruthy();
      } finally {
        await sealing.close();
        await plain.close();
      }
    } finally {
      cleanup();
    }
  });

  it('plain keys from before keep working; reencrypt seals them, and moves them to a new KEK', async () => {
    const { reopen, cleanup } = await open();
    try {
      const plain = await node(reopen);
      const kid = (await plain.signingKeys.currentKey()).kid;
      expect((await plain.store.listSigningKeys())[0]!.privateJwk).toContain('"d"');
      await plain.close();

      const withKek = await node(reopen, new KeyEncryption(kekA));
      expect((await withKek.signingKeys.currentKey()).kid).toBe(kid);
      await withKek.signingKeys.rotate();
      // Both keys may share a created_at on the test clock: tell them apart by kid, not by order.
      const keys = await withKek.store.listSigningKeys();
      const old = keys.find((key) => key.kid === kid);
      const rotated = keys.find((key) => key.kid !== kid);
      expect(old!.privateJwk).toContain('"d"');
      expect(rotated!.privateJwk).toMatch(/^tessera-kek:v1:/);
      expect(await withKek.signingKeys.reencrypt()).toBe(1);
      expect((await withKek.store.listSigningKeys()).every((key) => key.privateJwk.startsWith('tessera-kek:v1:'))).toBe(true);
      await withKek.close();

      // KEK rotation: the new one seals, the previous one still opens, until reencrypt is done.
      const rotating = await node(reopen, new KeyEncryption(kekB, [kekA]));
      expect(await rotating.signingKeys.reencrypt()).toBe(2);
      await rotating.close();
      const after = await node(reopen, new KeyEncryption(kekB));
      expect((await after.signingKeys.currentKey()).kid).toBe(rotated!.kid);
      await after.close();
      await expect(node(reopen, new KeyEncryption(kekA))).rejects.toThrow(/does not hold/);
    } finally {
      cleanup();
    }
  });
});

describe('parseKeyEncryptionKey', () => {
  it('takes 32 bytes in base64 or base64url, and nothing else', () => {
    const key = randomBytes(32);
    expect(parseKeyEncryptionKey(key.toString('base64'), 'TESSERA_KEK')).toEqual(key);
    expect(parseKeyEncryptionKey(`${key.toString('base64url')}\n`, 'TESSERA_KEK')).toEqual(key);
    expect(() => parseKeyEncryptionKey('hunter2', 'TESSERA_KEK')).toThrow(/TESSERA_KEK must hold 32 random bytes/);
    expect(() => parseKeyEncryptionKey(randomBytes(16).toString('base64'), 'TESSERA_KEK')).toThrow(/32 random bytes/);
  });
});
