import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { CookieConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { endsSession } from '../../core/error-catalogue.js';
import { TesseraError } from '../../core/errors.js';
import type { SessionService, TokenGrant } from '../../core/sessions.js';
import { CurrentSessionAnswer, GrantAnswer, LogoutAnswer, LogoutOthersAnswer, OwnSessionsAnswer } from '../answer-schemas.js';
import { requireSession } from '../auth.js';
import type { CorsPolicy } from '../cors.js';
import { requestDevice } from '../devices.js';
import { dpopRequest } from '../dpop.js';
import type { RouteDocs } from '../openapi.js';
import { clientSubject, type RequestRateLimits, secretSubject } from '../rate-limits.js';
import { RefreshCookie, requireCsrfProof } from '../refresh-cookie.js';
import { grantJson, sessionJson, withoutRefreshToken } from '../representation.js';
import { OptionalRefreshBody, RefreshBody, SessionIdParams } from '../schemas.js';

export interface EndUserRouteOptions {
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly issuer: string;
  /** Cookie mode, when enabled: refresh tokens in an HttpOnly cookie. */
  readonly cookie: CookieConfig;
  readonly cors: CorsPolicy;
  readonly limits: RequestRateLimits;
}

/** What the end user's client calls with its own tokens, no API key; browsers may call it cross-origin. */
export const endUserRoutes: FastifyPluginAsync<EndUserRouteOptions> = async (app, { sessions, clock, issuer, cookie: cookieConfig, cors, limits }) => {
  const cookie = cookieConfig.enabled ? new RefreshCookie(cookieConfig) : undefined;
  const browser = { onRequest: cors.addCorsHeaders };
  const refreshDocs: RouteDocs = {
    ...docs.refresh,
    // Cookie mode: a refresh may come with the cookie alone, which needs the CSRF header and a listed origin.
    errors: cookie ? ['dpop_proof_invalid', 'token_missing', 'csrf_failed', 'origin_not_allowed'] : ['dpop_proof_invalid'],
  };

  cors.allowBrowserCalls(app, '/v1/token/refresh', ['POST']);
  app.post<{ Body: Static<typeof OptionalRefreshBody> }>(
    '/v1/token/refresh',
    {
      schema: { body: cookie ? OptionalRefreshBody : RefreshBody },
      config: { docs: refreshDocs },
      // Per client IP before the body is even read: a flood costs as little as possible.
      onRequest: [cors.addCorsHeaders, async (request) => limits.enforce('refresh_per_ip', clientSubject(request.ip))],
      // In cookie mode a bodyless refresh is normal: the token is in the cookie.
      ...(cookie ? { preValidation: async (request: FastifyRequest) => void (request.body ??= {}) } : {}),
    },
    async (request, reply) => {
      const presented = presentedRefreshToken(request, cookie, () => requireCsrfProof(request, cors, issuer));
      await limits.enforce('refresh_per_token', secretSubject(presented.token));
      let grant: TokenGrant;
      try {
        grant = await sessions.refreshSession(presented.token, requestDevice(request), dpopRequest(request, issuer));
      } catch (error) {
        if (cookie && presented.from === 'cookie' && isSessionEnd(error)) cookie.clear(reply);
        throw error;
      }
      const now = clock.now();
      if (!cookie) return grantJson(grant, now);
      cookie.set(reply, grant, now);
      return cookieConfig.refreshTokenInBody ? grantJson(grant, now) : withoutRefreshToken(grantJson(grant, now));
    },
  );

  cors.allowBrowserCalls(app, '/v1/session', ['GET']);
  app.get('/v1/session', { ...browser, config: { docs: docs.currentSession } }, async (request) => {
    const { session } = await requireSession(sessions, request, issuer);
    const now = clock.now();
    return { session: sessionJson(session, now), server_time: new Date(now).toISOString() };
  });

  cors.allowBrowserCalls(app, '/v1/session/logout', ['POST']);
  app.post('/v1/session/logout', { ...browser, config: { docs: docs.logout } }, async (request, reply) => {
    const { session } = await endingCookieWithSession(reply, cookie, requireSession(sessions, request, issuer));
    const revoked = (await sessions.revokeSession(session.id, 'logout', { type: 'user', id: session.userId })) ?? session;
    cookie?.clear(reply);
    return { session: sessionJson(revoked, clock.now()) };
  });

  cors.allowBrowserCalls(app, '/v1/session/logout-others', ['POST']);
  app.post('/v1/session/logout-others', { ...browser, config: { docs: docs.logoutOthers } }, async (request) => {
    const { session } = await requireSession(sessions, request, issuer);
    const revoked = await sessions.revokeOtherSessions(session, 'signed_out_elsewhere');
    return { revoked: revoked.length, session_ids: revoked.map((other) => other.id) };
  });

  // "Your devices": the user's own sessions, and ending one of them.
  cors.allowBrowserCalls(app, '/v1/session/sessions', ['GET']);
  app.get('/v1/session/sessions', { ...browser, config: { docs: docs.ownSessions } }, async (request) => {
    const { session } = await requireSession(sessions, request, issuer);
    const own = await sessions.listOwnSessions(session);
    const now = clock.now();
    return { sessions: own.map((other) => ({ ...sessionJson(other, now), current: other.id === session.id })) };
  });

  cors.allowBrowserCalls(app, '/v1/session/sessions/:id', ['DELETE']);
  app.delete<{ Params: Static<typeof SessionIdParams> }>(
    '/v1/session/sessions/:id',
    { ...browser, schema: { params: SessionIdParams }, config: { docs: docs.endOwnSession } },
    async (request) => {
      const { session } = await requireSession(sessions, request, issuer);
      const ended = await sessions.revokeOwnSession(session, request.params.id);
      return { session: sessionJson(ended, clock.now()) };
    },
  );
};

const docs = {
  refresh: {
    summary: 'Refresh: spend the refresh token for a new pair',
    description:
      "The old refresh token is spent. Presented again within the flow's `reuse_interval` it returns the same successor pair; after it, the session is revoked (`reuse_detected`). In a flow with `dpop`, a `DPoP` header proof (RFC 9449) for `POST` and this URL binds the session to its key on the first refresh (or `dpop_jkt` did at sign-in); a bound session's refreshes need that key's proof, and its access tokens carry `cnf.jkt`.",
    tag: 'End user',
    auth: 'refresh_token',
    answer: { status: 200, description: 'The new token pair (in cookie mode the refresh token also, or only, in the cookie).', schema: GrantAnswer },
  },
  currentSession: {
    summary: 'The session of this access token',
    tag: 'End user',
    auth: 'access_token',
    answer: { status: 200, description: 'The live session.', schema: CurrentSessionAnswer },
  },
  logout: {
    summary: 'Sign out: revoke this session (reason `logout`)',
    tag: 'End user',
    auth: 'access_token',
    answer: { status: 200, description: 'The revoked session.', schema: LogoutAnswer },
  },
  logoutOthers: {
    summary: "Revoke the user's other sessions (reason `signed_out_elsewhere`)",
    tag: 'End user',
    auth: 'access_token',
    answer: { status: 200, description: 'How many sessions were revoked, and their ids.', schema: LogoutOthersAnswer },
  },
  ownSessions: {
    summary: 'The user\'s own active sessions, for a "your devices" page',
    description: 'Each `SESSION` with its `device` and `last_seen_at`; `current` marks the session of this access token.',
    tag: 'End user',
    auth: 'access_token',
    answer: { status: 200, description: 'The active sessions of the same user, newest first.', schema: OwnSessionsAnswer },
  },
  endOwnSession: {
    summary: 'End one of your own sessions ("sign out that device")',
    description:
      'Reason `signed_out_elsewhere` (`logout` for the session of this access token). A session of another user is `not_found`, as is an unknown id; one that had already ended is answered as it is.',
    tag: 'End user',
    auth: 'access_token',
    answer: { status: 200, description: 'The session, revoked.', schema: LogoutAnswer },
    errors: ['not_found'],
  },
} satisfies Record<string, RouteDocs>;

/**
 * The refresh token of a refresh request. The body wins over the cookie: a page that hands over a
 * token explicitly (the first refresh after sign-in, which moves it into the cookie) means that one,
 * whatever stale cookie the browser still holds. Only the cookie, sent by the browser on its own,
 * needs the CSRF proof. In cookie mode, neither is `token_missing`: a browser whose cookie is gone
 * (cleared, expired, blocked) made no malformed call, it has no credentials left and must sign in.
 */
function presentedRefreshToken(
  request: FastifyRequest<{ Body: Static<typeof OptionalRefreshBody> }>,
  cookie: RefreshCookie | undefined,
  requireCsrf: () => void,
): { token: string; from: 'body' | 'cookie' } {
  const fromBody = request.body?.refresh_token;
  if (fromBody !== undefined) return { token: fromBody, from: 'body' };
  if (!cookie) {
    // Without cookie mode the schema has already required the body token: this only says so to the types.
    throw new TesseraError('invalid_request', { details: [{ field: 'refresh_token', message: 'is required', in: 'body' }] });
  }
  const fromCookie = cookie.read(request);
  if (fromCookie === undefined) {
    throw new TesseraError('token_missing', {
      message: 'No refresh token was presented. Please sign in.',
      details: [{ field: 'refresh_token', message: `no refresh_token in the body and no ${cookie.name} cookie`, in: 'cookie' }],
    });
  }
  requireCsrf();
  return { token: fromCookie, from: 'cookie' };
}

/** Answers that mean the session is over: a refresh cookie for it is useless from then on. */
function isSessionEnd(error: unknown): boolean {
  return error instanceof TesseraError && endsSession(error.code);
}

/** Logout of a session that already ended still drops the refresh cookie: it can never be used again. */
async function endingCookieWithSession<T>(reply: FastifyReply, cookie: RefreshCookie | undefined, authenticated: Promise<T>): Promise<T> {
  try {
    return await authenticated;
  } catch (error) {
    if (cookie && isSessionEnd(error)) cookie.clear(reply);
    throw error;
  }
}
