import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../core/errors.js';
import { isErrorCode } from '../../core/error-catalogue.js';
import { errorIndexPage, errorPage } from '../../docs/error-pages.js';
import type { Tessera } from '../../tessera.js';
import { docsBaseUrl } from '../envelope.js';
import type { Metrics } from '../metrics.js';
import { ErrorCodeParams } from '../schemas.js';
import type { Static } from 'typebox';

/** Health, metrics and the error documentation pages. */
export function operationsRoutes(app: FastifyInstance, tessera: Tessera, metrics: Metrics): void {
  app.get('/healthz', async () => {
    await tessera.store.ping();
    return { status: 'ok', server_time: new Date(tessera.clock.now()).toISOString() };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });

  app.get('/docs/errors', async (request, reply) => {
    return reply.type('text/html; charset=utf-8').send(errorIndexPage(docsBaseUrl(tessera.issuer)));
  });

  app.get<{ Params: Static<typeof ErrorCodeParams> }>('/docs/errors/:code', { schema: { params: ErrorCodeParams } }, async (request, reply) => {
    const { code } = request.params;
    if (!isErrorCode(code)) throw new TesseraError('not_found', { message: `No error code "${code}".` });
    return reply.type('text/html; charset=utf-8').send(errorPage(code, docsBaseUrl(tessera.issuer)));
  });
}
