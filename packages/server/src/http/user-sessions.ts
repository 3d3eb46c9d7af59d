import { TesseraError } from '../core/errors.js';
import { decodeCursor, encodeCursor } from '../core/page-cursor.js';
import { sessionJson } from '../core/session-json.js';
import type { SessionService } from '../core/sessions.js';
import type { SessionQuery, SessionStatusFilter } from '../core/store.js';
import { assertUserId } from '../core/user-id.js';

/** What `?status=` may be; `active` when absent (what the listing always answered). */
export const sessionStatusFilters: readonly SessionStatusFilter[] = ['active', 'expired', 'revoked', 'all'];
export const defaultSessionPageSize = 50;
export const maxSessionPageSize = 200;

/** The cursor kind of this listing (`core/page-cursor.ts`): its cursors are good for nothing else. */
const cursorKind = 'user_sessions';

/**
 * A user's sessions listing as the caller spelled it: `GET /v1/users/:user_id/sessions`'s query
 * string, or `tessera sessions list`'s flags. Every value is text, checked here for both.
 */
export interface UserSessionsParameters {
  readonly status?: string | undefined;
  readonly flow?: string | undefined;
  readonly created_after?: string | undefined;
  readonly created_before?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
}

/**
 * One page of a user's sessions, as `GET /v1/users/:user_id/sessions` and `tessera sessions list`
 * answer it: `{ sessions, next_cursor, total }`, newest first. `next_cursor` is null on the last page;
 * `total` counts every session matching the filters. A cursor is bound to the user and filters it was
 * issued for (not to `limit`, which may change from page to page). Bad parameters are one
 * `invalid_request` naming each bad field.
 */
export async function userSessionsPageJson(sessions: SessionService, userId: string, parameters: UserSessionsParameters, now: () => number) {
  assertUserId(userId);
  const { query, scope } = userSessionsQuery(userId, parameters);
  const before = parameters.cursor === undefined ? undefined : positionOf(parameters.cursor, scope);
  // One moment for the filter and the statuses shown: an `active` page never shows an expired session.
  const at = now();
  // One more than the page tells whether there is a next one.
  const found = await sessions.listSessions({ ...query, now: at, ...(before ? { before } : {}), limit: query.limit + 1 });
  const page = found.sessions.slice(0, query.limit);
  const last = page.at(-1);
  return {
    sessions: page.map((session) => sessionJson(session, at)),
    next_cursor: found.sessions.length > query.limit && last ? encodeCursor(cursorKind, { at: last.createdAt, id: last.id }, scope) : null,
    total: found.total,
  };
}

export type UserSessionsPage = Awaited<ReturnType<typeof userSessionsPageJson>>;

/** The store query of the parameters but the cursor, and the scope a cursor is bound to; throws `invalid_request`. */
function userSessionsQuery(userId: string, parameters: UserSessionsParameters) {
  const problems: { field: string; message: string; in: 'querystring' }[] = [];
  const problem = (field: string, message: string) => void problems.push({ field, message, in: 'querystring' });

  const status = (parameters.status ?? 'active') as SessionStatusFilter;
  if (!sessionStatusFilters.includes(status)) problem('status', `must be one of: ${sessionStatusFilters.join(', ')}`);
  const flow = parameters.flow;
  if (flow !== undefined && (flow.length === 0 || flow.length > 64)) problem('flow', 'must be a flow name of 1 to 64 characters');
  const createdAfter = optionalTime(parameters.created_after, 'created_after', problem);
  const createdBefore = optionalTime(parameters.created_before, 'created_before', problem);
  const limit = parameters.limit === undefined ? defaultSessionPageSize : pageSize(parameters.limit);
  if (limit === null) problem('limit', `must be a whole number from 1 to ${maxSessionPageSize}`);
  if (problems.length > 0) {
    const summary = problems.map(({ field, message }) => `${field} ${message}`).join('; ');
    throw new TesseraError('invalid_request', { message: `The listing's parameters are not valid: ${summary}.`, details: problems });
  }

  const query: Omit<SessionQuery, 'now' | 'before'> = {
    userId,
    status,
    ...(flow !== undefined ? { flow } : {}),
    ...(createdAfter !== undefined ? { createdAfter } : {}),
    ...(createdBefore !== undefined ? { createdBefore } : {}),
    limit: limit!,
  };
  const scope = [userId, status, flow ?? null, createdAfter ?? null, createdBefore ?? null];
  return { query, scope };
}

/** Where `cursor` says to go on from; refused as the other parameters are (`invalid_request`, field `cursor`). */
function positionOf(cursor: string, scope: unknown) {
  try {
    return decodeCursor(cursorKind, cursor, scope);
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    throw new TesseraError('invalid_request', { message: error.message, details: error.details.map((detail) => ({ ...detail, in: 'querystring' })) });
  }
}

function pageSize(text: string): number | null {
  if (!/^[1-9][0-9]{0,2}$/.test(text)) return null;
  const size = Number(text);
  return size <= maxSessionPageSize ? size : null;
}

function optionalTime(text: string | undefined, field: string, problem: (field: string, message: string) => void): number | undefined {
  if (text === undefined) return undefined;
  const time = rfc3339Time(text);
  if (time === null) problem(field, 'must be an RFC 3339 date-time, e.g. 2026-01-31T09:00:00Z');
  return time ?? undefined;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Epoch milliseconds of an RFC 3339 date-time, or null: Date.parse alone takes Feb 30 and 24:00. */
export function rfc3339Time(text: string): number | null {
  const match = rfc3339.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second, , , offsetHour, offsetMinute] = match.slice(1).map(Number) as number[];
  const calendarDay = new Date(Date.UTC(year!, month! - 1, day!));
  if (calendarDay.getUTCMonth() !== month! - 1 || calendarDay.getUTCDate() !== day!) return null;
  if (hour! > 23 || minute! > 59 || second! > 59) return null;
  if (match[9] !== undefined && (offsetHour! > 23 || offsetMinute! > 59)) return null;
  const time = Date.parse(text.toUpperCase());
  return Number.isFinite(time) ? time : null;
}
