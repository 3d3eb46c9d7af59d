/**
 * The opaque cursor of the audit trail's pages: the last event of a page, `{ at, id }`, as base64url
 * JSON. Kept apart so it can give way to a shared page cursor module; a cursor is only ever read back
 * by the route that gave it, so its encoding may change between versions.
 */
export interface AuditCursor {
  readonly at: number;
  readonly id: string;
}

const idPattern = /^evt_[A-Za-z0-9_-]{1,64}$/;

export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify({ at: cursor.at, id: cursor.id })).toString('base64url');
}

/** The position `text` names, or undefined when it is no cursor this module made. */
export function decodeAuditCursor(text: string): AuditCursor | undefined {
  if (text.length === 0 || text.length > 256 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { at, id } = parsed as { at?: unknown; id?: unknown };
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) return undefined;
  if (typeof id !== 'string' || !idPattern.test(id)) return undefined;
  return { at, id };
}
