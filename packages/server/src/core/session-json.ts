import { lastSeenAt, type SessionDevice, type SessionRecord, sessionState } from './session.js';

/** The latest instant a Date can show (ECMA-262: 8.64e15 ms after 1970). */
const latestTime = 8.64e15;

/** Sessions stored before lifetimes were bounded may end later than a Date can show: the latest date, not a 500. */
export const isoTime = (ms: number) => new Date(Math.min(ms, latestTime)).toISOString();
export const optionalIsoTime = (ms: number | null) => (ms === null ? null : isoTime(ms));

/**
 * The contract's `SESSION` object: what the HTTP API answers, the CLI prints and webhook messages
 * carry (fixed when their event happened). In the core because a webhook body is written in the same
 * transaction as the change it reports.
 */
export function sessionJson(session: SessionRecord, now: number) {
  return {
    id: session.id,
    user_id: session.userId,
    flow: session.flow,
    status: sessionState(session, now).status,
    created_at: isoTime(session.createdAt),
    last_refreshed_at: optionalIsoTime(session.lastRefreshedAt),
    expires_at: isoTime(session.expiresAt),
    idle_expires_at: optionalIsoTime(session.idleExpiresAt),
    revoked_at: optionalIsoTime(session.revokedAt),
    revoked_reason: session.revokedReason,
    metadata: session.metadata,
    device: deviceJson(session.device),
    last_seen_at: isoTime(lastSeenAt(session)),
    refresh_count: session.refreshCount,
  };
}

/** The contract's `device`: what the session's device was last seen as, or null when nothing is known. */
function deviceJson(device: SessionDevice | null) {
  if (!device) return null;
  return { user_agent: device.userAgent, browser: device.browser, os: device.os, ip: device.ip };
}

export type SessionJson = ReturnType<typeof sessionJson>;
