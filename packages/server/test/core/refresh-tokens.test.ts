import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateRefreshToken,
  generateRefreshTokenFor,
  hashRefreshToken,
  identityOfRefreshToken,
  openSuccessor,
  refreshTokenMaxLength,
  sealSuccessor,
  type TokenIdentity,
} from '../../src/core/refresh-tokens.js';

describe('refresh tokens and sealed successors (randomness drawn from a pool)', () => {
  it('never hands out the same token twice, across many refills of the pool', () => {
    // 10,000 tokens of 32 bytes are ~80 pools' worth, with IVs drawn in between.
    const tokens = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      tokens.add(generateRefreshToken());
      if (i % 3 === 0) sealSuccessor('rt_spent', { i });
    }
    expect(tokens.size).toBe(10_000);
    for (const token of [...tokens].slice(0, 50)) expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
  });

  it('seals each time under a new IV, and only the spent token opens the seal', () => {
    const grant = { accessToken: 'a.b.c', accessTokenExpiresAt: 1, refreshToken: 'rt_next', refreshTokenExpiresAt: 2 };
    const seals = Array.from({ length: 2_000 }, () => sealSuccessor('rt_spent', grant));
    expect(new Set(seals.map((sealed) => sealed.split('.')[0])).size).toBe(2_000);
    for (const sealed of seals.slice(0, 20)) {
      expect(openSuccessor('rt_spent', sealed)).toEqual(grant);
      expect(openSuccessor('rt_other', sealed)).toBeNull();
    }
    expect(hashRefreshToken('rt_spent')).not.toBe(hashRefreshToken('rt_other'));
  });
});

describe('refresh tokens that carry their session', () => {
  const key = randomBytes(32);
  const alice: TokenIdentity = { id: 'ses_01KDWCJ2M0580QNJHDRBYBJPJ1', userId: 'alice@example.com', flow: 'dash', expiresAt: 1_790_000_000_000, dpopJkt: null };

  it('opens to the identity it was made with, under the same key only', () => {
    const bound = { ...alice, userId: 'Zoë ✓ / %2F', dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' };
    for (const identity of [alice, bound]) {
      const token = generateRefreshTokenFor(identity, key);
      expect(token).toMatch(/^rt_[A-Za-z0-9_-]+$/);
      expect(token.length).toBeLessThanOrEqual(refreshTokenMaxLength);
      expect(identityOfRefreshToken(token, key)).toEqual(identity);
      expect(identityOfRefreshToken(token, randomBytes(32))).toBeNull();
    }
    // Each token is new, its random part and its seal both.
    const tokens = Array.from({ length: 1_000 }, () => generateRefreshTokenFor(alice, key));
    expect(new Set(tokens.map((token) => token.slice(0, 46))).size).toBe(1_000);
    expect(new Set(tokens.map((token) => token.slice(46, 62))).size).toBe(1_000);
  });

  it('carries nothing when any character is changed, or its sealed part is moved to another token', () => {
    const token = generateRefreshTokenFor(alice, key);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let at = 0; at < token.length; at++) {
      const other = alphabet[(alphabet.indexOf(token[at]!) + 1) % alphabet.length]!;
      const altered = token.slice(0, at) + other + token.slice(at + 1);
      // base64url's last character can differ in bits the decoder drops: then the bytes are the same token's.
      if (Buffer.from(altered.slice(46), 'base64url').equals(Buffer.from(token.slice(46), 'base64url')) && at >= 46) continue;
      expect(identityOfRefreshToken(altered, key), `character ${at}`).toBeNull();
    }
    const spliced = generateRefreshToken() + token.slice(46);
    expect(identityOfRefreshToken(spliced, key)).toBeNull();
    expect(identityOfRefreshToken(token.slice(0, 60), key)).toBeNull();
    expect(identityOfRefreshToken(`${token}AAAA`, key)).toBeNull();
  });

  it('is a plain token, carrying nothing, where the identity would not fit in a request', () => {
    const long = { ...alice, userId: '\u00e9'.repeat(256) };
    const token = generateRefreshTokenFor(long, key);
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(identityOfRefreshToken(token, key)).toBeNull();
    expect(identityOfRefreshToken(generateRefreshToken(), key)).toBeNull();
    expect(identityOfRefreshToken('rt_', key)).toBeNull();
    expect(identityOfRefreshToken('eyJhbGciOiJFUzI1NiJ9.e30.sig', key)).toBeNull();
  });

  it('refuses a sealed payload of the wrong shape, even under the right key', () => {
    const seal = (payload: string) => {
      const token = generateRefreshToken();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(token, 'latin1'));
      const ciphertext = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]);
      return token + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
    };
    expect(identityOfRefreshToken(seal('["ses_1","alice","dash",1,null]'), key)).toEqual({
      id: 'ses_1',
      userId: 'alice',
      flow: 'dash',
      expiresAt: 1,
      dpopJkt: null,
    });
    for (const payload of [
      '{}',
      '[1,2,3,4,5]',
      '["ses_1","alice","dash","1",null]',
      '["ses_1","alice","dash",1,7]',
      '["ses_1","alice","dash",1]',
      'not json',
    ]) {
      expect(identityOfRefreshToken(seal(payload), key), payload).toBeNull();
    }
  });
});
