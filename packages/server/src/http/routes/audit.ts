import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { ApiKeys } from '../../core/api-keys.js';
import { readAuditPage } from '../../core/audit-trail.js';
import type { SessionStore } from '../../core/store.js';
import { AuditPageAnswer } from '../answer-schemas.js';
import { requireApiKey } from '../auth.js';
import type { RouteDocs } from '../openapi.js';
import { type RequestRateLimits, secretSubject } from '../rate-limits.js';
import { AuditQuery } from '../schemas.js';

export interface AuditRouteOptions {
  readonly store: Pick<SessionStore, 'listAuditEvents'>;
  readonly apiKeys: Pick<ApiKeys, 'nameOf'>;
  readonly limits: RequestRateLimits;
}

/** The audit trail, read with a management API key: who started, ended and changed what, newest first. */
export const auditRoutes: FastifyPluginAsync<AuditRouteOptions> = async (app, { store, apiKeys, limits }) => {
  app.addHook('onRequest', async (request) => limits.enforce('management_per_key', secretSubject(await requireApiKey(apiKeys, request, limits))));

  app.get<{ Querystring: Static<typeof AuditQuery> }>('/v1/audit', { schema: { querystring: AuditQuery }, config: { docs } }, async (request) => {
    const { user_id, session_id, type, limit, cursor } = request.query;
    return readAuditPage(store, {
      ...(user_id !== undefined ? { userId: user_id } : {}),
      ...(session_id !== undefined ? { sessionId: session_id } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(limit !== undefined ? { limit: Number(limit) } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
  });
};

const docs: RouteDocs = {
  summary: 'Read the audit trail',
  description:
    'Session, signing-key and API-key events, newest first, each with who made it (`actor`: the user, an API key by name, the CLI by OS user, or the system) and why. Filter by `user_id`, `session_id` and `type`; `limit` 1–200 (default 50). Follow `next_cursor` until it is null to read every matching event once.',
  tag: 'Management',
  auth: 'api_key',
  answer: { status: 200, description: 'A page of events and the cursor of the next one.', schema: AuditPageAnswer },
};
