import type { FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../core/errors.js';

/** The base of doc URLs: the host the caller reached, when it looks like a host, else the issuer. */
export function publicBaseUrl(request: FastifyRequest, fallback: string): string {
  const host = request.host;
  if (typeof host === 'string' && /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) {
    return `${request.protocol}://${host}`;
  }
  return fallback.replace(/\/+$/, '');
}

/** The error envelope of the contract, with its headers, for any `TesseraError`. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: TesseraError, baseUrl: string, now: number) {
  if (error.retryAfter !== null) reply.header('retry-after', String(error.retryAfter));
  if (error.status === 401) reply.header('www-authenticate', 'Bearer error="invalid_token"');
  reply.header('cache-control', 'no-store');
  return reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send({
      success: false,
      error: error.code,
      message: error.message,
      details: error.details,
      retry_after: error.retryAfter,
      doc_url: `${baseUrl}/docs/errors/${error.code}`,
      request_id: request.id,
      timestamp: new Date(now).toISOString(),
    });
}
