import type { ErrorCode } from '../core/error-catalogue.js';
import { TesseraError, type TesseraErrorOptions } from '../core/errors.js';

/**
 * The close code a socket ends with for each catalogue code: the two codes of one failure, set in
 * one place. The close reason is the catalogue code, so a browser's `CloseEvent.reason` names it.
 */
export const realtimeCloseCodes = {
  token_expired: 4001,
  token_invalid: 4002,
  session_revoked: 4003,
  session_not_found: 4004,
  session_expired: 4005,
  /** No `auth` message within the auth timeout. */
  token_missing: 4008,
  /** Garbage: not JSON, not an object, an unknown `type`, a message before `auth`. */
  invalid_request: 4400,
  /** Faster than the per-connection message rate. */
  rate_limited: 4429,
  /** Over the maximum message size (sent by `ws` itself, RFC 6455 "message too big"). */
  payload_too_large: 1009,
  /** The store could not be reached: reconnect with backoff (RFC 6455 "try again later"). */
  service_unavailable: 1013,
  internal_error: 1011,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type RealtimeErrorCode = keyof typeof realtimeCloseCodes;

/** Catalogue codes that end the session, not just the socket: sent as `session_ended` rather than `error`. */
const sessionEndingCodes: readonly ErrorCode[] = ['session_revoked', 'session_expired', 'session_not_found'];

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
    return sessionEndingCodes.includes(this.code);
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
