import type { KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { keyObjectOf } from '../../src/core/jws-sign.js';
import { JwsSigner } from '../../src/core/signing-thread.js';

type Header = Record<string, unknown>;
type Payload = Record<string, unknown>;

const signers: JwsSigner[] = [];
afterEach(async () => {
  await Promise.all(signers.splice(0).map((signer) => signer.close()));
});

function signer(threadAfterSignatures: number): JwsSigner {
  const made = new JwsSigner({ threadAfterSignatures });
  signers.push(made);
  return made;
}

/** Signs in one turn of the event loop, with three companions, so a running thread gets them as a batch. */
async function signInABatch(on: JwsSigner, header: Header, payload: Payload, key: CryptoKey): Promise<string> {
  const companions = [1, 2, 3].map((n) => on.sign({ alg: 'ES256' }, { n }, keyObjectOf(key)));
  const [token] = await Promise.all([on.sign(header, payload, keyObjectOf(key)), ...companions]);
  return token;
}

// The same tokens whether they are signed on the calling thread or on the signing thread.
for (const [where, threadAfterSignatures, thread] of [
  ['on the calling thread', Number.POSITIVE_INFINITY, 'not started'],
  ['on its thread, in batches', 0, 'running'],
] as const) {
  describe(`JwsSigner ${where} (node:crypto, what access tokens are signed with)`, () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      it(`signs a ${alg} JWT that jose verifies, header and claims as given`, async () => {
        const on = signer(threadAfterSignatures);
        const { privateKey, publicKey } = await generateKeyPair(alg);
        const companion = await generateKeyPair('ES256');
        const [token] = await Promise.all([
          on.sign({ alg, typ: 'at+jwt', kid: 'k1' }, { sub: 'u1', sid: 'ses_1', exp: 4_000_000_000 }, keyObjectOf(privateKey)),
          on.sign({ alg: 'ES256' }, {}, keyObjectOf(companion.privateKey)),
        ]);
        const { payload, protectedHeader } = await jwtVerify(token!, publicKey, { algorithms: [alg], typ: 'at+jwt' });
        expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: 'k1' });
        expect(payload).toEqual({ sub: 'u1', sid: 'ses_1', exp: 4_000_000_000 });
        expect(on.thread).toBe(thread);
      });
    }

    it('signs with each key its own tokens, in the same batch: a token signed by one key fails under another', async () => {
      const on = signer(threadAfterSignatures);
      const one = await generateKeyPair('ES256');
      const other = await generateKeyPair('ES256');
      const tokens = await Promise.all(
        Array.from({ length: 8 }, (_, i) => on.sign({ alg: 'ES256', kid: `k${i % 2}` }, { i }, keyObjectOf(i % 2 === 0 ? one.privateKey : other.privateKey))),
      );
      for (const [i, token] of tokens.entries()) {
        const [right, wrong] = i % 2 === 0 ? [one, other] : [other, one];
        expect((await jwtVerify(token, right.publicKey)).payload).toEqual({ i });
        await expect(compactVerify(token, wrong.publicKey)).rejects.toThrow();
        expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: `k${i % 2}` });
      }
      expect(on.thread).toBe(thread);
    });

    it('keeps non-ASCII claims intact (UTF-8, base64url without padding)', async () => {
      const on = signer(threadAfterSignatures);
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const token = await signInABatch(on, { alg: 'ES256' }, { sub: 'Zoë 👩‍💻' }, privateKey);
      expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$/);
      expect((await jwtVerify(token, publicKey)).payload.sub).toBe('Zoë 👩‍💻');
    });

    it('refuses an algorithm it does not implement rather than signing wrongly, and signs the rest of its batch', async () => {
      const on = signer(threadAfterSignatures);
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const [refused, signed] = await Promise.allSettled([
        on.sign({ alg: 'HS256' }, {}, keyObjectOf(privateKey)),
        on.sign({ alg: 'ES256' }, { ok: true }, keyObjectOf(privateKey)),
      ]);
      expect(refused).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/unsupported alg HS256/) }) });
      expect(signed.status).toBe('fulfilled');
      expect((await jwtVerify((signed as PromiseFulfilledResult<string>).value, publicKey)).payload).toEqual({ ok: true });
    });
  });
}

describe('JwsSigner: its thread', () => {
  it('starts once the node is in service: the first signatures are made on the calling thread', async () => {
    const on = signer(4);
    const { privateKey } = await generateKeyPair('ES256');
    for (let i = 0; i < 4; i++) await on.sign({ alg: 'ES256' }, { i }, keyObjectOf(privateKey));
    expect(on.thread).toBe('not started');
    await on.sign({ alg: 'ES256' }, { i: 4 }, keyObjectOf(privateKey));
    expect(on.thread).toBe('running');
  });

  it('stops using a thread it cannot send work to, and goes on signing in place', async () => {
    const on = signer(0);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    // Not a key: it cannot be cloned to the thread, nor sign here.
    const notAKey = { sign() {} } as unknown as KeyObject;
    const refused = await Promise.allSettled([on.sign({ alg: 'ES256' }, {}, notAKey), on.sign({ alg: 'ES256' }, {}, notAKey)]);
    expect(refused.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(on.thread).toBe('stopped');
    const tokens = await Promise.all([1, 2].map((i) => on.sign({ alg: 'ES256' }, { i }, keyObjectOf(privateKey))));
    for (const [i, token] of tokens.entries()) expect((await jwtVerify(token, publicKey)).payload).toEqual({ i: i + 1 });
  });

  it('closed with batches on it, signs them on the calling thread: every token comes back once, and later ones too', async () => {
    const on = signer(0);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const pending = Array.from({ length: 16 }, (_, i) => on.sign({ alg: 'ES256' }, { i }, keyObjectOf(privateKey)));
    // The batch leaves for the thread on the next turn; the thread has not answered yet.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await on.close();
    expect(on.thread).toBe('stopped');
    const tokens = await Promise.all(pending);
    expect(await Promise.all(tokens.map(async (token) => (await jwtVerify(token, publicKey)).payload))).toEqual(tokens.map((_, i) => ({ i })));
    const after = await on.sign({ alg: 'ES256' }, { after: true }, keyObjectOf(privateKey));
    expect((await jwtVerify(after, publicKey)).payload).toEqual({ after: true });
    expect(on.thread).toBe('stopped');
  });
});
