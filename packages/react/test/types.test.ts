// The public types of @tessera/react, checked by the compiler (`npm run typecheck` compiles this file).
import type { ComponentProps } from 'react';
import { describe, expectTypeOf, it } from 'vitest';
import type { SessionClient, SessionEndCode, SessionInfo, SessionState } from '@tessera/client';
import { SessionProvider, useAccessToken, useSession, useSessionClient, type SessionEndReason, type SessionSnapshot } from '../src/index.js';

describe('public types', () => {
  it('useSession() gives the status, the session, the expiry and the end reason', () => {
    expectTypeOf(useSession).returns.toEqualTypeOf<SessionSnapshot>();
    expectTypeOf<SessionSnapshot['status']>().toEqualTypeOf<SessionState>();
    expectTypeOf<SessionSnapshot['session']>().toEqualTypeOf<SessionInfo | null>();
    expectTypeOf<SessionSnapshot['accessTokenExpiresAt']>().toEqualTypeOf<Date | null>();
    expectTypeOf<SessionSnapshot['endReason']>().toEqualTypeOf<SessionEndReason | null>();
    expectTypeOf<SessionEndReason['code']>().toEqualTypeOf<SessionEndCode>();
    expectTypeOf(useAccessToken).returns.toEqualTypeOf<string | null>();
    expectTypeOf(useSessionClient).returns.toEqualTypeOf<SessionClient>();
  });

  it('the provider takes a client, or a baseUrl with silentRefreshLeeway, not a leeway for a given client', () => {
    type Props = ComponentProps<typeof SessionProvider>;
    expectTypeOf<{ client: SessionClient }>().toExtend<Props>();
    expectTypeOf<{ baseUrl: string; silentRefreshLeeway: number }>().toExtend<Props>();
    expectTypeOf<{ client: SessionClient; silentRefreshLeeway: number }>().not.toExtend<Props>();
    expectTypeOf<{ silentRefreshLeeway: number }>().not.toExtend<Props>();
  });
});
