/**
 * Why a store could not keep `value` exactly as given, or undefined when it can: PostgreSQL refuses
 * NUL in text (SQLSTATE 22021, once a 500), and both drivers encode UTF-8, so an unpaired surrogate
 * would come back as U+FFFD and no longer match what the client sent.
 */
export function storableTextProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL (U+0000)';
  // With the u flag a surrogate pair is one code point, so only unpaired halves match.
  if (/\p{Cs}/u.test(value)) return 'must not contain unpaired surrogates';
  return undefined;
}
