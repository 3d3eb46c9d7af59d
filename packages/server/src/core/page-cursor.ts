import { createHash } from 'node:crypto';
import { TesseraError } from './errors.js';

/**
 * Opaque cursors for keyset paging (newest first by a time, then an id), shared by every list route:
 * a user's sessions, the audit trail.
 *
 * A cursor is base64url of: a version byte, 8 bytes naming the listing (its `kind`) and the filters it
 * was issued for (`scope`), the position's time (signed 64-bit), its id (UTF-8), and an 8-byte
 * checksum of all that. Decoding refuses anything else with `invalid_request` (field `cursor`):
 * garbage, a truncated or edited cursor, one of another listing, one issued for other filters (a
 * cursor is a place in one ordered set; under other filters the same place would skip or repeat).
 * The checksum is not a secret: a forged cursor can only point somewhere in a set its caller may
 * already read in full.
 *
 * @example
 * ```ts
 * const filters = { user_id: 'alice', status: 'all' };
 * const next = encodeCursor('sessions', { at: last.createdAt, id: last.id }, filters);
 * // …the next request, with the same filters:
 * const position = decodeCursor('sessions', next, filters); // { at, id }; throws invalid_request otherwise
 * ```
 */
export interface PagePosition {
  /** Epoch milliseconds of the last item of the page. */
  readonly at: number;
  /** Its id: ties in `at` are ordered by id. */
  readonly id: string;
}

const version = 1;
const scopeBytes = 8;
const checksumBytes = 8;
const headerBytes = 1 + scopeBytes + 8;
/** Longest id a position holds (ids are at most 128 characters everywhere). */
const maxIdBytes = 512;
/** Longest cursor text decoded at all: anything longer is not one of ours. */
export const maxCursorLength = Math.ceil(((headerBytes + maxIdBytes + checksumBytes) * 4) / 3);

/** The cursor that continues just past `position`, for the listing `kind` under `scope` (its filters). */
export function encodeCursor(kind: string, position: PagePosition, scope: unknown = null): string {
  if (!Number.isSafeInteger(position.at)) throw new RangeError('a cursor position needs a whole-millisecond time');
  const id = Buffer.from(position.id, 'utf8');
  if (id.length === 0 || id.length > maxIdBytes) throw new RangeError(`a cursor position needs an id of 1 to ${maxIdBytes} bytes`);
  const body = Buffer.alloc(headerBytes + id.length);
  body.writeUInt8(version, 0);
  scopeHash(kind, scope).copy(body, 1);
  body.writeBigInt64BE(BigInt(position.at), 1 + scopeBytes);
  id.copy(body, headerBytes);
  return Buffer.concat([body, checksum(body)]).toString('base64url');
}

/**
 * The position in `text`, a cursor `encodeCursor(kind, …, scope)` made. Throws `invalid_request`
 * with a `cursor` field detail for anything else.
 */
export function decodeCursor(kind: string, text: string, scope: unknown = null): PagePosition {
  const bytes = cursorBytes(text);
  if (!bytes) throw cursorError('is not a cursor from an earlier answer of this listing');
  if (!bytes.subarray(1, 1 + scopeBytes).equals(scopeHash(kind, scope))) {
    throw cursorError('was issued for another listing or other filters: send the same filters, or start again without a cursor');
  }
  const at = bytes.readBigInt64BE(1 + scopeBytes);
  const id = utf8(bytes.subarray(headerBytes));
  if (at > BigInt(Number.MAX_SAFE_INTEGER) || at < BigInt(Number.MIN_SAFE_INTEGER) || id === null) {
    throw cursorError('is not a cursor from an earlier answer of this listing');
  }
  return { at: Number(at), id };
}

/** The checked body of a cursor (checksum removed), or null when `text` is not a whole cursor of this version. */
function cursorBytes(text: string): Buffer | null {
  if (text.length === 0 || text.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Node decodes leniently: only the canonical spelling of the bytes is a cursor.
  if (bytes.toString('base64url') !== text) return null;
  if (bytes.length < headerBytes + 1 + checksumBytes) return null;
  const body = bytes.subarray(0, bytes.length - checksumBytes);
  if (!bytes.subarray(body.length).equals(checksum(body))) return null;
  if (body.readUInt8(0) !== version) return null;
  return body;
}

function scopeHash(kind: string, scope: unknown): Buffer {
  return createHash('sha256')
    .update(JSON.stringify([kind, scope]))
    .digest()
    .subarray(0, scopeBytes);
}

function checksum(body: Buffer): Buffer {
  return createHash('sha256').update(body).digest().subarray(0, checksumBytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

function cursorError(message: string): TesseraError {
  return new TesseraError('invalid_request', {
    message: `The cursor ${message}.`,
    details: [{ field: 'cursor', message }],
  });
}
