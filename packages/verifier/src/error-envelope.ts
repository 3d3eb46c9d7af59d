import type { TesseraError } from './errors.js';

/** The error envelope of the contract. */
export function errorEnvelope(error: TesseraError, requestId: string, baseUrl: string, now: number) {
  return {
    success: false as const,
    error: error.code,
    message: error.message,
    details: error.details,
    retry_after: error.retryAfter,
    doc_url: `${baseUrl}/docs/errors/${error.code}`,
    request_id: requestId,
    timestamp: new Date(now).toISOString(),
  };
}
