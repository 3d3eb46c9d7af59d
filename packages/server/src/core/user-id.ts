import { TesseraError } from './errors.js';
import { storableTextProblem } from './storable-text.js';

/** The longest user id, in Unicode characters (code points). */
export const userIdMaxLength = 256;

/**
 * Why `value` cannot be a user id, or undefined when it can. Every id accepted can be managed
 * afterwards: stored as given by both stores, sent back in a URL path by any WHATWG URL client
 * (which drops `.` and `..` segments, even percent-encoded), and short enough for the router.
 * Control characters are refused too: an id is shown in logs and the admin console.
 */
export function userIdProblem(value: string): string | undefined {
  // Past twice the bound in UTF-16 units it is too long however it counts, and not worth spreading.
  const length = value.length > userIdMaxLength * 2 ? value.length : [...value].length;
  if (length === 0) return 'must not be empty';
  if (length > userIdMaxLength) return `must be at most ${userIdMaxLength} characters`;
  const unstorable = storableTextProblem(value);
  if (unstorable) return unstorable;
  if (/\p{Cc}/u.test(value)) return 'must not contain control characters';
  if (value === '.' || value === '..') return 'must not be "." or ".." (URL clients drop them from paths)';
  return undefined;
}

/** Throws `invalid_request` naming `user_id` unless `value` is a user id. */
export function assertUserId(value: string): void {
  const problem = userIdProblem(value);
  if (problem) throw new TesseraError('invalid_request', { message: `The user id ${problem}.`, details: [{ field: 'user_id', message: problem }] });
}
