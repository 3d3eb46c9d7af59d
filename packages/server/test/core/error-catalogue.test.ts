import { describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalogue, serverErrorCodes, sessionEndingCodes } from '../../src/core/error-catalogue.js';
import { TesseraError } from '../../src/core/errors.js';
import { errorPage } from '../../src/docs/error-pages.js';
import { oauthAnswerOf } from '../../src/http/oauth-errors.js';
import { realtimeCloseCodes, realtimeError, toRealtimeError } from '../../src/realtime/close-codes.js';

const codes = Object.keys(errorCatalogue) as ErrorCode[];

describe('what the catalogue derives', () => {
  it('gives the socket the close codes of the contract', () => {
    expect(realtimeCloseCodes).toEqual({
      token_expired: 4001,
      token_invalid: 4002,
      token_missing: 4008,
      session_expired: 4005,
      session_revoked: 4003,
      session_not_found: 4004,
      invalid_request: 4400,
      // Not in the contract's list: a bound token's auth frame without its key's proof (issue 18).
      dpop_proof_invalid: 4401,
      payload_too_large: 1009,
      rate_limited: 4429,
      service_unavailable: 1013,
      internal_error: 1011,
    });
    expect(realtimeError('session_revoked').closeCode).toBe(4003);
    expect(toRealtimeError(new TesseraError('csrf_failed')).code).toBe('internal_error');
  });

  it('ends the session on expired, revoked and unknown sessions only', () => {
    expect(sessionEndingCodes).toEqual(['session_expired', 'session_revoked', 'session_not_found']);
    const ending = codes.filter((code) => code in realtimeCloseCodes && realtimeError(code as keyof typeof realtimeCloseCodes).endsSession);
    expect(ending).toEqual(sessionEndingCodes);
  });

  it('answers OAuth routes with the RFC 6749 error and status each code had', () => {
    const answers = Object.fromEntries(serverErrorCodes.map((code) => [code, oauthAnswerOf(new TesseraError(code))]));
    expect(answers).toMatchObject({
      session_expired: { error: 'invalid_grant', status: 400 },
      session_revoked: { error: 'invalid_grant', status: 400 },
      session_not_found: { error: 'invalid_grant', status: 400 },
      client_invalid: { error: 'invalid_client', status: 401 },
      api_key_invalid: { error: 'invalid_client', status: 401 },
      rate_limited: { error: 'temporarily_unavailable', status: 429 },
      service_unavailable: { error: 'temporarily_unavailable', status: 503 },
      internal_error: { error: 'server_error', status: 500 },
      invalid_request: { error: 'invalid_request', status: 400 },
      token_invalid: { error: 'invalid_request', status: 401 },
      csrf_failed: { error: 'invalid_request', status: 403 },
    });
  });

  it('shows the close code and the OAuth error on the doc page of a code that has them', () => {
    const page = errorPage('session_revoked', 'http://localhost:4000');
    expect(page).toContain('WebSocket close code <code>4003</code>');
    expect(page).toContain('OAuth <code>error</code> <code>invalid_grant</code>');
    expect(errorPage('csrf_failed', 'http://localhost:4000')).not.toContain('WebSocket close code');
  });
});
