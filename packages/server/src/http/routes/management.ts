import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { ApiKeys } from '../../core/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { TesseraError } from '../../core/errors.js';
import type { RevocationFeed } from '../../core/revocation-feed.js';
import { parseCursor } from '../../core/revocation-feed.js';
import type { SessionService } from '../../core/sessions.js';
import { GrantAnswer, RevocationPageAnswer, RevokedSessionsAnswer, SessionAnswer, UserSessionsAnswer } from '../answer-schemas.js';
import { apiKeyActor, requireApiKey } from '../auth.js';
import { bodyDevice } from '../devices.js';
import type { RouteDocs } from '../openapi.js';
import { type RequestRateLimits, secretSubject } from '../rate-limits.js';
import { grantJson, revocationPageJson, sessionJson } from '../representation.js';
import { CreateSessionBody, RevocationsQuery, SessionIdParams, UserIdParams, UserSessionsQuery } from '../schemas.js';
import { userSessionsPageJson } from '../user-sessions.js';

export interface ManagementRouteOptions {
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly revocations: RevocationFeed;
  readonly apiKeys: Pick<ApiKeys, 'nameOf'>;
  readonly limits: RequestRateLimits;
}

/**
 * The management API: the app's backend starts, inspects and revokes sessions with its API key.
 * Never CORS-enabled: API keys do not belong in browsers.
 */
export const managementRoutes: FastifyPluginAsync<ManagementRouteOptions> = async (app, { sessions, clock, revocations, apiKeys, limits }) => {
  // Reads waiting for a revocation end when the server closes, instead of holding the close up.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  app.register(async (scope) => {
    // Limited per accepted key; failed attempts are limited per client address inside requireApiKey.
    scope.addHook('onRequest', async (request) => limits.enforce('management_per_key', secretSubject(await requireApiKey(apiKeys, request, limits))));

    scope.post<{ Body: Static<typeof CreateSessionBody> }>(
      '/v1/sessions',
      { schema: { body: CreateSessionBody }, config: { docs: docs.createSession } },
      async (request, reply) => {
        const { user_id, flow, metadata, device, dpop_jkt } = request.body;
        if (metadata !== undefined && jsonDepth(metadata) > maxMetadataDepth) {
          throw new TesseraError('invalid_request', {
            details: [{ field: 'metadata', message: `must be nested at most ${maxMetadataDepth} levels deep` }],
          });
        }
        const grant = await sessions.createSession({
          userId: user_id,
          flow,
          metadata,
          device: bodyDevice(device),
          actor: apiKeyActor(request),
          ...(dpop_jkt !== undefined ? { dpopJkt: dpop_jkt } : {}),
        });
        return reply.code(201).send(grantJson(grant, clock.now()));
      },
    );

    scope.get<{ Params: Static<typeof SessionIdParams> }>(
      '/v1/sessions/:id',
      { schema: { params: SessionIdParams }, config: { docs: docs.getSession } },
      async (request) => {
        const session = await sessions.getSession(request.params.id);
        if (!session) throw new TesseraError('not_found', { message: 'No session with this id.' });
        return sessionJson(session, clock.now());
      },
    );

    scope.delete<{ Params: Static<typeof SessionIdParams> }>(
      '/v1/sessions/:id',
      { schema: { params: SessionIdParams }, config: { docs: docs.revokeSession } },
      async (request) => {
        const { id } = request.params;
        const session = (await sessions.revokeSession(id, 'admin', apiKeyActor(request))) ?? (await sessions.getSession(id));
        if (!session) throw new TesseraError('not_found', { message: 'No session with this id.' });
        return sessionJson(session, clock.now());
      },
    );

    scope.get<{ Params: Static<typeof UserIdParams>; Querystring: Static<typeof UserSessionsQuery> }>(
      '/v1/users/:user_id/sessions',
      { schema: { params: UserIdParams, querystring: UserSessionsQuery }, config: { docs: docs.listUserSessions } },
      async (request) => userSessionsPageJson(sessions, request.params.user_id, request.query, () => clock.now()),
    );

    scope.delete<{ Params: Static<typeof UserIdParams> }>(
      '/v1/users/:user_id/sessions',
      { schema: { params: UserIdParams }, config: { docs: docs.revokeUserSessions } },
      async (request) => {
        const revoked = await sessions.revokeUserSessions(request.params.user_id, 'admin', apiKeyActor(request));
        const now = clock.now();
        return { revoked: revoked.length, sessions: revoked.map((session) => sessionJson(session, now)) };
      },
    );
  });

  // The revocation feed, with the key but outside its rate limit: resource servers keep one read open
  // each, and a busy stretch of revocations (answered in gathered batches) must not use up the budget
  // the app's backend needs for sign-ins.
  app.register(async (feed) => {
    feed.addHook('onRequest', async (request) => void (await requireApiKey(apiKeys, request, limits)));

    feed.get<{ Querystring: Static<typeof RevocationsQuery> }>(
      '/v1/revocations',
      { schema: { querystring: RevocationsQuery }, config: { docs: docs.revocations, longPoll: true } },
      async (request, reply) => {
        const cursor = request.query.cursor === undefined ? null : parseCursor(request.query.cursor);
        if (cursor === null && request.query.cursor !== undefined) {
          throw new TesseraError('invalid_request', { details: [{ field: 'cursor', message: 'must be a cursor from an earlier answer' }] });
        }
        const waitMs = Number(request.query.wait ?? 0) * 1000;
        // A reader that goes away, or the server closing, ends the wait at once. Plain listeners, removed
        // when done: nothing of a finished read stays attached to the long-lived closing signal.
        const stop = new AbortController();
        const abort = () => stop.abort();
        reply.raw.once('close', abort);
        closing.signal.addEventListener('abort', abort, { once: true });
        try {
          const page = await revocations.read(cursor, waitMs, stop.signal);
          return revocationPageJson(page, clock.now());
        } finally {
          closing.signal.removeEventListener('abort', abort);
        }
      },
    );
  });
};

