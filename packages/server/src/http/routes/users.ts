import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { ApiKeys } from '../../core/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { TesseraError } from '../../core/errors.js';
import { isoTime } from '../../core/session-json.js';
import { storableTextProblem } from '../../core/storable-text.js';
import type { SessionStore } from '../../core/store.js';
import { userIdMaxLength, userIdProblem } from '../../core/user-id.js';
import { UserSearchAnswer } from '../answer-schemas.js';
import { requireApiKey } from '../auth.js';
import type { RouteDocs } from '../openapi.js';
import { type RequestRateLimits, secretSubject } from '../rate-limits.js';
import { UserSearchQuery } from '../schemas.js';

export interface UserRouteOptions {
  readonly store: Pick<SessionStore, 'searchUsers'>;
  readonly clock: Clock;
  readonly apiKeys: Pick<ApiKeys, 'nameOf'>;
  readonly limits: RequestRateLimits;
}

const defaultLimit = 50;

/** `GET /v1/users`: the users whose id starts with a prefix, for the admin console's search. */
export const userRoutes: FastifyPluginAsync<UserRouteOptions> = async (app, { store, clock, apiKeys, limits }) => {
  app.addHook('onRequest', async (request) => limits.enforce('management_per_key', secretSubject(await requireApiKey(apiKeys, request, limits))));

  app.get<{ Querystring: Static<typeof UserSearchQuery> }>('/v1/users', { schema: { querystring: UserSearchQuery }, config: { docs } }, async (request) => {
    const prefix = request.query.prefix ?? '';
    const problem = prefixProblem(prefix);
    if (problem) throw new TesseraError('invalid_request', { details: [{ field: 'prefix', message: problem, in: 'querystring' }] });
    const limit = Number(request.query.limit ?? defaultLimit);
    const afterUserId = request.query.cursor === undefined ? undefined : parseUserCursor(request.query.cursor, prefix);
    // One more than asked tells whether there is a next page.
    const found = await store.searchUsers({ prefix, limit: limit + 1, now: clock.now(), ...(afterUserId === undefined ? {} : { afterUserId }) });
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return {
      users: page.map((user) => ({ user_id: user.userId, active_sessions: user.activeSessions, last_created_at: isoTime(user.lastCreatedAt) })),
      next_cursor: found.length > limit && last ? formatUserCursor(last.userId) : null,
    };
  });
};

const docs: RouteDocs = {
  summary: 'Find users by the start of their id',
  description:
    'Users with at least one stored session whose id starts with `prefix` (exactly, code point for code point: `%` and `_` are plain characters), in id order, with how many sessions each has active. Without `prefix`, every user. Page on with `next_cursor`.',
  tag: 'Management',
  auth: 'api_key',
  answer: { status: 200, description: 'One page of users.', schema: UserSearchAnswer },
};

/** Why `prefix` cannot start a user id, or undefined. The empty prefix is every user. */
function prefixProblem(prefix: string): string | undefined {
  if ([...prefix].length > userIdMaxLength) return `must be at most ${userIdMaxLength} characters`;
  const unstorable = storableTextProblem(prefix);
  if (unstorable) return unstorable;
  if (/\p{Cc}/u.test(prefix)) return 'must not contain control characters';
  return undefined;
}

/** The cursor: the last user id of the page, wrapped so that callers treat it as opaque. */
function formatUserCursor(userId: string): string {
  return Buffer.from(JSON.stringify({ after: userId })).toString('base64url');
}

function parseUserCursor(cursor: string, prefix: string): string {
  const refuse = (message: string) => new TesseraError('invalid_request', { details: [{ field: 'cursor', message, in: 'querystring' }] });
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    throw refuse('must be a next_cursor from an earlier answer');
  }
  if (typeof after !== 'string' || userIdProblem(after) !== undefined) throw refuse('must be a next_cursor from an earlier answer');
  if (!after.startsWith(prefix)) throw refuse('belongs to a search with another prefix');
  return after;
}
