import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { ApiKeys } from '../../core/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { isoTime } from '../../core/session-json.js';
import type { SessionStore } from '../../core/store.js';
import type { ActivityCounts } from '../activity.js';
import { ActivityAnswer } from '../answer-schemas.js';
import { requireApiKey } from '../auth.js';
import type { RouteDocs } from '../openapi.js';
import { type RequestRateLimits, secretSubject } from '../rate-limits.js';
import { ActivityQuery } from '../schemas.js';

export interface ActivityRouteOptions {
  readonly activity: ActivityCounts;
  readonly store: Pick<SessionStore, 'countActiveSessionsByFlow'>;
  readonly clock: Clock;
  readonly apiKeys: Pick<ApiKeys, 'nameOf'>;
  readonly limits: RequestRateLimits;
}

const defaultMinutes = 30;

/** `GET /v1/activity`: the admin console's live counters, per minute, and the active sessions gauge. */
export const activityRoutes: FastifyPluginAsync<ActivityRouteOptions> = async (app, { activity, store, clock, apiKeys, limits }) => {
  app.addHook('onRequest', async (request) => limits.enforce('management_per_key', secretSubject(await requireApiKey(apiKeys, request, limits))));

  app.get<{ Querystring: Static<typeof ActivityQuery> }>('/v1/activity', { schema: { querystring: ActivityQuery }, config: { docs } }, async (request) => {
    const minutes = activity.lastMinutes(Number(request.query.minutes ?? defaultMinutes));
    const now = clock.now();
    let active = 0;
    for (const count of (await store.countActiveSessionsByFlow(now)).values()) active += count;
    return {
      active_sessions: active,
      minutes: minutes.map((minute) => ({
        start: isoTime(minute.start),
        sessions_created: minute.sessionsCreated,
        refreshes: minute.refreshes,
        revocations: minute.revocations,
      })),
      counting_since: isoTime(activity.countingSince),
      server_time: isoTime(now),
    };
  });
};

const docs: RouteDocs = {
  summary: "This node's activity per minute",
  description:
    "Sessions created, refreshes and revocations on this node per minute (kept in memory for the last hour; other nodes keep their own), and the number of active sessions in the store. What the admin console's chart shows.",
  tag: 'Management',
  auth: 'api_key',
  answer: { status: 200, description: 'The counts, oldest minute first.', schema: ActivityAnswer },
};
