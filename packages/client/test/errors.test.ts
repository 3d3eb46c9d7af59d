import { describe, expect, expectTypeOf, it } from 'vitest';
import { errorFromEnvelope, isErrorEnvelope } from '../src/envelope.js';
import { SessionEndedError, SilentAuthFailedError, TesseraError, type TesseraErrorCode } from '../src/index.js';
import { envelope } from './fakes.js';

describe('errors', () => {
  it('carry a catalogue code, narrowed by the union type', () => {
    const error = new TesseraError('rate_limited', { retryAfter: 3, requestId: 'req_1' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAfter: 3, requestId: 'req_1', name: 'TesseraError' });
    expect(error.message).toBe('Too many requests. Please wait and try again.');
    expectTypeOf(error.code).toEqualTypeOf<TesseraErrorCode>();
  });

  it('build a SessionEndedError with its reason from an envelope of a terminal code', () => {
    const error = errorFromEnvelope(envelope('session_revoked', { details: [{ reason: 'reuse_detected' }] }) as never, 401);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as SessionEndedError).reason).toBe('reuse_detected');
    expect(error.requestId).toBe('req_test');
    expect(errorFromEnvelope(envelope('rate_limited', { retry_after: 7 }) as never, 429)).not.toBeInstanceOf(SessionEndedError);
  });

  it('tell a Tessera envelope from an app error body', () => {
    expect(isErrorEnvelope(envelope('token_expired'))).toBe(true);
    expect(isErrorEnvelope({ error: 'token_expired', message: 'x' })).toBe(false);
    expect(isErrorEnvelope({ success: false, error: 'no_such_code', message: 'x' })).toBe(false);
  });

  it('keep silent_auth_failed apart, with status 0 when nothing answered', () => {
    const error = new SilentAuthFailedError({ cause: new TypeError('fetch failed') });
    expect(error).toMatchObject({ code: 'silent_auth_failed', status: 0 });
    expect(error).toBeInstanceOf(TesseraError);
  });
});
