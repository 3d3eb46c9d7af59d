import type { SessionDevice, SessionView } from './management-api.js';
import { localTime, relativeTime } from './times.js';

/** Why a session was revoked, in the operator's words. */
const reasonWords: Record<string, string> = {
  admin: 'revoked by an admin',
  logout: 'signed out',
  reuse_detected: 'refresh token reused',
  signed_out_elsewhere: 'signed out from another device',
};

/** How a session stands, told in a line or two: what the list and the detail view show. */
export interface SessionStateText {
  readonly status: SessionView['status'];
  /** e.g. `admin · revoked by an admin`, `idle timeout`; empty for an active session. */
  readonly reason: string;
  /** When it ended, or when it will end if nobody does anything. */
  readonly when: string;
  /** The instant behind `when` (ISO), for the markup. */
  readonly at: string | null;
}

/**
 * What to say about `session` at `now`. Only an active session has ends ahead of it: a revoked or
 * expired one says when and why it ended, never "idle expires in…".
 */
export function sessionStateText(session: SessionView, now: number): SessionStateText {
  if (session.status === 'revoked') {
    const reason = session.revoked_reason ?? 'unknown';
    const at = session.revoked_at;
    return {
      status: 'revoked',
      reason: `${reason} · ${reasonWords[reason] ?? 'revoked'}`,
      when: at === null ? 'Revoked' : `Revoked ${localTime(at)} (${relativeTime(at, now)})`,
      at,
    };
  }
  if (session.status === 'expired') {
    const { at, cause } = expiry(session, now);
    return { status: 'expired', reason: cause, when: `Expired ${localTime(at)} (${relativeTime(at, now)})`, at };
  }
  const idle = session.idle_expires_at;
  const idleFirst = idle !== null && Date.parse(idle) < Date.parse(session.expires_at);
  const at = idleFirst ? idle : session.expires_at;
  return {
    status: 'active',
    reason: '',
    when: idleFirst ? `Idle expires ${relativeTime(at, now)}` : `Ends ${relativeTime(at, now)}`,
    at,
  };
}

/** Which end an expired session reached first. */
function expiry(session: SessionView, now: number): { at: string; cause: string } {
  const idle = session.idle_expires_at;
  if (idle !== null && Date.parse(idle) <= now && Date.parse(idle) < Date.parse(session.expires_at)) return { at: idle, cause: 'idle timeout' };
  return { at: session.expires_at, cause: 'lifetime reached' };
}

/** `Chrome 131 on macOS`, or what is known of it; null when nothing is. */
export function deviceSummary(device: SessionDevice | null | undefined): string | null {
  if (!device) return null;
  const name = device.browser && device.os ? `${device.browser} on ${device.os}` : (device.browser ?? device.os ?? null);
  if (name) return device.ip ? `${name} · ${device.ip}` : name;
  return device.ip ?? null;
}
