import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import { decodeCursor, encodeCursor, maxCursorLength, type PagePosition } from '../../src/core/page-cursor.js';

const position: PagePosition = { at: Date.UTC(2026, 0, 1, 9, 0, 0), id: 'ses_01JABCDEF' };
const filters = { user_id: 'alice', status: 'all' };

/** The `invalid_request` a cursor is refused with, and its one `cursor` field detail. */
function refusal(decode: () => unknown): { message: string; detail: Record<string, unknown> } {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(TesseraError);
    const refused = error as TesseraError;
    expect(refused.code).toBe('invalid_request');
    expect(refused.details).toHaveLength(1);
    expect(refused.details[0]?.['field']).toBe('cursor');
    return { message: refused.message, detail: refused.details[0]! };
  }
  throw new Error('the cursor was accepted');
}

describe('page cursors', () => {
  it('give back the position they were made from, for the same kind and scope', () => {
    const cursor = encodeCursor('user_sessions', position, filters);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor('user_sessions', cursor, { user_id: 'alice', status: 'all' })).toEqual(position);
    expect(decodeCursor('audit', encodeCursor('audit', position))).toEqual(position);
  });

  it('property: any time and id round-trip, and under any other scope are refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 128 }),
        fc.jsonValue(),
        fc.jsonValue(),
        (at, id, scope, otherScope) => {
          const cursor = encodeCursor('user_sessions', { at, id }, scope);
          expect(cursor.length).toBeLessThanOrEqual(maxCursorLength);
          expect(decodeCursor('user_sessions', cursor, scope)).toEqual({ at, id });
          if (JSON.stringify(scope) !== JSON.stringify(otherScope)) {
            expect(refusal(() => decodeCursor('user_sessions', cursor, otherScope)).detail['message']).toContain('other filters');
          }
        },
      ),
    );
  });

  it('are bound to their listing: another kind refuses them', () => {
    const cursor = encodeCursor('audit', position);
    expect(refusal(() => decodeCursor('user_sessions', cursor)).message).toContain('another listing or other filters');
  });

  it('refuse every change of a single character', () => {
    const cursor = encodeCursor('user_sessions', position, filters);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let index = 0; index < cursor.length; index++) {
      for (const replacement of alphabet) {
        if (replacement === cursor[index]) continue;
        const edited = cursor.slice(0, index) + replacement + cursor.slice(index + 1);
        refusal(() => decodeCursor('user_sessions', edited, filters));
      }
    }
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a cursor'],
    ['padded', `${encodeCursor('user_sessions', position)}=`],
    ['standard base64', encodeCursor('user_sessions', { at: position.at, id: '\u00ff\u00ff\u00ff\u00ff\u00ff' }).replaceAll('-', '+').replaceAll('_', '/')],
    ['too long', 'A'.repeat(maxCursorLength + 1)],
    ['a number', '12345'],
    ['JSON', Buffer.from(JSON.stringify(position)).toString('base64url')],
    ['truncated', encodeCursor('user_sessions', position).slice(0, -2)],
    ['extended', `${encodeCursor('user_sessions', position)}AA`],
  ])('refuse %s text', (_name, text) => {
    const { message, detail } = refusal(() => decodeCursor('user_sessions', text));
    expect(message).toBe('The cursor is not a cursor from an earlier answer of this listing.');
    expect(detail).toEqual({ field: 'cursor', message: 'is not a cursor from an earlier answer of this listing' });
  });

  it('refuse a well-formed cursor of another version', () => {
    const bytes = Buffer.from(encodeCursor('user_sessions', position), 'base64url');
    bytes[0] = 2;
    refusal(() => decodeCursor('user_sessions', bytes.toString('base64url')));
  });

  it('cannot be made from a position no listing has', () => {
    expect(() => encodeCursor('user_sessions', { at: 1.5, id: 'x' })).toThrow(RangeError);
    expect(() => encodeCursor('user_sessions', { at: 1, id: '' })).toThrow(RangeError);
    expect(() => encodeCursor('user_sessions', { at: 1, id: 'x'.repeat(513) })).toThrow(RangeError);
  });
});
