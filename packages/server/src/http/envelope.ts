import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { authenticateChallenges } from '@tessera/verifier/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorEnvelope } from '../core/error-envelope.js';
import type { TesseraError } from '../core/errors.js';

// The envelope itself is Fastify-free, below both edges (the realtime socket sends it too); re-exported for existing imports.
export { docsBaseUrl, errorEnvelope } from '../core/error-envelope.js';

/** Sends the envelope for any `TesseraError`, with its headers. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: TesseraError, baseUrl: string, now: number) {
  if (error.retryAfter !== null) reply.header('retry-after', String(error.retryAfter));
  const challenges = authenticateChallenges(error);
  if (challenges !== undefined) reply.header('www-authenticate', challenges);
  reply.header('cache-control', 'no-store');
  return reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send(errorEnvelope(error, request.id, baseUrl, now));
}

/**
 * Answers a request Node's HTTP server refused before Fastify answered it (bad header bytes, headers
 * too large, a request that took too long): still the envelope, then the connection closes.
 */
export function sendRawClientError(socket: Duplex, error: TesseraError, requestId: string, baseUrl: string, now: number): void {
  // Half an answer already went out: anything written now would corrupt it.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorEnvelope(error, requestId, baseUrl, now));
  // Once the answer is out the socket goes, whether or not the client closes its half.
  socket.once('finish', () => socket.destroy());
  socket.end(
    [
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Request-Id: ${requestId}`,
      'Cache-Control: no-store',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
