/**
 * Hostile paths and methods against every route of the contract, on both stores: encoded
 * traversal, overlong ids, `%00`, bad percent-encoding, dots, odd methods and queries. Every
 * answer is in time, never 5xx, every error the envelope; and every user id the API accepts can
 * be managed afterwards through its URL.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileTarget, safeEncode } from './arbitraries.js';
import { checkProperty, expectContract, hostileFixture, itLeavesNothingBehind, rawRequest, requestBytes, storeKinds } from './harness.js';

type Credential = 'none' | 'api_key' | 'access_token' | 'garbage';

describe.each(storeKinds)('hostile paths and methods (%s)', (store) => {
  const fixture = hostileFixture(store, beforeAll, afterAll);

  it('every route answers every hostile path, query and method with the envelope, in time, never 5xx', async () => {
    const { server, session } = fixture();
    await checkProperty(
      `hostile paths on ${store}`,
      fc.record({ target: hostileTarget, credential: fc.constantFrom<Credential>('none', 'api_key', 'api_key', 'access_token', 'garbage') }),
      async ({ target: { method, target }, credential }) => {
        const headers: [string, string][] = [['Host', '127.0.0.1']];
        if (credential === 'api_key') headers.push(['Authorization', `Bearer ${server.apiKey}`]);
        if (credential === 'access_token') headers.push(['Authorization', `Bearer ${session.accessToken}`]);
        if (credential === 'garbage') headers.push(['Authorization', 'Bearer \u00ff\u00fe']);
        const request = requestBytes(method, target, headers);
        const answer = await rawRequest(server.port, request, { head: method === 'HEAD', deadlineMs: 4_000 });
        expectContract(answer, request);
      },
      150,
    );
  }, 60_000);

  it('a user id POST /v1/sessions accepts is one its URLs can list and revoke (issue 13, item 7)', async () => {
    const { server } = fixture();
    const userIds = fc.oneof(
      fc.constantFrom('.', '..', 'a/b', 'a?b', 'a#b', 'a%2Fb', '%', ' ', 'a b', '\u00e9', '\ud83d\ude00'),
      fc.integer({ min: 90, max: 256 }).map((n) => `u${'x'.repeat(n - 1)}`),
      fc.string({ minLength: 1, maxLength: 20 }),
    );
    await checkProperty(
      `user ids are manageable on ${store}`,
      userIds,
      async (userId) => {
        const body = Buffer.from(JSON.stringify({ user_id: userId }));
        const create = requestBytes(
          'POST',
          '/v1/sessions',
          [
            ['Host', '127.0.0.1'],
            ['Authorization', `Bearer ${server.apiKey}`],
            ['Content-Type', 'application/json'],
            ['Content-Length', String(body.length)],
          ],
          body,
        );
        const created = await rawRequest(server.port, create);
        expectContract(created, create);
        if (created.status !== 201) return; // refused at creation: the one rule said no, and said so
        // A WHATWG URL, as every HTTP client builds it from the encoded id.
        const url = new URL(`${server.url}/v1/users/${safeEncode(userId)}/sessions`);
        const target = `${url.pathname}${url.search}`;
        const list = requestBytes('GET', target, [
          ['Host', '127.0.0.1'],
          ['Authorization', `Bearer ${server.apiKey}`],
        ]);
        const listed = await rawRequest(server.port, list);
        expectContract(listed, list);
        expect(listed.status, `GET ${target} for user id ${JSON.stringify(userId)} (${userId.length} chars): ${listed.text.slice(0, 300)}`).toBe(200);
        expect(listed.body.sessions.map((session: { id: string }) => session.id)).toContain(created.body.session.id);
        const revoke = requestBytes('DELETE', target, [
          ['Host', '127.0.0.1'],
          ['Authorization', `Bearer ${server.apiKey}`],
        ]);
        const revoked = await rawRequest(server.port, revoke);
        expectContract(revoked, revoke);
        expect(revoked.status, revoked.text.slice(0, 300)).toBeLessThan(300);
      },
      40,
    );
  }, 60_000);

  itLeavesNothingBehind(fixture, it);
});
