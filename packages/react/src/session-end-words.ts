import type { SessionEndReason } from './session-snapshot.js';

/**
 * Why a session ended, in plain words for the person who was using it; general words when no
 * reason is known (`null`).
 *
 * @example
 * ```ts
 * describeSessionEnd({ code: 'session_revoked', reason: 'signed_out_elsewhere', idleTimeout: null });
 * // → 'You signed out on another device.'
 * ```
 */
export function describeSessionEnd(endReason: SessionEndReason | null): string {
  if (!endReason) return 'Your session has ended.';
  switch (endReason.code) {
    case 'session_expired':
      return describeExpiry(endReason);
    case 'session_revoked':
      return describeRevocation(endReason);
    case 'refresh_token_unavailable':
      return describeUnavailable(endReason);
    case 'refresh_refused':
      return 'Your session could not be renewed because the server refused the request.';
    default:
      return 'Your session has ended.';
  }
}

function describeRevocation(endReason: SessionEndReason): string {
  switch (endReason.reason) {
    case 'signed_out_elsewhere':
      return 'You signed out on another device.';
    case 'admin':
      return 'An administrator ended your session.';
    case 'logout':
      return 'You signed out.';
    case 'reuse_detected':
      return 'For your security, your session was ended because it was used from two places at once.';
    default:
      return 'Your session has ended.';
  }
}

/** Nothing in this browser can refresh the session: the cookie is gone, or no open tab holds the refresh token. */
function describeUnavailable(endReason: SessionEndReason): string {
  if (endReason.reason === 'no_refresh_cookie') return 'Your browser no longer has the cookie that keeps you signed in.';
  return 'This browser could not keep your session (it holds no refresh token for it).';
}

function describeExpiry(endReason: SessionEndReason): string {
  if (endReason.reason !== 'idle' || endReason.idleTimeout === null) return 'Your session expired.';
  return `Your session expired after ${formatDuration(endReason.idleTimeout)} of inactivity.`;
}

/** 1800 → "30 minutes"; 7200 → "2 hours"; under a minute → seconds. */
function formatDuration(seconds: number): string {
  if (seconds < 60) return plural(seconds, 'second');
  const minutes = Math.round(seconds / 60);
  if (minutes % 60 === 0) return plural(minutes / 60, 'hour');
  return plural(minutes, 'minute');
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
