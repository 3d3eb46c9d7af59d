import { describe, expect, it } from 'vitest';
import { describeSessionEnd, type SessionEndReason } from '../src/index.js';

const ended = (code: SessionEndReason['code'], reason: string | null, idleTimeout: number | null = null): SessionEndReason => ({ code, reason, idleTimeout });

describe('describeSessionEnd', () => {
  it.each([
    [ended('session_revoked', 'signed_out_elsewhere'), 'You signed out on another device.'],
    [ended('session_revoked', 'admin'), 'An administrator ended your session.'],
    [ended('session_revoked', 'logout'), 'You signed out.'],
    [ended('session_revoked', 'reuse_detected'), 'For your security, your session was ended because it was used from two places at once.'],
    [ended('session_expired', 'idle', 1800), 'Your session expired after 30 minutes of inactivity.'],
    [ended('session_expired', 'idle', 60), 'Your session expired after 1 minute of inactivity.'],
    [ended('session_expired', 'idle', 7200), 'Your session expired after 2 hours of inactivity.'],
    [ended('session_expired', 'idle'), 'Your session expired.'],
    [ended('session_expired', 'absolute', 1800), 'Your session expired.'],
    [ended('session_revoked', null), 'Your session has ended.'],
    [ended('session_not_found', null), 'Your session has ended.'],
    [ended('refresh_token_unavailable', 'no_tab_holds_refresh_token'), 'This browser could not keep your session (it holds no refresh token for it).'],
    [ended('refresh_token_unavailable', 'no_refresh_cookie'), 'Your browser no longer has the cookie that keeps you signed in.'],
    [ended('refresh_token_unavailable', null), 'This browser could not keep your session (it holds no refresh token for it).'],
    [ended('refresh_refused', null), 'Your session could not be renewed because the server refused the request.'],
    [null, 'Your session has ended.'],
  ])('%o → %s', (endReason, words) => {
    expect(describeSessionEnd(endReason)).toBe(words);
  });
});
