/**
 * Hostile frames on /v1/realtime, on both stores: before and after `auth`, text and binary, bad JSON,
 * unknown types, prototype keys, oversized and bursty messages. The socket either stays open or
 * closes with a protocol code (4xxx, 1003, 1007, 1008, 1009); never 1011 (a server error), never a
 * hang on close; and the process and its descriptors come back to baseline.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { hostileString, prototypeKeys } from './arbitraries.js';
import { checkProperty, createSessionRaw, hostileFixture, itLeavesNothingBehind, storeKinds } from './harness.js';

type Frame = { readonly binary: boolean; readonly data: string | Buffer };

const frame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        type: fc.oneof(fc.constantFrom('auth', 'message', 'ping', 'ready', 'session_ended'), hostileString, fc.constantFrom(...prototypeKeys)),
        extra: fc.dictionary(fc.oneof(hostileString, fc.constantFrom(...prototypeKeys)), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
      })
      .map(({ type, extra }) => ({ binary: false, data: JSON.stringify({ ...extra, type }) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '',
        '{',
        'null',
        '[]',
        '"auth"',
        '{"type":"auth"}',
        '{"type":"auth","access_token":null}',
        '{"type":"auth","access_token":"x"}',
        '{"__proto__":{"type":"auth"}}',
        '{"type":"message","data":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}',
      )
      .map((data) => ({ binary: false, data })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ binary: true, data: Buffer.from(bytes) })) },
  { weight: 1, arbitrary: fc.constantFrom(70_000, 200_000).map((size) => ({ binary: false, data: `{"type":"message","data":"${'x'.repeat(size)}"}` })) },
);

const protocolCloses = [1000, 1001, 1003, 1005, 1007, 1008, 1009, 4001, 4002, 4003, 4004, 4005, 4008, 4400, 4429];

describe.each(storeKinds)('hostile socket frames (%s)', (store) => {
  const fixture = hostileFixture(store, beforeAll, afterAll);

  it('any frames, before or after auth, end in a protocol close or an open socket, never 1011', async () => {
    const { server } = fixture();
    const created = await createSessionRaw(server, 'socket-hostile');
    await checkProperty(
      `socket frames on ${store}`,
      fc.record({ authFirst: fc.boolean(), frames: fc.array(frame, { minLength: 1, maxLength: 8 }), burst: fc.constantFrom(1, 1, 60) }),
      async ({ authFirst, frames, burst }) => {
        const outcome = await new Promise<{ code: number | null; ready: boolean }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/realtime`, { perMessageDeflate: false, handshakeTimeout: 3_000 });
          let ready = false;
          let settleTimer: NodeJS.Timeout | undefined;
          const deadline = setTimeout(() => {
            ws.terminate();
            reject(new Error('the socket neither settled nor closed within 5 s'));
          }, 5_000);
          const sendAll = () => {
            for (let round = 0; round < burst; round++) for (const { binary, data } of frames) if (ws.readyState === ws.OPEN) ws.send(data, { binary });
            // Still open 500 ms after the last frame: the server chose to keep it; we close.
            settleTimer = setTimeout(() => ws.close(1000), 500);
          };
          ws.once('open', () => {
            if (authFirst) ws.send(JSON.stringify({ type: 'auth', access_token: created.access_token }));
            else sendAll();
          });
          ws.on('message', (raw) => {
            if (raw.toString().startsWith('{"type":"ready"') && !ready) {
              ready = true;
              sendAll();
            }
          });
          ws.once('error', () => {});
          ws.once('close', (code) => {
            clearTimeout(deadline);
            clearTimeout(settleTimer);
            resolve({ code, ready });
          });
        });
        expect(protocolCloses, `close code ${outcome.code}`).toContain(outcome.code);
      },
      40,
    );
  }, 60_000);

  itLeavesNothingBehind(fixture, it);
});
