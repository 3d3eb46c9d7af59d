// The public types of @tessera/react, checked by the compiler (`npm run typecheck` compiles this file).

import type { ClientSessionState, SessionClient, SessionEndCode, SessionInfo } from '@tessera/client';
import type { ComponentProps, ReactNode } from 'react';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createSessionSnapshotSource,
  createSessionStore,
  describeSessionEnd,
  type SessionEndReason,
  type SessionGuardProps,
  SessionLoading,
  SessionProvider,
  type SessionSnapshot,
  type SessionSnapshotSource,
  type SessionStore,
  SignedIn,
  SignedOut,
  useAccessToken,
  useSession,
  useSessionClient,
} from '../src/index.js';

describe('public types', () => {
  it('useSession() gives the status, the session, the expiry and the end reason', () => {
    expectTypeOf(useSession).returns.toEqualTypeOf<SessionSnapshot>();
    expectTypeOf<SessionSnapshot['status']>().toEqualTypeOf<ClientSessionState>();
    expectTypeOf<SessionSnapshot['session']>().toEqualTypeOf<SessionInfo | null>();
    expectTypeOf<SessionSnapshot['accessTokenExpiresAt']>().toEqualTypeOf<Date | null>();
    expectTypeOf<SessionSnapshot['endReason']>().toEqualTypeOf<SessionEndReason | null>();
    expectTypeOf<SessionEndReason['code']>().toEqualTypeOf<SessionEndCode>();
    expectTypeOf(useAccessToken).returns.toEqualTypeOf<string | null>();
    expectTypeOf(useSessionClient).returns.toEqualTypeOf<SessionClient>();
  });

  it('the snapshot source keeps its old names, deprecated', () => {
    expectTypeOf(createSessionSnapshotSource).returns.toEqualTypeOf<SessionSnapshotSource>();
    expectTypeOf<SessionStore>().toEqualTypeOf<SessionSnapshotSource>();
    expectTypeOf(createSessionStore).toEqualTypeOf(createSessionSnapshotSource);
  });

  it('the provider takes a client, or a baseUrl with silentRefreshLeeway, not a leeway for a given client', () => {
    type Props = ComponentProps<typeof SessionProvider>;
    expectTypeOf<{ client: SessionClient }>().toExtend<Props>();
    expectTypeOf<{ baseUrl: string; silentRefreshLeeway: number }>().toExtend<Props>();
    expectTypeOf<{ client: SessionClient; silentRefreshLeeway: number }>().not.toExtend<Props>();
    expectTypeOf<{ silentRefreshLeeway: number }>().not.toExtend<Props>();
  });

  it("the status includes 'loading'; the guards take children only", () => {
    expectTypeOf<'loading'>().toExtend<SessionSnapshot['status']>();
    for (const guard of [SignedIn, SignedOut, SessionLoading]) {
      expectTypeOf(guard).parameter(0).toEqualTypeOf<SessionGuardProps>();
      expectTypeOf(guard).returns.toEqualTypeOf<ReactNode>();
    }
    expectTypeOf<SessionGuardProps>().toEqualTypeOf<{ readonly children?: ReactNode }>();
    expectTypeOf<{ children: ReactNode }>().toExtend<ComponentProps<typeof SignedIn>>();
    expectTypeOf<{ fallback: ReactNode }>().not.toExtend<ComponentProps<typeof SignedIn>>();
  });

  it('describeSessionEnd() takes an end reason, or null when none is known', () => {
    expectTypeOf(describeSessionEnd).parameter(0).toEqualTypeOf<SessionEndReason | null>();
    expectTypeOf(describeSessionEnd).returns.toEqualTypeOf<string>();
  });
});
