import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import type { Tessera } from '../../tessera.js';
import { requireSession } from '../auth.js';
import { grantJson, sessionJson } from '../representation.js';
import { RefreshBody } from '../schemas.js';

/** What the end user's client calls with its own tokens, no API key. */
export function endUserRoutes(app: FastifyInstance, tessera: Tessera): void {
  const { sessions, clock } = tessera;

  app.post<{ Body: Static<typeof RefreshBody> }>('/v1/token/refresh', { schema: { body: RefreshBody } }, async (request) => {
    const grant = await sessions.refreshSession(request.body.refresh_token);
    return grantJson(grant, clock.now());
  });

  app.get('/v1/session', async (request) => {
    const { session } = await requireSession(tessera, request);
    const now = clock.now();
    return { session: sessionJson(session, now), server_time: new Date(now).toISOString() };
  });

  app.post('/v1/session/logout', async (request) => {
    const { session } = await requireSession(tessera, request);
    const revoked = (await sessions.revokeSession(session.id, 'logout')) ?? session;
    return { session: sessionJson(revoked, clock.now()) };
  });

  app.post('/v1/session/logout-others', async (request) => {
    const { session } = await requireSession(tessera, request);
    const revoked = await sessions.revokeUserSessions(session.userId, 'signed_out_elsewhere', session.id);
    return { revoked: revoked.length, session_ids: revoked.map((other) => other.id) };
  });
}
