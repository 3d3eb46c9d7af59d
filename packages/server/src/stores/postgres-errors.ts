import { TesseraError } from '../core/errors.js';

/**
 * SQLSTATE classes that mean "the database cannot answer now": 08 connection exception,
 * 53 insufficient resources, 57 operator intervention (shutdown, statement timeout), 58 system error.
 */
const unavailableClasses = new Set(['08', '53', '57', '58']);
/** Serialization failure and deadlock: the transaction can simply run again. */
const retryableStates = new Set(['40001', '40P01']);
/** pg's own errors carry no code: a lost connection, a timeout, a closed pool. */
const connectionMessages = /connection|timeout|terminated|not queryable|after calling end/i;

/** An error raised by the PostgreSQL server itself (it has a SQLSTATE and a severity). */
function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('severity' in error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether running the same transaction again may succeed. */
export function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && retryableStates.has(state);
}

/** Whether `error` says the database is out of reach or overloaded rather than the request being wrong. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof TesseraError) return false;
  const state = sqlState(error);
  if (state !== undefined) return unavailableClasses.has(state.slice(0, 2)) || retryableStates.has(state);
  // Node's socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ENOTFOUND, …).
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  return error instanceof Error && connectionMessages.test(error.message);
}

/** The error a caller sees: `service_unavailable` (retry after a second) for an unreachable database. */
export function storeError(error: unknown): unknown {
  if (!isUnavailable(error)) return error;
  return new TesseraError('service_unavailable', { retryAfter: 1, cause: error });
}
