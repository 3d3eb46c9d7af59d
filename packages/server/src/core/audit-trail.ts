import { type AuditCursor, decodeAuditCursor, encodeAuditCursor } from './audit-cursor.js';
import { TesseraError } from './errors.js';
import type { AuditEventRecord, AuditEventType } from './journal.js';
import { isoTime } from './session-json.js';
import type { SessionStore } from './store.js';

/** Events per page: 50 unless asked, 200 at most. */
export const auditPageLimits = { default: 50, max: 200 } as const;

/** What an operator asks of the audit trail: filters, a page size, and where the last page ended. */
export interface AuditPageRequest {
  readonly userId?: string;
  readonly sessionId?: string;
  readonly type?: AuditEventType;
  readonly limit?: number;
  /** `next_cursor` of the previous page. */
  readonly cursor?: string;
}

/** The contract's `EVENT`: what `GET /v1/audit` answers and `tessera audit --json` prints. */
export function auditEventJson(event: AuditEventRecord) {
  return {
    id: event.id,
    type: event.type,
    at: isoTime(event.at),
    user_id: event.userId,
    session_id: event.sessionId,
    actor: { type: event.actor.type, id: event.actor.id },
    reason: event.reason,
    details: event.details,
  };
}

export type AuditEventJson = ReturnType<typeof auditEventJson>;

/** One page, newest first; `next_cursor` is null on the last. */
export interface AuditPage {
  readonly events: AuditEventJson[];
  readonly next_cursor: string | null;
}

/**
 * Reads a page of the audit trail, newest first. Following `next_cursor` until it is null yields
 * every matching event once. A cursor this server did not make is `invalid_request`.
 */
export async function readAuditPage(store: Pick<SessionStore, 'listAuditEvents'>, request: AuditPageRequest): Promise<AuditPage> {
  const limit = request.limit ?? auditPageLimits.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > auditPageLimits.max) {
    const message = `must be a whole number from 1 to ${auditPageLimits.max}`;
    throw new TesseraError('invalid_request', { message: `The limit ${message}.`, details: [{ field: 'limit', message }] });
  }
  let before: AuditCursor | undefined;
  if (request.cursor !== undefined) {
    before = decodeAuditCursor(request.cursor);
    if (!before) {
      const message = 'must be a next_cursor from an earlier answer';
      throw new TesseraError('invalid_request', { message: `The cursor ${message}.`, details: [{ field: 'cursor', message }] });
    }
  }
  // One more than asked: whether a next page exists, without a count.
  const events = await store.listAuditEvents({
    ...(request.userId !== undefined ? { userId: request.userId } : {}),
    ...(request.sessionId !== undefined ? { sessionId: request.sessionId } : {}),
    ...(request.type !== undefined ? { type: request.type } : {}),
    ...(before ? { before } : {}),
    limit: limit + 1,
  });
  const page = events.slice(0, limit);
  const last = page.at(-1);
  return {
    events: page.map(auditEventJson),
    next_cursor: events.length > limit && last ? encodeAuditCursor({ at: last.at, id: last.id }) : null,
  };
}
