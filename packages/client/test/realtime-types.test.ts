// The realtime types, checked by the compiler (`npm run typecheck` compiles this file).
import { describe, expectTypeOf, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import type { RealtimeOptions, RealtimeSocket, RealtimeStatus, SessionClient, WebSocketConstructor } from '../src/index.js';

describe('realtime types', () => {
  it('client.realtime() gives a RealtimeSocket on page and worker clients alike', () => {
    expectTypeOf<SessionClient['realtime']>().parameters.toEqualTypeOf<[options?: RealtimeOptions]>();
    expectTypeOf<SessionClient['realtime']>().returns.toEqualTypeOf<RealtimeSocket>();
    expectTypeOf<RealtimeSocket['status']>().toEqualTypeOf<RealtimeStatus>();
    expectTypeOf<RealtimeStatus>().toEqualTypeOf<'connecting' | 'open' | 'reconnecting' | 'closed'>();
  });

  it("takes the browser's WebSocket and the ws package's alike", () => {
    expectTypeOf<typeof globalThis.WebSocket>().toExtend<WebSocketConstructor>();
    expectTypeOf<typeof NodeWebSocket>().toExtend<WebSocketConstructor>();
    expectTypeOf<RealtimeSocket['send']>().parameters.toEqualTypeOf<[data: unknown]>();
  });
});
