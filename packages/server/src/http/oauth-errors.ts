import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, type OAuthErrorCode, oauthErrorOf } from '../core/error-catalogue.js';
import { TesseraError, type TesseraErrorOptions } from '../core/errors.js';
import { errorEnvelope } from './envelope.js';

export type { OAuthErrorCode };

/** A catalogue error whose OAuth `error` cannot be derived from its code (unsupported grant type, …). */
export class OAuthRequestError extends TesseraError {
  readonly oauthCode: OAuthErrorCode;

  constructor(oauthCode: OAuthErrorCode, code: ErrorCode, options: TesseraErrorOptions = {}) {
    super(code, options);
    this.oauthCode = oauthCode;
  }
}

/** The OAuth `error` for a catalogue error: the catalogue's `oauthError`, unless the route named another. */
export function oauthErrorCode(error: TesseraError): OAuthErrorCode {
  if (error instanceof OAuthRequestError) return error.oauthCode;
  // RFC 9449 §8: a proof without the server's current nonce asks the client to retry with it.
  if (error.code === 'dpop_proof_invalid' && error.details[0]?.['reason'] === 'nonce') return 'use_dpop_nonce';
  return oauthErrorOf(error.code);
}

/** RFC 6749 §5.2 statuses: 400 for the request's own errors, 401 for client authentication. */
function oauthStatus(oauthCode: OAuthErrorCode, error: TesseraError): number {
  if (oauthCode === 'invalid_client') return 401;
  // RFC 9449 §5 and §8: the token endpoint's DPoP errors are errors of the request (RFC 6749 §5.2).
  if (oauthCode === 'invalid_grant' || oauthCode === 'invalid_dpop_proof' || oauthCode === 'use_dpop_nonce') return 400;
  return error.status;
}

/** The OAuth `error` and the status `sendOAuthError` answers a catalogue error with (for the OpenAPI document too). */
export function oauthAnswerOf(error: TesseraError): { error: OAuthErrorCode; status: number } {
  const oauthCode = oauthErrorCode(error);
  return { error: oauthCode, status: oauthStatus(oauthCode, error) };
}

/** `error_description` may hold only printable ASCII without `"` and `\` (RFC 6749 §5.2). */
function describe(message: string): string {
  return message.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, ' ');
}

/**
 * Sends an RFC 6749 §5.2 error: `error` is the OAuth code, `tessera_error` the catalogue code, and
 * the envelope's other fields ride along so Tessera-aware callers lose nothing.
 */
export function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: TesseraError, baseUrl: string, now: number) {
  const { error: oauthCode, status } = oauthAnswerOf(error);
  const envelope = errorEnvelope(error, request.id, baseUrl, now);
  if (error.retryAfter !== null) reply.header('retry-after', String(error.retryAfter));
  if (oauthCode === 'invalid_client') reply.header('www-authenticate', 'Basic realm="tessera"');
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ ...envelope, error: oauthCode, error_description: describe(error.message), tessera_error: error.code });
}
