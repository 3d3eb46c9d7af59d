// The public types, checked by the compiler (`npm run typecheck` compiles this file) and at run time
// where a value exists: what an app's `switch (err.code)` and handler code may rely on.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ClientSessionState,
  connectSessionWorker,
  createSessionClient,
  type DeviceSession,
  type RevocationReason,
  type SessionClient,
  type SessionEndCode,
  SessionEndedError,
  type SessionHandler,
  type SessionState,
  SilentAuthFailedError,
  TesseraError,
  type TesseraErrorCode,
  tesseraErrorCodes,
} from '../src/index.js';

describe('public types', () => {
  it('sessions() answers devices with dates as Date, and the same from a worker', () => {
    expectTypeOf<SessionClient['sessions']>().returns.resolves.toEqualTypeOf<DeviceSession[]>();
    expectTypeOf<DeviceSession['lastSeenAt']>().toEqualTypeOf<Date>();
    expectTypeOf<DeviceSession['browser']>().toEqualTypeOf<string | null>();
    expectTypeOf<SessionClient['endSession']>().parameters.toEqualTypeOf<[id: string]>();
    expectTypeOf(connectSessionWorker).returns.toHaveProperty('sessions');
  });

  it('error codes are a closed union generated from the catalogue, and narrow in a switch', () => {
    expectTypeOf<TesseraErrorCode>().toEqualTypeOf<(typeof tesseraErrorCodes)[number]>();
    expectTypeOf<'session_revoked'>().toExtend<TesseraErrorCode>();
    expectTypeOf<'silent_auth_failed'>().toExtend<TesseraErrorCode>();
    expectTypeOf<'no_such_code'>().not.toExtend<TesseraErrorCode>();

    const describeError = (error: TesseraError): string => {
      switch (error.code) {
        case 'token_expired':
          return 'refresh';
        case 'session_revoked':
          return 'sign in again';
        default:
          expectTypeOf(error.code).not.toEqualTypeOf<'token_expired' | 'session_revoked'>();
          return error.code;
      }
    };
    expect(describeError(new TesseraError('session_revoked'))).toBe('sign in again');
    expect(describeError(new SilentAuthFailedError())).toBe('silent_auth_failed');
  });

  it('subclasses narrow `code`', () => {
    expectTypeOf<SessionEndedError['code']>().toEqualTypeOf<SessionEndCode>();
    expectTypeOf<SilentAuthFailedError['code']>().toEqualTypeOf<'silent_auth_failed'>();
    expectTypeOf<SessionEndedError['reason']>().toEqualTypeOf<string | null>();
    const error: unknown = new SessionEndedError('session_expired', { details: [{ reason: 'idle' }] });
    if (error instanceof SessionEndedError) {
      expectTypeOf(error.code).toEqualTypeOf<SessionEndCode>();
      expect(error.reason).toBe('idle');
    }
  });

  it('the handler callbacks receive what the README says', () => {
    expectTypeOf<Parameters<NonNullable<SessionHandler['onSessionRevoked']>>>().toEqualTypeOf<[reason: RevocationReason, error: SessionEndedError]>();
    expectTypeOf<Parameters<NonNullable<SessionHandler['onSessionExpired']>>>().toEqualTypeOf<[error: SessionEndedError]>();
    expectTypeOf<Parameters<NonNullable<SessionHandler['onSessionError']>>>().toEqualTypeOf<[error: TesseraError]>();
    expectTypeOf<'signed_out_elsewhere'>().toExtend<RevocationReason>();
  });

  it('the page client and the worker client share one API', () => {
    expectTypeOf(createSessionClient).returns.toEqualTypeOf<SessionClient>();
    expectTypeOf(connectSessionWorker).returns.toEqualTypeOf<SessionClient>();
    expectTypeOf<SessionClient['state']>().toEqualTypeOf<ClientSessionState>();
    expectTypeOf<ClientSessionState>().toEqualTypeOf<'loading' | 'signed_out' | 'active' | 'refreshing' | 'ended'>();
    // The old name stays, deprecated, for code written against it.
    expectTypeOf<SessionState>().toEqualTypeOf<ClientSessionState>();
    expectTypeOf<SessionClient['getAccessToken']>().returns.toEqualTypeOf<Promise<string>>();
    const client = createSessionClient({ baseUrl: 'http://tessera.test', tabs: false, environment: { target: null, document: null } });
    expect(client.state).toBe('loading');
    client.dispose();
  });
});
