import { ConfigError } from '../core/config-error.js';
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

/** A unique index refused a row (23505): for an upsert, another transaction inserted the same row first. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
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

/** Text the database cannot hold: a NUL (22021), a character its encoding lacks (22P05). */
const unstorableTextStates = new Set(['22021', '22P05']);

/**
 * SQLSTATEs that mean DATABASE_URL names what is not there or not allowed: 28 invalid authorization
 * (no such role, wrong password), 3D000 no such database, 42501 a role without the rights to migrate.
 */
function isMisconfiguration(state: string): boolean {
  return state.startsWith('28') || state === '3D000' || state === '42501';
}

/**
 * The error a caller sees: `service_unavailable` (retry after a second) for an unreachable database,
 * `invalid_request` for text it cannot hold (the core refuses such input first; this is the backstop).
 */
export function storeError(error: unknown): unknown {
  const state = sqlState(error);
  if (state !== undefined && unstorableTextStates.has(state)) {
    return new TesseraError('invalid_request', { message: 'The request holds text that cannot be stored (such as a NUL character).', cause: error });
  }
  if (!isUnavailable(error)) return error;
  return new TesseraError('service_unavailable', { retryAfter: 1, cause: error });
}

/** The error of a failed start: a ConfigError (one clear line, exit 2) when DATABASE_URL is wrong, else as `storeError`. */
export function startupError(error: unknown): unknown {
  const state = sqlState(error);
  if (state !== undefined && isMisconfiguration(state)) {
    return new ConfigError(`PostgreSQL refused to start the store: ${(error as Error).message} (SQLSTATE ${state}; check DATABASE_URL).`);
  }
  return storeError(error);
}
