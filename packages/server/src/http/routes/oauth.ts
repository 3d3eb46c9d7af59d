import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TesseraConfig } from '../../config.js';
import type { ApiKeys } from '../../core/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { sessionEndingCodes } from '../../core/error-catalogue.js';
import { TesseraError } from '../../core/errors.js';
import { OAuthClients, type PresentedClient } from '../../core/oauth-clients.js';
import { sessionEnd } from '../../core/session.js';
import type { SessionService } from '../../core/sessions.js';
import type { SessionStore } from '../../core/store.js';
import { type ActiveToken, TokenIntrospection } from '../../core/token-introspection.js';
import { IntrospectionAnswer, OAuthTokenAnswer, OAuthTokenForm, OAuthTokenOnlyForm } from '../answer-schemas.js';
import { bearerToken, requireApiKey } from '../auth.js';
import { requestDevice } from '../devices.js';
import { dpopRequest } from '../dpop.js';
import { docsBaseUrl } from '../envelope.js';
import { OAuthRequestError, sendOAuthError } from '../oauth-errors.js';
import type { RouteDocs } from '../openapi.js';
import { clientSubject, type RequestRateLimits, secretSubject } from '../rate-limits.js';

type ToTesseraError = (error: FastifyError) => TesseraError;

export interface OAuthRouteOptions {
  readonly sessions: SessionService;
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly issuer: string;
  /** The `client_id` and `aud` of the tokens introspected, and the clients allowed to call. */
  readonly config: Pick<TesseraConfig, 'clientId' | 'audience' | 'oauthClients'>;
  readonly apiKeys: Pick<ApiKeys, 'nameOf'>;
  readonly limits: RequestRateLimits;
  /** How the app maps a thrown error to a catalogue one, before it leaves here as an RFC 6749 error. */
  readonly toTesseraError: ToTesseraError;
}

/**
 * RFC 6749 §6 refresh, RFC 7009 revocation and RFC 7662 introspection. Form-encoded bodies are
 * accepted here and nowhere else, and failures leave as RFC 6749 §5.2 errors.
 */
export const oauthRoutes: FastifyPluginAsync<OAuthRouteOptions> = async (app, { sessions, store, clock, issuer, config, apiKeys, limits, toTesseraError }) => {
  const clients = new OAuthClients(config.oauthClients);
  const introspection = new TokenIntrospection({ sessions, store, clock });

  await app.register(async (oauth) => {
    oauth.removeAllContentTypeParsers();
    oauth.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, new URLSearchParams(body as string));
    });
    oauth.setErrorHandler((error: FastifyError, request, reply) => {
      const tesseraError = toTesseraError(error);
      if (tesseraError.code === 'internal_error') request.log.error({ err: error, request_id: request.id }, 'internal error');
      return sendOAuthError(request, reply, tesseraError, docsBaseUrl(issuer), clock.now());
    });

    // The same refresh limits as /v1/token/refresh: per client IP before the body is read, then per refresh token.
    const perIp = async (request: FastifyRequest) => limits.enforce('refresh_per_ip', clientSubject(request.ip));
    oauth.post('/oauth/token', { onRequest: perIp, config: { docs: docs.token } }, async (request, reply) => {
      const params = formParams(request);
      clients.authenticate(presentedClient(request, params));
      const grantType = required(params, 'grant_type');
      if (grantType !== 'refresh_token') {
        throw new OAuthRequestError('unsupported_grant_type', 'invalid_request', {
          message: 'Only grant_type=refresh_token is supported.',
          details: [{ field: 'grant_type', message: 'must be refresh_token' }],
        });
      }
      const refreshToken = required(params, 'refresh_token');
      await limits.enforce('refresh_per_token', secretSubject(refreshToken));
      const grant = await sessions.refreshSession(refreshToken, requestDevice(request), dpopRequest(request, issuer));
      reply.header('pragma', 'no-cache');
      return {
        access_token: grant.accessToken,
        // RFC 9449 §5: a token bound to the proof's key is a DPoP token.
        token_type: grant.session.dpopJkt ? 'DPoP' : 'Bearer',
        expires_in: Math.max(0, Math.floor((grant.accessTokenExpiresAt - clock.now()) / 1000)),
        refresh_token: grant.refreshToken,
      };
    });

    // Anyone may revoke a token they hold, unauthenticated, and each is a store lookup: limited per client IP, before the body.
    const revokePerIp = async (request: FastifyRequest) => limits.enforce('revoke_per_ip', clientSubject(request.ip));
    oauth.post('/oauth/revoke', { onRequest: revokePerIp, config: { docs: docs.revoke } }, async (request, reply) => {
      const params = formParams(request);
      clients.authenticate(presentedClient(request, params));
      await introspection.revoke(required(params, 'token'));
      // RFC 7009 §2.2: 200 whether or not the token was known.
      return reply.code(200).send();
    });

    oauth.post('/oauth/introspect', { config: { docs: docs.introspect } }, async (request) => {
      const params = formParams(request);
      await requireIntrospectionCaller(request, params);
      const active = await introspection.activeToken(required(params, 'token'));
      return active ? activeTokenJson(active) : { active: false };
    });
  });

  /** API key (bearer, counted as a management call of that key) or a confidential client's credentials; public clients may not introspect. */
  async function requireIntrospectionCaller(request: FastifyRequest, params: URLSearchParams): Promise<void> {
    if (bearerToken(request) !== undefined) {
      const apiKey = await requireApiKey(apiKeys, request, limits);
      await limits.enforce('management_per_key', secretSubject(apiKey));
      return;
    }
    const client = clients.authenticate(presentedClient(request, params));
    if (!client.confidential) {
      throw new TesseraError('client_invalid', {
        details: [{ reason: 'introspection needs the API key (Bearer) or a confidential client (Basic)' }],
      });
    }
  }

  function activeTokenJson(active: ActiveToken) {
    const common = { active: true, sub: active.session.userId, sid: active.session.id, flow: active.session.flow };
    // RFC 9449 §6.2: a token bound to a DPoP key is introspected with its key's thumbprint.
    if (active.kind === 'access_token') {
      const { claims } = active;
      const jkt = claims.cnf?.jkt;
      return {
        ...common,
        // The token's own binding: one issued before its session was bound is still a bearer token.
        ...(jkt ? { token_type: 'DPoP', cnf: { jkt } } : { token_type: 'Bearer' }),
        exp: claims.exp,
        iat: claims.iat,
        client_id: claims.client_id,
        iss: claims.iss,
        aud: claims.aud,
        jti: claims.jti,
      };
    }
    const { dpopJkt } = active.session;
    return {
      ...common,
      ...(dpopJkt ? { cnf: { jkt: dpopJkt } } : {}),
      token_type: 'refresh_token',
      exp: Math.floor(sessionEnd(active.session) / 1000),
      iat: Math.floor(active.issuedAt / 1000),
      client_id: config.clientId,
      iss: issuer,
      aud: config.audience,
    };
  }
};

