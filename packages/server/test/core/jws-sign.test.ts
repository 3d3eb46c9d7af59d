import { compactVerify, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { keyObjectOf, signCompactJws } from '../../src/core/jws-sign.js';

describe('signCompactJws (node:crypto, what access tokens are signed with)', () => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`signs a ${alg} JWT that jose verifies, header and claims as given`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const token = signCompactJws({ alg, typ: 'at+jwt', kid: 'k1' }, { sub: 'u1', sid: 'ses_1', exp: 4_000_000_000 }, keyObjectOf(privateKey));
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: [alg], typ: 'at+jwt' });
      expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: 'k1' });
      expect(payload).toEqual({ sub: 'u1', sid: 'ses_1', exp: 4_000_000_000 });
    });
  }

  it('signs differently for another key: a token signed by one key fails under another', async () => {
    const one = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const token = signCompactJws({ alg: 'ES256' }, { sub: 'u1' }, keyObjectOf(one.privateKey));
    await expect(compactVerify(token, other.publicKey)).rejects.toThrow();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256' });
  });

  it('keeps non-ASCII claims intact (UTF-8, base64url without padding)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const token = signCompactJws({ alg: 'ES256' }, { sub: 'Zoë 👩‍💻' }, keyObjectOf(privateKey));
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$/);
    expect((await jwtVerify(token, publicKey)).payload.sub).toBe('Zoë 👩‍💻');
  });

  it('refuses an algorithm it does not implement rather than signing wrongly', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    expect(() => signCompactJws({ alg: 'HS256' }, {}, keyObjectOf(privateKey))).toThrow(/unsupported alg HS256/);
  });
});
