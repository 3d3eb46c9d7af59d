import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../core/error-catalogue.js';
import { TesseraError, type TesseraErrorOptions } from '../core/errors.js';
import { errorEnvelope } from './envelope.js';

/** The `error` values of RFC 6749 §5.2, RFC 7009 §2.2.1 and RFC 7662 that Tessera sends. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'unsupported_token_type'
  | 'temporarily_unavailable'
  | 'server_error';

/** A catalogue error whose OAuth `error` cannot be derived from its code (unsupported grant type, …). */
export class OAuthRequestError extends TesseraError {
  readonly oauthCode: OAuthErrorCode;

  constructor(oauthCode: OAuthErrorCode, code: ErrorCode, options: TesseraErrorOptions = {}) {
    super(code, options);
    this.oauthCode = oauthCode;
  }
}

/** The OAuth `error` for a catalogue error. */
export function oauthErrorCode(error: TesseraError): OAuthErrorCode {
  if (error instanceof OAuthRequestError) return error.oauthCode;
  switch (error.code) {
    case 'session_expired':
    case 'session_revoked':
    case 'session_not_found':
      return 'invalid_grant';
    case 'client_invalid':
    case 'api_key_invalid':
      return 'invalid_client';
    case 'rate_limited':
    case 'service_unavailable':
      return 'temporarily_unavailable';
    case 'internal_error':
      return 'server_error';
    default:
      return 'invalid_request';
  }
}

/** RFC 6749 §5.2 statuses: 400 for the request's own errors, 401 for client authentication. */
function oauthStatus(oauthCode: OAuthErrorCode, error: TesseraError): number {
  if (oauthCode === 'invalid_client') return 401;
  if (oauthCode === 'invalid_grant') return 400;
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
