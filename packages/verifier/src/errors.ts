import { type ErrorCode, errorCatalogue } from './error-catalogue.js';

export interface TesseraErrorOptions {
  /** Overrides the catalogue message. */
  message?: string;
  /** Structured details: field errors, `{ reason, expired_at }`, … */
  details?: Record<string, unknown>[];
  /** Seconds the caller should wait before retrying. */
  retryAfter?: number | null;
  cause?: unknown;
}

/**
 * The one error type Tessera throws for expected failures. `code` is stable and comes
 * from the catalogue, so callers branch on it.
 *
 * @example
 * ```ts
 * try {
 *   await sessions.refreshSession(token);
 * } catch (err) {
 *   if (err instanceof TesseraError && err.code === 'session_revoked') signIn();
 * }
 * ```
 */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>[];
  readonly retryAfter: number | null;

  constructor(code: ErrorCode, options: TesseraErrorOptions = {}) {
    super(options.message ?? errorCatalogue[code].message, { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter ?? null;
  }
}
