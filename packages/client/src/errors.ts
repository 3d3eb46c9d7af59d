import {
  type TesseraErrorCode,
  type TesseraServerSessionEndCode,
  type TesseraSessionEndCode,
  tesseraErrorMessage,
  tesseraErrorStatus,
  tesseraSessionEndCodes,
} from './error-codes.js';

/**
 * The codes that end the client session: the server says the session is over (refreshing cannot
 * help), or, SDK only, nothing here can refresh it (`refresh_token_unavailable`) or the server
 * refused the refresh as a call that would fail again (`refresh_refused`). The user signs in again.
 */
export type SessionEndCode = TesseraSessionEndCode;

/** The codes a server answer can end a session with. */
export type ServerSessionEndCode = TesseraServerSessionEndCode;

/** Generated from the catalogue's `endsSession` and `endsClientSession`. */
export const sessionEndCodes: readonly SessionEndCode[] = tesseraSessionEndCodes;

/** Whether `code` ends the session (as opposed to a failure the SDK retries). */
export function isSessionEndCode(code: TesseraErrorCode): code is SessionEndCode {
  return (sessionEndCodes as readonly string[]).includes(code);
}

export interface TesseraErrorOptions {
  /** Overrides the catalogue message. */
  message?: string;
  /** HTTP status; the catalogue's status for `code` by default. */
  status?: number;
  /** Structured details from the envelope: field errors, `{ reason, revoked_at }`, … */
  details?: Record<string, unknown>[];
  /** Seconds to wait before retrying, when the server said so. */
  retryAfter?: number | null;
  /** The `request_id` of the response, to quote in a bug report. */
  requestId?: string | null;
  /** The `doc_url` of the envelope. */
  docUrl?: string | null;
  cause?: unknown;
}

/**
 * Every failure the SDK reports. `code` is stable and comes from the server's catalogue, so code
 * can branch on it; the subclasses group codes that call for the same reaction.
 *
 * @example
 * ```ts
 * try {
 *   const token = await client.getAccessToken();
 * } catch (err) {
 *   if (err instanceof SessionEndedError) return showSignIn(err.code); // expired, revoked, …
 *   if (err instanceof TesseraError && err.code === 'silent_auth_failed') return showOfflineBanner();
 *   throw err;
 * }
 * ```
 */
export class TesseraError extends Error {
  readonly code: TesseraErrorCode;
  /** HTTP status of the answer, 0 when no answer arrived. */
  readonly status: number;
  readonly details: Record<string, unknown>[];
  /** Seconds to wait before retrying, or null. */
  readonly retryAfter: number | null;
  readonly requestId: string | null;
  readonly docUrl: string | null;

  constructor(code: TesseraErrorCode, options: TesseraErrorOptions = {}) {
    super(options.message ?? tesseraErrorMessage[code], { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.status = options.status ?? tesseraErrorStatus[code];
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter ?? null;
    this.requestId = options.requestId ?? null;
    this.docUrl = options.docUrl ?? null;
  }
}

/**
 * The server session is over (expired, revoked, unknown, or its token untrustworthy). The SDK has
 * cleared its tokens; sign the user in again.
 *
 * @example
 * ```ts
 * if (err instanceof SessionEndedError && err.code === 'session_revoked') {
 *   toast(err.reason === 'signed_out_elsewhere' ? 'You signed out on another device.' : 'Your session ended.');
 * }
 * ```
 */
export class SessionEndedError extends TesseraError {
  declare readonly code: SessionEndCode;

  constructor(code: SessionEndCode, options: TesseraErrorOptions = {}) {
    super(code, options);
    this.name = 'SessionEndedError';
  }

  /** `details[0].reason`: `logout`, `admin`, `reuse_detected`, `signed_out_elsewhere`, `idle`, `absolute`; null when absent. */
  get reason(): string | null {
    const reason = this.details[0]?.['reason'];
    return typeof reason === 'string' ? reason : null;
  }
}

/**
 * A refresh could not reach the server or got no usable answer (network error, timeout, 5xx, 429).
 * The session is kept and the SDK retries with backoff; `cause` holds what went wrong.
 *
 * @example
 * ```ts
 * if (err instanceof SilentAuthFailedError) retryLater(err.retryAfter ?? 5);
 * ```
 */
export class SilentAuthFailedError extends TesseraError {
  declare readonly code: 'silent_auth_failed';

  constructor(options: TesseraErrorOptions = {}) {
    super('silent_auth_failed', options);
    this.name = 'SilentAuthFailedError';
  }
}
