import { type TesseraErrorCode, tesseraErrorCodes } from './error-codes.js';
import { isSessionEndCode, SessionEndedError, TesseraError } from './errors.js';

/** The error body every non-2xx Tessera response carries. */
export interface ErrorEnvelope {
  readonly success: false;
  readonly error: TesseraErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown>[];
  readonly retry_after: number | null;
  readonly doc_url?: string;
  readonly request_id?: string;
  readonly timestamp?: string;
}

/** Whether `body` is a Tessera error envelope with a code from the catalogue (an app's own errors are not). */
export function isErrorEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null) return false;
  const candidate = body as Record<string, unknown>;
  return (
    candidate['success'] === false &&
    typeof candidate['error'] === 'string' &&
    (tesseraErrorCodes as readonly string[]).includes(candidate['error']) &&
    typeof candidate['message'] === 'string'
  );
}

/**
 * The envelope of a response, or null when it has none (an HTML error page, an app's own JSON).
 * Reads a clone, so the caller's response body stays unread.
 */
export async function readErrorEnvelope(response: Response): Promise<ErrorEnvelope | null> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) return null;
  try {
    const body: unknown = await response.clone().json();
    return isErrorEnvelope(body) ? body : null;
  } catch {
    return null;
  }
}

/** The error an envelope stands for: a `SessionEndedError` for the codes that end a session. */
export function errorFromEnvelope(envelope: ErrorEnvelope, status: number, retryAfterHeader: string | null = null): TesseraError {
  const options = {
    message: envelope.message,
    status,
    details: Array.isArray(envelope.details) ? envelope.details : [],
    retryAfter: retryAfterSeconds(envelope.retry_after, retryAfterHeader),
    requestId: envelope.request_id ?? null,
    docUrl: envelope.doc_url ?? null,
  };
  if (isSessionEndCode(envelope.error)) return new SessionEndedError(envelope.error, options);
  return new TesseraError(envelope.error, options);
}

/** Seconds to wait: the envelope's `retry_after`, else a numeric `Retry-After` header, else null. */
export function retryAfterSeconds(fromBody: unknown, header: string | null): number | null {
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  if (header === null) return null;
  const seconds = Number(header.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}
