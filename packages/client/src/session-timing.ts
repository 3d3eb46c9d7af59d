/**
 * The client's timing rules, as pure functions of the held tokens, the session's description, the
 * server's time and the leeway: when a token is due for refresh, expired, expired long ago, cut by
 * the session's idle or absolute end, and when a tab that cannot refresh by itself asks for tokens.
 * Every time here is epoch milliseconds on the server's clock; `ServerClock` turns them into device
 * time. Tested row by row in `test/session-timing.test.ts`.
 */
import type { HeldTokens, SessionInfo } from './token-grant.js';

/** What the rules read of the held tokens. */
export type TimedTokens = Pick<HeldTokens, 'accessTokenIssuedAt' | 'accessTokenExpiresAt' | 'sessionId'>;
/** What the rules read of the server's description of the session (null: not known here). */
export type TimedSession = Pick<SessionInfo, 'id' | 'created_at' | 'last_refreshed_at' | 'expires_at' | 'idle_expires_at'> | null;

/**
 * A token this long past its `exp` (server time as estimated here) was not seen to run out. Longer than
 * the last second of a session, when the server issues tokens already expired, and than a late timer.
 */
export const longExpiredMs = 5000;
/** A tab that cannot refresh by itself asks the others this long after its tokens are due, so the holder's own refresh usually lands first. */
export const askAfterDueMs = 1000;

/** Whether the access token's `exp` has passed at `serverNow`; never when its expiry is unknown. */
export function isExpired(tokens: TimedTokens, serverNow: number): boolean {
  return tokens.accessTokenExpiresAt !== null && serverNow >= tokens.accessTokenExpiresAt;
}

/**
 * Whether `tokens` expired longer ago than a client watching its token sees: the device slept, the
 * page was hidden, or the device clock was set forward since the server's time was last read.
 */
export function isLongExpired(tokens: TimedTokens, serverNow: number): boolean {
  return tokens.accessTokenExpiresAt !== null && serverNow >= tokens.accessTokenExpiresAt + longExpiredMs;
}

/**
 * Whether `exp − leeway` has passed at `serverNow`. A leeway longer than half the token's life is
 * halved, and nothing is due within the second of `iat`, so short tokens never loop.
 */
export function isDue(tokens: TimedTokens, session: TimedSession, serverNow: number, leeway: number): boolean {
  const at = dueAt(tokens, session, leeway);
  return at !== null && serverNow >= at;
}

/** Server time at which `tokens` should be refreshed (`leeway` in ms), or null when the expiry is unknown. */
export function dueAt(tokens: TimedTokens, session: TimedSession, leeway: number): number | null {
  const expiresAt = tokens.accessTokenExpiresAt;
  if (expiresAt === null) return null;
  // No refresh can outlive the session's absolute end: nothing to do before the token's exp, when the session ends.
  if (absoluteEndOf(tokens, session) !== null) return expiresAt;
  const issuedAt = tokens.accessTokenIssuedAt;
  const lifetime = issuedAt === null ? Number.POSITIVE_INFINITY : expiresAt - issuedAt;
  const due = expiresAt - Math.min(leeway, Math.max(0, lifetime / 2));
  if (issuedAt === null) return due;
  // `iat` and `exp` are whole seconds: a refresh within the second of `iat` brings the same `exp`, so
  // a 1 s token, due half a second after its `iat`, would be refreshed in a loop until that second is over.
  // A token cut by the idle end is refreshed to push that end, before it: not before half-way there,
  // timed to the millisecond by the session's description.
  const idle = idleEndOf(tokens, session);
  return Math.max(due, idle === null ? issuedAt + 1000 : idle.from + (idle.end - idle.from) / 2);
}

/**
 * The session's idle end, and when it was set, when `tokens` last until it (cut there, to the whole
 * second below, less than 1 s before it); null otherwise, or when the session's description is not known.
 */
export function idleEndOf(tokens: TimedTokens, session: TimedSession): { from: number; end: number } | null {
  if (!session?.idle_expires_at || session.id !== tokens.sessionId || tokens.accessTokenExpiresAt === null) return null;
  const end = Date.parse(session.idle_expires_at);
  const from = Date.parse(session.last_refreshed_at ?? session.created_at);
  if (Number.isNaN(end) || Number.isNaN(from) || tokens.accessTokenExpiresAt <= end - 1000) return null;
  return { from, end };
}

/**
 * The session's absolute end, when `tokens` last until it (the server cuts a token's life there,
 * to the whole second below: less than 1 s before it, never exactly 1 s, which is a token's own
 * TTL ending then); null otherwise, or when the session's description is not known.
 * A session whose idle end comes first was cut there, however close to the absolute end: a refresh
 * pushes the idle end, and a page back after it must hear `idle` from the server.
 */
export function absoluteEndOf(tokens: TimedTokens, session: TimedSession): number | null {
  if (!session || session.id !== tokens.sessionId || tokens.accessTokenExpiresAt === null) return null;
  const end = Date.parse(session.expires_at);
  const idleEnd = session.idle_expires_at === null ? Number.NaN : Date.parse(session.idle_expires_at);
  if (idleEnd < end) return null;
  return !Number.isNaN(end) && tokens.accessTokenExpiresAt > end - 1000 ? end : null;
}

/**
 * The session's absolute end when its last token has just run out with it (expired, not long ago):
 * asking the server would only bring tokens expired as they are issued, so the client ends the
 * session itself. Null otherwise; run out long ago, the server is asked (the client was away, or
 * its clock was set forward).
 */
export function endedWithAbsoluteLifetime(tokens: TimedTokens, session: TimedSession, serverNow: number): number | null {
  const end = absoluteEndOf(tokens, session);
  return end !== null && isExpired(tokens, serverNow) && !isLongExpired(tokens, serverNow) ? end : null;
}

/**
 * Server time of the next look at `tokens`: when they are due; for a tab that cannot refresh by
 * itself (`refreshesAlone` false), a moment later (at most `askAfterDueMs`, at most half the time
 * left to `exp`), so the holder's own refresh arrives before this tab asks for it. Null: never.
 */
export function checkAt(tokens: TimedTokens, session: TimedSession, leeway: number, refreshesAlone: boolean): number | null {
  const due = dueAt(tokens, session, leeway);
  if (due === null) return null;
  const expiresAt = tokens.accessTokenExpiresAt;
  const askLater = refreshesAlone || expiresAt === null ? 0 : Math.min(askAfterDueMs, (expiresAt - due) / 2);
  return due + askLater;
}