const docs = {
  token: {
    summary: 'RFC 6749 §6 refresh (`grant_type=refresh_token`)',
    tag: 'OAuth',
    auth: 'oauth_client',
    form: OAuthTokenForm,
    answer: { status: 200, description: 'RFC 6749 §5.1 token answer.', schema: OAuthTokenAnswer },
    errors: [...sessionEndingCodes, 'rate_limited'],
    oauthErrors: [{ error: 'unsupported_grant_type', code: 'invalid_request' }],
  },
  revoke: {
    summary: 'RFC 7009 token revocation',
    tag: 'OAuth',
    auth: 'oauth_client',
    form: OAuthTokenOnlyForm,
    answer: { status: 200, description: 'Revoked, or the token was unknown (RFC 7009 §2.2: the same answer).' },
    errors: ['rate_limited'],
  },
  introspect: {
    summary: 'RFC 7662 token introspection',
    tag: 'OAuth',
    auth: 'introspection',
    form: OAuthTokenOnlyForm,
    answer: { status: 200, description: 'Whether the token is active, and its claims when it is.', schema: IntrospectionAnswer },
  },
} satisfies Record<string, RouteDocs>;

/** The form body; a bodyless POST is an empty form. RFC 6749 §3.2: no parameter twice. */
function formParams(request: FastifyRequest): URLSearchParams {
  const params = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) {
      throw new TesseraError('invalid_request', { message: `The parameter ${name} is repeated.`, details: [{ field: name, message: 'must appear once' }] });
    }
    seen.add(name);
  }
  return params;
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new TesseraError('invalid_request', { message: `The parameter ${name} is missing.`, details: [{ field: name, message: 'is required' }] });
  }
  return value;
}

/** HTTP Basic (RFC 6749 §2.3.1: id and secret are form-urlencoded before base64) and the `client_id` parameter. */
function presentedClient(request: FastifyRequest, params: URLSearchParams): PresentedClient {
  const clientId = params.get('client_id') ?? undefined;
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (typeof header === 'string' && /^Basic\b/i.test(header) && !match) {
    throw new TesseraError('client_invalid', { details: [{ reason: 'malformed Basic credentials' }] });
  }
  if (!match) return clientId === undefined ? {} : { clientId };
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new TesseraError('client_invalid', { details: [{ reason: 'malformed Basic credentials' }] });
  const basic = { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  return clientId === undefined ? { basic } : { basic, clientId };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new TesseraError('client_invalid', { details: [{ reason: 'malformed Basic credentials' }] });
  }
}
