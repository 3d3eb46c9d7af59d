// What the console says about a session's state: only an active one has ends ahead of it.
import { describe, expect, it } from 'vitest';
import type { SessionView } from '../../admin/src/management-api.js';
import { deviceSummary, sessionStateText } from '../../admin/src/session-state.js';

const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (offsetMinutes: number) => new Date(now + offsetMinutes * 60_000).toISOString();

function session(overrides: Partial<SessionView>): SessionView {
  return {
    id: 'ses_1',
    user_id: 'alice',
    flow: 'default',
    status: 'active',
    created_at: iso(-60),
    last_refreshed_at: null,
    expires_at: iso(60 * 24),
    idle_expires_at: iso(10),
    revoked_at: null,
    revoked_reason: null,
    metadata: {},
    device: null,
    last_seen_at: iso(-60),
    refresh_count: 0,
    ...overrides,
  };
}

describe('sessionStateText', () => {
  it.each([
    ['active, idle end first', session({}), { status: 'active', reason: '', when: 'Idle expires in 10 minutes', at: iso(10) }],
    ['active, no idle timeout', session({ idle_expires_at: null }), { status: 'active', reason: '', when: 'Ends tomorrow', at: iso(60 * 24) }],
    ['active, lifetime end first', session({ expires_at: iso(5) }), { status: 'active', reason: '', when: 'Ends in 5 minutes', at: iso(5) }],
    [
      'revoked by an admin, with an idle end still ahead',
      session({ status: 'revoked', revoked_at: iso(-3), revoked_reason: 'admin' }),
      { status: 'revoked', reason: 'admin · revoked by an admin', at: iso(-3) },
    ],
    [
      'revoked for reuse',
      session({ status: 'revoked', revoked_at: iso(-1), revoked_reason: 'reuse_detected' }),
      { status: 'revoked', reason: 'reuse_detected · refresh token reused', at: iso(-1) },
    ],
    ['expired idle', session({ status: 'expired', idle_expires_at: iso(-2) }), { status: 'expired', reason: 'idle timeout', at: iso(-2) }],
    [
      'expired at the end of its lifetime',
      session({ status: 'expired', expires_at: iso(-7), idle_expires_at: iso(30) }),
      { status: 'expired', reason: 'lifetime reached', at: iso(-7) },
    ],
  ] as const)('%s', (_name, given, expected) => {
    const told = sessionStateText(given, now);
    expect(told).toMatchObject(expected);
    if (told.status !== 'active') {
      expect(told.when).toMatch(told.status === 'revoked' ? /^Revoked \d{4}-\d{2}-\d{2} .* ago\)$/ : /^Expired \d{4}-\d{2}-\d{2} .* ago\)$/);
      expect(told.when).not.toMatch(/idle|in \d/i);
    }
  });
});

describe('deviceSummary', () => {
  it('names what is known of the device', () => {
    expect(deviceSummary(null)).toBeNull();
    expect(deviceSummary(undefined)).toBeNull();
    expect(deviceSummary({ user_agent: 'x', browser: 'Chrome 131', os: 'macOS', ip: '203.0.113.7' })).toBe('Chrome 131 on macOS · 203.0.113.7');
    expect(deviceSummary({ user_agent: 'x', browser: 'Firefox 133', os: null, ip: null })).toBe('Firefox 133');
    expect(deviceSummary({ user_agent: null, browser: null, os: null, ip: '::1' })).toBe('::1');
    expect(deviceSummary({ user_agent: 'curl/8', browser: null, os: null, ip: null })).toBeNull();
  });
});
