import { accessTokenCredentialOf } from '@tessera/verifier/core';
import type { FastifyRequest } from 'fastify';
import type { ApiKeys } from '../core/api-keys.js';
import { TesseraError } from '../core/errors.js';
import type { Actor } from '../core/journal.js';
import type { SessionService, TokenPresentation } from '../core/sessions.js';
import { dpopRequest } from './dpop.js';
import { clientSubject, type RequestRateLimits } from './rate-limits.js';

/** The bearer credential of the request: undefined when there is none, '' when the header is malformed. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header === '') return undefined;
  const match = /^Bearer[ ]+(.*)$/i.exec(header);
  if (!match) return undefined;
  return match[1]!.trim();
}

/** The name of the API key each authenticated request came with: its actor in the audit trail. */
const apiKeyNames = new WeakMap<FastifyRequest, string>();

/**
 * Throws `api_key_invalid` unless the request carries an accepted management API key; returns the
 * key (and remembers its name for `apiKeyActor`). Failures count per client address; past
 * `api_key_failures_per_ip` every attempt from that address is `rate_limited` until the window ends,
 * a right key included, so guessing learns nothing.
 */
export async function requireApiKey(apiKeys: Pick<ApiKeys, 'nameOf'>, request: FastifyRequest, limits: RequestRateLimits): Promise<string> {
  const client = clientSubject(request.ip);
  limits.refuseIfBlocked('api_key_failures_per_ip', client);
  const key = bearerToken(request);
  const name = key ? apiKeys.nameOf(key) : undefined;
  if (key && name !== undefined) {
    apiKeyNames.set(request, name);
    return key;
  }
  await limits.enforce('api_key_failures_per_ip', client);
  throw new TesseraError('api_key_invalid');
}

/** Who made a change through the management API: the API key the request was accepted with, by name. */
export function apiKeyActor(request: FastifyRequest): Actor {
  const name = apiKeyNames.get(request);
  if (name === undefined) throw new Error('apiKeyActor before requireApiKey accepted the request');
  return { type: 'api_key', id: name };
}

/**
 * Authenticates the end user's access token and returns its live session. A token bound to a DPoP
 * key comes as `Authorization: DPoP` with a proof of that key for this request; as a bearer token it is refused.
 */
export async function requireSession(sessions: Pick<SessionService, 'authenticate'>, request: FastifyRequest, issuer: string) {
  // The verifier's reading of the header: `Bearer` or `DPoP`, the scheme in any case.
  const credential = accessTokenCredentialOf(request.headers.authorization);
  if (credential === undefined) throw new TesseraError('token_missing');
  if (credential.token === '') throw new TesseraError('token_invalid', { details: [{ reason: 'empty bearer token' }] });
  const presented: TokenPresentation = credential.scheme === 'dpop' ? { scheme: 'dpop', dpop: dpopRequest(request, issuer) } : { scheme: 'bearer' };
  return sessions.authenticate(credential.token, presented);
}
