import type { FastifyRequest } from 'fastify';
import { TesseraError } from '../core/errors.js';
import type { Tessera } from '../tessera.js';

/** The bearer credential of the request: undefined when there is none, '' when the header is malformed. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header === '') return undefined;
  const match = /^Bearer[ ]+(.*)$/i.exec(header);
  if (!match) return undefined;
  return match[1]!.trim();
}

/** Throws `api_key_invalid` unless the request carries an accepted management API key; returns the key. */
export function requireApiKey(tessera: Tessera, request: FastifyRequest): string {
  const key = bearerToken(request);
  if (!key || !tessera.apiKeys.accepts(key)) throw new TesseraError('api_key_invalid');
  return key;
}

/** Authenticates the end user's access token and returns its live session. */
export async function requireSession(tessera: Tessera, request: FastifyRequest) {
  const token = bearerToken(request);
  if (token === undefined) throw new TesseraError('token_missing');
  if (token === '') throw new TesseraError('token_invalid', { details: [{ reason: 'empty bearer token' }] });
  return tessera.sessions.authenticate(token);
}
