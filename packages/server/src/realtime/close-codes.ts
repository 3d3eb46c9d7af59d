import { type CloseCodeErrorCode, endsSession, errorCloseCodes } from '../core/error-catalogue.js';
import { TesseraError, type TesseraErrorOptions } from '../core/errors.js';

/**
 * The close code a socket ends with for each catalogue code: the two codes of one failure, set in
 * one place (the catalogue's `closeCode`). The close reason is the catalogue code, so a browser's
 * `CloseEvent.reason` names it.
 */
export const realtimeCloseCodes = errorCloseCodes;

export type RealtimeErrorCode = CloseCodeErrorCode;

/**
 * A failure on a socket: a `TesseraError` (catalogue code, envelope) that also knows its close code.
 *
 * @example
 * ```ts
 * const error = realtimeError('token_missing', { message: 'No auth message within 10 s.' });
 * error.code;      // 'token_missing'
 * error.closeCode; // 4008
 * ```
 */
export class RealtimeError extends TesseraError {
  readonly closeCode: number;

  constructor(code: RealtimeErrorCode, options: TesseraErrorOptions = {}) {
    super(code, options);
    this.name = 'RealtimeError';
    this.closeCode = realtimeCloseCodes[code];
  }

  /** Whether the session is over (revoked, expired, unknown), so the client must sign in again. */
  get endsSession(): boolean {
    return endsSession(this.code);
  }
}

export function realtimeError(code: RealtimeErrorCode, options: TesseraErrorOptions = {}): RealtimeError {
  return new RealtimeError(code, options);
}

/** The socket form of any error: catalogue codes keep their code, anything else is `internal_error`. */
export function toRealtimeError(error: unknown): RealtimeError {
  if (error instanceof RealtimeError) return error;
  if (error instanceof TesseraError && Object.hasOwn(realtimeCloseCodes, error.code)) {
    return new RealtimeError(error.code as RealtimeErrorCode, {
      message: error.message,
      details: error.details,
      retryAfter: error.retryAfter,
      cause: error,
    });
  }
  return new RealtimeError('internal_error', { cause: error });
}