const docs = {
  createSession: {
    summary: 'Start a session',
    description:
      'An unknown `flow` or a `user_id` the server does not take is `invalid_request`. `device` is the signing-in browser as the backend saw it (`user_agent`, `ip`); refreshes from the device update it.',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 201, description: 'The new session and its first token pair.', schema: GrantAnswer },
  },
  getSession: {
    summary: 'Read a session, whatever its status',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'The session.', schema: SessionAnswer },
    errors: ['not_found'],
  },
  revokeSession: {
    summary: 'Revoke a session (reason `admin`)',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'The session, revoked (or as it already was when it had ended).', schema: SessionAnswer },
    errors: ['not_found'],
  },
  listUserSessions: {
    summary: "List a user's sessions",
    tag: 'Management',
    auth: 'api_key',
    description:
      'Newest first, a page at a time: follow `next_cursor` (with the same filters) until it is null to read every matching session once, even while sessions are created or revoked meanwhile. A cursor is refused (`invalid_request`, field `cursor`) under other filters or another user.',
    answer: {
      status: 200,
      description: 'A page of the sessions matching the filters, the cursor of the next, and how many match in all.',
      schema: UserSessionsAnswer,
    },
  },
  revokeUserSessions: {
    summary: "Revoke all of a user's sessions (reason `admin`)",
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'The sessions this call revoked.', schema: RevokedSessionsAnswer },
  },
  revocations: {
    summary: 'Read the revocation feed',
    description:
      'For resource servers that verify access tokens themselves: revocations after `cursor`, waiting up to `wait` seconds for one. Outside the per-key rate limit.',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'Revocations after the cursor, and the cursor to read on from.', schema: RevocationPageAnswer },
  },
} satisfies Record<string, RouteDocs>;

/** Deeper metadata would overflow the stack when stored or sent back (a 500 for bad input). */
const maxMetadataDepth = 64;

/** Nesting depth of a JSON value, counted without recursion. */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}
