import { describe, expect, it } from 'vitest';
import { generateRefreshToken, hashRefreshToken, openSuccessor, sealSuccessor } from '../../src/core/refresh-tokens.js';

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
