/**
 * Mutated access tokens, on both stores, over HTTP and over the realtime socket: flipped
 * characters, cuts, swapped and dropped segments, hostile headers (alg none, HS256, odd kid, jku)
 * and claims, odd schemes. Never accepted, never 5xx, always a 401 envelope (or a 4xxx close), and
 * the genuine session is left active. The fixed table of hostile tokens is in
 * test/http/hostile.test.ts (SQLite); this is its generated counterpart on both stores.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { checkProperty, expectContract, hostileFixture, itLeavesNothingBehind, rawRequest, requestBytes, storeKinds } from './harness.js';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Mutation =
  | { kind: 'flip'; at: number; to: string }
  | { kind: 'cut'; at: number }
  | { kind: 'segments'; order: number[] }
  | { kind: 'append'; text: string }
  | { kind: 'header'; header: Record<string, unknown> }
  | { kind: 'claims'; claims: Record<string, unknown> };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), to: fc.constantFrom(...alphabet, '.', '=', '+', '/', '\u00ff', ' ', '%') }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('segments' as const), order: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 0, maxLength: 5 }) }),
  fc.record({ kind: fc.constant('append' as const), text: fc.constantFrom('.', '..', '.x', '=', 'A'.repeat(5_000), '.e30.', '%00') }),
  fc.record({
    kind: fc.constant('header' as const),
    header: fc.constantFrom<Record<string, unknown>>(
      { alg: 'none', typ: 'at+jwt' },
      { alg: 'HS256', typ: 'at+jwt' },
      { alg: 'ES256', typ: 'at+jwt', kid: '../../../../etc/passwd' },
      { alg: 'ES256', typ: 'at+jwt', kid: 'a\u0000b' },
      { alg: 'ES256', typ: 'at+jwt', kid: 'k'.repeat(4_000) },
      { alg: 'ES256', typ: 'at+jwt', kid: { $ne: null } },
      { alg: 'ES256', typ: 'at+jwt', jku: 'http://evil.example/jwks.json' },
      { alg: 'ES256', typ: 'at+jwt', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } },
      { alg: 'ES256', typ: 'at+jwt', crit: ['exp'] },
      { alg: 'ES256', typ: 'JWT', __proto__: { admin: true } },
      { alg: ['ES256'] },
    ),
  }),
  fc.record({
    kind: fc.constant('claims' as const),
    claims: fc.constantFrom<Record<string, unknown>>(
      { exp: 1e300 },
      { exp: '9999999999' },
      { sid: 'ses_\u0000' },
      { sid: { $ne: null } },
      { sub: 'x'.repeat(10_000) },
      { iss: null },
      { aud: [] },
      { nbf: -1, iat: -1 },
      { __proto__: { polluted: true } },
    ),
  }),
);

const scheme = fc.constantFrom('Bearer', 'Bearer', 'Bearer', 'bearer', 'BEARER', 'Bearer  ', 'Basic', 'Token', '');

/** The genuine token with `change` applied. */
function mutate(token: string, change: Mutation): string {
  const segments = token.split('.');
  switch (change.kind) {
    case 'flip': {
      const at = change.at % token.length;
      return `${token.slice(0, at)}${change.to}${token.slice(at + 1)}`;
    }
    case 'cut':
      return token.slice(0, change.at % token.length);
    case 'segments':
      return change.order.map((index) => segments[index]).join('.');
    case 'append':
      return `${token}${change.text}`;
    case 'header':
      return [b64(change.header), segments[1], segments[2]].join('.');
    case 'claims': {
      const claims = { ...JSON.parse(Buffer.from(segments[1]!, 'base64url').toString('utf8')), ...change.claims };
      return [segments[0], b64(claims), segments[2]].join('.');
    }
  }
}

/** Whether `candidate` decodes to the same bytes as `genuine` (padding bits of base64url can differ). */
function sameToken(candidate: string, genuine: string): boolean {
  const a = candidate.split('.');
  const b = genuine.split('.');
  return (
    a.length === b.length &&
    a.every((segment, index) => /^[A-Za-z0-9_-]*$/.test(segment) && Buffer.from(segment, 'base64url').equals(Buffer.from(b[index]!, 'base64url')))
  );
}

const tokenCodes = ['token_invalid', 'token_missing', 'token_expired'];

describe.each(storeKinds)('hostile access tokens (%s)', (store) => {
  const fixture = hostileFixture(store, beforeAll, afterAll);

  it('a mutated access token is refused with a 401 envelope on every end-user route, never accepted, never 5xx', async () => {
    const { server, session } = fixture();
    const routes: { method: string; path: string }[] = [
      { method: 'GET', path: '/v1/session' },
      { method: 'POST', path: '/v1/session/logout' },
      { method: 'POST', path: '/v1/session/logout-others' },
      { method: 'GET', path: '/v1/session/sessions' },
    ];
    await checkProperty(
      `mutated tokens on ${store}`,
      fc.record({ change: mutation, scheme, route: fc.constantFrom(...routes) }),
      async ({ change, scheme: chosen, route: { method, path } }) => {
        const token = mutate(session.accessToken, change);
        if (sameToken(token, session.accessToken)) return; // the genuine token, spelled differently
        const credential = chosen === '' ? token : `${chosen} ${token}`;
        const request = requestBytes(method, path, [
          ['Host', '127.0.0.1'],
          ['Authorization', credential.replace(/[\r\n]/g, '')],
        ]);
        const answer = await rawRequest(server.port, request);
        expectContract(answer, request);
        // Not found (a route not there yet) is no acceptance either.
        if (answer.status !== 404) {
          expect(answer.status, answer.raw.slice(0, 400)).toBe(401);
          expect(tokenCodes, answer.raw.slice(0, 400)).toContain(answer.body.error);
        }
      },
      120,
    );
    const check = requestBytes('GET', `/v1/sessions/${session.id}`, [
      ['Host', '127.0.0.1'],
      ['Authorization', `Bearer ${server.apiKey}`],
    ]);
    const still = await rawRequest(server.port, check);
    expect(still.body.status, 'the genuine session is still active').toBe('active');
  }, 60_000);

  it('a mutated access token in the socket auth message closes with a 4xxx code, never 1011', async () => {
    const { server, session } = fixture();
    await checkProperty(
      `mutated socket tokens on ${store}`,
      mutation,
      async (change) => {
        const token = mutate(session.accessToken, change);
        if (sameToken(token, session.accessToken)) return;
        const code = await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/realtime`, { perMessageDeflate: false, handshakeTimeout: 3_000 });
          const deadline = setTimeout(() => {
            ws.terminate();
            reject(new Error(`no close within 4 s for token ${JSON.stringify(token.slice(0, 80))}`));
          }, 4_000);
          ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', access_token: token })));
          ws.on('message', (raw) => {
            if (raw.toString().startsWith('{"type":"ready"')) {
              clearTimeout(deadline);
              ws.terminate();
              reject(new Error(`socket accepted token ${JSON.stringify(token.slice(0, 80))}`));
            }
          });
          ws.once('error', () => {});
          ws.once('close', (closeCode) => {
            clearTimeout(deadline);
            resolve(closeCode);
          });
        });
        expect([4001, 4002, 4400], `close code ${code}`).toContain(code);
      },
      40,
    );
  }, 60_000);

  itLeavesNothingBehind(fixture, it);
});
