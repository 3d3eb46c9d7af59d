/**
 * Hostile headers over raw sockets, on both stores: odd and duplicate Content-Type, Content-Length
 * and Host, Transfer-Encoding tricks, oversized and folded headers, bare LF, NUL; then Upgrade and
 * Expect on every route. Every answer is in time, never 5xx, every error the envelope; a refused
 * upgrade also closes its connection.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { hostileHeaders, routeTemplates } from './arbitraries.js';
import { checkProperty, expectContract, hostileFixture, itLeavesNothingBehind, rawRequest, requestBytes, storeKinds } from './harness.js';

const targets = routeTemplates.map(([method, template]) => ({ method, target: template.replace('{}', 'ses_01ZZZZZZZZZZZZZZZZZZZZZZZZ') }));

/** An upgrade attempt: what it asks for, and how well-formed its WebSocket handshake is. */
const upgradeAttempt = fc.record({
  route: fc.constantFrom(...targets),
  method: fc.constantFrom<string | null>(null, null, 'GET', 'POST', 'OPTIONS'),
  upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', 'HTTP/2.0', 'TLS/1.2', 'foo', 'websocket, h2c', ''),
  connection: fc.constantFrom('Upgrade', 'keep-alive, Upgrade', 'upgrade, HTTP2-Settings', 'close, Upgrade', null),
  key: fc.constantFrom<string | null>('dGhlIHNhbXBsZSBub25jZQ==', 'not base64!', '', null),
  version: fc.constantFrom<string | null>('13', '8', 'x', null),
  expect: fc.constantFrom<string | null>(null, null, '100-continue', 'nonsense', '100-continue, foo'),
});

const expectAttempt = fc.record({
  route: fc.constantFrom(...targets),
  expect: fc.constantFrom('100-continue', '100-Continue', 'nonsense', '100-continue, 200-ok', '', 'a'.repeat(300)),
  body: fc.constantFrom('', '{"user_id":"e"}'),
});

describe.each(storeKinds)('hostile headers (%s)', (store) => {
  const fixture = hostileFixture(store, beforeAll, afterAll);

  it('odd, duplicate, oversized and malformed headers and framing get the envelope, in time, never 5xx', async () => {
    const { server } = fixture();
    await checkProperty(
      `hostile headers on ${store}`,
      fc.record({ route: fc.constantFrom(...targets), headers: hostileHeaders, apiKey: fc.boolean() }),
      async ({ route, headers: { headers, body, rawSuffix }, apiKey }) => {
        const all = apiKey ? [...headers, ['Authorization', `Bearer ${server.apiKey}`] as [string, string]] : headers;
        let request = requestBytes(route.method, route.target, all, body);
        if (rawSuffix !== undefined) {
          // Spliced in before the blank line: bytes no HTTP client library would send.
          const text = request.toString('latin1');
          const end = text.indexOf('\r\n\r\n');
          request = Buffer.concat([Buffer.from(`${text.slice(0, end)}\r\n${rawSuffix}`, 'latin1'), request.subarray(end)]);
        }
        const answer = await rawRequest(server.port, request, { head: route.method === 'HEAD', deadlineMs: 4_000 });
        expectContract(answer, request);
      },
      150,
    );
  }, 60_000);

  it("Expect: every value gets the envelope or the route's answer, in time (issue 13, item 8)", async () => {
    const { server } = fixture();
    await checkProperty(
      `Expect on ${store}`,
      expectAttempt,
      async ({ route, expect: expectation, body }) => {
        const headers: [string, string][] = [
          ['Host', '127.0.0.1'],
          ['Expect', expectation],
          ['Content-Type', 'application/json'],
          ['Content-Length', String(Buffer.byteLength(body))],
          ['Authorization', `Bearer ${server.apiKey}`],
        ];
        const request = requestBytes(route.method, route.target, headers, body);
        const answer = await rawRequest(server.port, request, { deadlineMs: 2_000 });
        expectContract(answer, request);
      },
      40,
      4_000,
    );
  }, 60_000);

  it('Upgrade on every route is answered with the envelope (or 101 on /v1/realtime), in time, and a refusal closes the connection (issue 13, items 1 and 8)', async () => {
    const { server } = fixture();
    await checkProperty(
      `Upgrade on ${store}`,
      upgradeAttempt,
      async (attempt) => {
        const headers: [string, string][] = [
          ['Host', '127.0.0.1'],
          ['Upgrade', attempt.upgrade],
        ];
        if (attempt.connection !== null) headers.push(['Connection', attempt.connection]);
        if (attempt.key !== null) headers.push(['Sec-WebSocket-Key', attempt.key]);
        if (attempt.version !== null) headers.push(['Sec-WebSocket-Version', attempt.version]);
        if (attempt.expect !== null) headers.push(['Expect', attempt.expect]);
        if (attempt.upgrade === 'h2c') headers.push(['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA']);
        const method = attempt.method ?? attempt.route.method;
        const request = requestBytes(method, attempt.route.target, headers);
        // Only a real upgrade (a protocol named, and `upgrade` among the Connection options) is one to refuse and close;
        // only then is the close waited for (other answers keep their connection alive, and the wait would run out).
        const upgrading = attempt.upgrade !== '' && /\bupgrade\b/i.test(attempt.connection ?? '');
        const answer = await rawRequest(server.port, request, { deadlineMs: 1_500, awaitCloseMs: upgrading ? 1_000 : 0, head: method === 'HEAD' });
        expectContract(answer, request);
        if (upgrading && answer.status >= 400 && !answer.closedByServer) {
          throw new Error(`a refused upgrade (${answer.status}) left the connection open\n--- sent ---\n${JSON.stringify(request.toString('latin1'))}`);
        }
      },
      60,
      5_000,
    );
  }, 60_000);

  itLeavesNothingBehind(fixture, it);
});
