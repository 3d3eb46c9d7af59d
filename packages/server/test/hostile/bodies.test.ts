/**
 * Malformed bodies on every route that reads one, on both stores: wrong types, deep nesting, huge
 * strings, NUL and lone surrogates, prototype keys, bad UTF-8, odd content types. Every answer is
 * in time, never 5xx, and every error is the envelope; what the API accepts it stores as sent.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileContentType, hostileFormText, hostileJsonText, safeEncode } from './arbitraries.js';
import {
  checkProperty,
  expectAlive,
  expectContract,
  expectDescriptorsBackToBaseline,
  type HostileFixture,
  hostileFixture,
  rawRequest,
  requestBytes,
  storeKinds,
} from './harness.js';

interface BodyRoute {
  readonly method: string;
  readonly path: (fixture: HostileFixture) => string;
  readonly credential: (fixture: HostileFixture) => string | undefined;
  readonly body: fc.Arbitrary<Buffer>;
  readonly contentType: fc.Arbitrary<string | null>;
}

const formType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded; charset=utf-16', 'application/json', 'text/plain', '') },
  { weight: 1, arbitrary: fc.constant(null) },
);

const apiKey = (fixture: HostileFixture) => fixture.server.apiKey;
const accessToken = (fixture: HostileFixture) => fixture.session.accessToken;

const bodyRoutes: readonly BodyRoute[] = [
  {
    method: 'POST',
    path: () => '/v1/sessions',
    credential: apiKey,
    body: hostileJsonText(['user_id', 'flow', 'metadata', 'device', 'dpop_jkt']),
    contentType: hostileContentType,
  },
  { method: 'POST', path: () => '/v1/token/refresh', credential: () => undefined, body: hostileJsonText(['refresh_token']), contentType: hostileContentType },
  { method: 'POST', path: () => '/v1/session/logout-others', credential: accessToken, body: hostileJsonText(['session_id']), contentType: hostileContentType },
  {
    method: 'DELETE',
    path: (fixture) => `/v1/sessions/${fixture.session.id}-not`,
    credential: apiKey,
    body: hostileJsonText(['reason']),
    contentType: hostileContentType,
  },
  {
    method: 'POST',
    path: () => '/oauth/token',
    credential: () => undefined,
    body: hostileFormText(['grant_type', 'refresh_token', 'client_id', 'scope']),
    contentType: formType,
  },
  {
    method: 'POST',
    path: () => '/oauth/revoke',
    credential: () => undefined,
    body: hostileFormText(['token', 'token_type_hint', 'client_id']),
    contentType: formType,
  },
  { method: 'POST', path: () => '/oauth/introspect', credential: apiKey, body: hostileFormText(['token', 'token_type_hint']), contentType: formType },
];

const bodyCase = fc
  .integer({ min: 0, max: bodyRoutes.length - 1 })
  .chain((index) => fc.record({ index: fc.constant(index), body: bodyRoutes[index]!.body, contentType: bodyRoutes[index]!.contentType }));

describe.each(storeKinds)('hostile bodies (%s)', (store) => {
  const fixture = hostileFixture(store, beforeAll, afterAll);

  it('every route that reads a body answers every malformed one with the envelope, in time, never 5xx', async () => {
    const { server } = fixture();
    await checkProperty(
      `hostile bodies on ${store}`,
      bodyCase,
      async ({ index, body, contentType }) => {
        const route = bodyRoutes[index]!;
        const credential = route.credential(fixture());
        const headers: [string, string][] = [['Host', '127.0.0.1']];
        if (credential) headers.push(['Authorization', `Bearer ${credential}`]);
        if (contentType !== null) headers.push(['Content-Type', contentType]);
        headers.push(['Content-Length', String(body.length)]);
        const request = requestBytes(route.method, route.path(fixture()), headers, body);
        const answer = await rawRequest(server.port, request, { deadlineMs: 5_000 });
        expectContract(answer, request);
      },
      70,
    );
  }, 60_000);

  it('what POST /v1/sessions accepts, it stores as sent: the user id reads back unchanged', async () => {
    const { server } = fixture();
    const userId = fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
      fc.constantFrom('a\u0000b', '\u0000', 'x\ud800', '\udfff', 'a\ud83d', '\ud83d\ude00', '\u202e', '.', '..', 'a/b', 'a%2Fb', '%00'),
    );
    await checkProperty(
      `stored as sent on ${store}`,
      userId,
      async (id) => {
        const body = Buffer.from(JSON.stringify({ user_id: id }), 'utf8');
        const request = requestBytes(
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
        const created = await rawRequest(server.port, request);
        expectContract(created, request);
        if (created.status !== 201) {
          expect(created.body.error, created.text).toBe('invalid_request');
          return;
        }
        const readRequest = requestBytes('GET', `/v1/sessions/${safeEncode(created.body.session.id)}`, [
          ['Host', '127.0.0.1'],
          ['Authorization', `Bearer ${server.apiKey}`],
        ]);
        const read = await rawRequest(server.port, readRequest);
        expectContract(read, readRequest);
        const session = read.body as { user_id: string };
        expect(read.status).toBe(200);
        expect(session.user_id, `user_id ${JSON.stringify(id)} came back as ${JSON.stringify(session.user_id)}`).toBe(id);
      },
      40,
    );
  }, 60_000);

  it('afterwards: no prototype polluted, the process answers, and its descriptors are back to baseline', async () => {
    const { server, baseline } = fixture();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    await expectAlive(server);
    await expectDescriptorsBackToBaseline(baseline, server.port);
  }, 20_000);
});
