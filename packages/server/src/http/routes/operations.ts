import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Static } from 'typebox';
import type { Clock } from '../../core/clock.js';
import { isErrorCode } from '../../core/error-catalogue.js';
import { TesseraError } from '../../core/errors.js';
import type { SessionStore } from '../../core/store.js';
import { errorIndexPage, errorPage } from '../../docs/error-pages.js';
import { HealthAnswer, ReadinessAnswer } from '../answer-schemas.js';
import { docsBaseUrl } from '../envelope.js';
import type { Metrics } from '../metrics.js';
import { ErrorCodeParams } from '../schemas.js';

export interface OperationsRouteOptions {
  readonly clock: Clock;
  readonly store: Pick<SessionStore, 'ping'>;
  /** The shared Redis, when the node has one: readiness reports it. */
  readonly redis: Pick<Redis, 'status'> | undefined;
  readonly issuer: string;
  readonly metrics: Pick<Metrics, 'contentType' | 'render'>;
}

/** Health, metrics and the error documentation pages. */
export const operationsRoutes: FastifyPluginAsync<OperationsRouteOptions> = async (app, { clock, store, redis, issuer, metrics }) => {
  // Liveness: the process answers. The store is not asked: a probe that restarts a node for a database outage helps no one.
  app.get(
    '/healthz',
    { config: { docs: { summary: 'Liveness: the process answers', tag: 'Operations', answer: { status: 200, description: 'Alive.', schema: HealthAnswer } } } },
    async () => {
      return { status: 'ok', server_time: new Date(clock.now()).toISOString() };
    },
  );

  // Readiness: this node can serve. The store opens only after migrating, so a store that answers is migrated.
  app.get(
    '/readyz',
    {
      config: {
        docs: { summary: 'Readiness: the store answers', tag: 'Operations', answer: { status: 200, description: 'Ready to serve.', schema: ReadinessAnswer } },
      },
    },
    async () => {
      try {
        await store.ping();
      } catch (error) {
        const retryAfter = error instanceof TesseraError && error.retryAfter !== null ? error.retryAfter : 1;
        throw new TesseraError('service_unavailable', {
          message: 'This node cannot reach its session store.',
          retryAfter,
          details: [{ check: 'store', status: 'down' }],
        });
      }
      return {
        status: 'ready',
        checks: { store: 'ok', migrations: 'ok', redis: redisCheck(redis) },
        server_time: new Date(clock.now()).toISOString(),
      };
    },
  );

  app.get(
    '/metrics',
    {
      config: {
        docs: {
          summary: 'Prometheus metrics',
          description: 'On the management port only, when there is one.',
          tag: 'Operations',
          answer: { status: 200, description: 'Prometheus text exposition format.', type: 'text/plain' },
          errors: ['not_found'],
        },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.contentType);
      return metrics.render();
    },
  );

  app.get(
    '/docs/errors',
    {
      config: {
        docs: { summary: 'The index of every error code', tag: 'Operations', answer: { status: 200, description: 'An HTML page.', type: 'text/html' } },
      },
    },
    async (_request, reply) => {
      return reply.type('text/html; charset=utf-8').send(errorIndexPage(docsBaseUrl(issuer)));
    },
  );

  app.get<{ Params: Static<typeof ErrorCodeParams> }>(
    '/docs/errors/:code',
    {
      schema: { params: ErrorCodeParams },
      config: {
        docs: {
          summary: 'The page that documents one error code',
          tag: 'Operations',
          answer: { status: 200, description: 'An HTML page; every envelope `doc_url` points to one.', type: 'text/html' },
          errors: ['not_found'],
        },
      },
    },
    async (request, reply) => {
      const { code } = request.params;
      if (!isErrorCode(code)) throw new TesseraError('not_found', { message: `No error code "${code}".` });
      return reply.type('text/html; charset=utf-8').send(errorPage(code, docsBaseUrl(issuer)));
    },
  );
};

/** Redis only shares limits and fan-out, and the node falls back without it: at worst degraded, never down. */
function redisCheck(redis: Pick<Redis, 'status'> | undefined): 'ok' | 'degraded' | 'off' {
  if (!redis) return 'off';
  return redis.status === 'ready' ? 'ok' : 'degraded';
}
