import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { TesseraError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Tessera } from '../tessera.js';
import { publicBaseUrl, sendError, sendRawClientError } from './envelope.js';
import { CorsPolicy, isPreflight, preflightRefusal } from './cors.js';
import { Metrics } from './metrics.js';
import { createRateLimiter, RequestRateLimits } from './rate-limits.js';
import { adminRoutes } from './routes/admin.js';
import { endUserRoutes } from './routes/end-user.js';
import { managementRoutes } from './routes/management.js';
import { oauthRoutes } from './routes/oauth.js';
import { operationsRoutes } from './routes/operations.js';
import { wellKnownRoutes } from './routes/well-known.js';

export interface AppOptions {
  /** A pino logger; none by default. */
  readonly logger?: FastifyBaseLogger;
  /** The node's metrics, for a caller that adds its own (the realtime sockets); made here when absent. */
  readonly metrics?: Metrics;
}

/**
 * The HTTP edge: routes translate requests into core calls, and every failure (ours, Fastify's,
 * the client's) leaves as the one error envelope.
 */
export async function buildApp(tessera: Tessera, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: tessera.config.bodyLimit,
    genReqId: () => newId('req_'),
    requestIdHeader: false,
    // Behind a load balancer, which proxies may name the client (the subject of per-IP limits).
    trustProxy: trustProxyOption(tessera.config.trustProxy),
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    clientErrorHandler: (_error, socket) => sendRawClientError(socket, newId('req_'), tessera.issuer, tessera.clock.now()),
    // Bad percent-encoding and over-long path parameters are refused by the router before any hook runs.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return sendError(request, reply, toTesseraError(error), publicBaseUrl(request, tessera.issuer), tessera.clock.now());
    },
  });
  // A JSON body sent as text/plain is `unsupported_media_type`, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // An empty body sent as JSON (HTTP clients do this on bodyless POSTs) is no body; routes that need one say so.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
  const metrics = options.metrics ?? new Metrics(tessera);
  const limits = new RequestRateLimits(createRateLimiter(tessera, app.log, metrics), tessera.config.rateLimits, metrics, tessera.clock);
  const cors = new CorsPolicy(tessera.config.cors, { credentials: tessera.config.cookie.enabled });
  if (tessera.config.cookie.enabled) await app.register(fastifyCookie);
  const routePatterns: { method: string; pattern: RegExp }[] = [];

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}/?$`);
    for (const method of methods) routePatterns.push({ method, pattern });
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith('/v1/') || request.url.startsWith('/oauth/')) reply.header('cache-control', 'no-store');
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const tesseraError = toTesseraError(error);
    if (tesseraError.code === 'internal_error') {
      request.log.error({ err: error, request_id: request.id }, 'internal error');
    }
    return sendError(request, reply, tesseraError, publicBaseUrl(request, tessera.issuer), tessera.clock.now());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routePatterns.filter((route) => route.pattern.test(path)).map((route) => route.method);
    const error = isPreflight(request)
      ? preflightRefusal(request, path)
      : allowed.length > 0
        ? new TesseraError('method_not_allowed', { details: [{ method: request.method, allowed: [...new Set(allowed)] }] })
        : new TesseraError('not_found', { details: [{ path }] });
    if (allowed.length > 0) reply.header('allow', [...new Set(allowed)].join(', '));
    return sendError(request, reply, error, publicBaseUrl(request, tessera.issuer), tessera.clock.now());
  });

  managementRoutes(app, tessera, limits);
  endUserRoutes(app, tessera, { cors, limits });
  wellKnownRoutes(app, tessera);
  await oauthRoutes(app, tessera, toTesseraError, limits);
  operationsRoutes(app, tessera, metrics);
  adminRoutes(app);
  await app.ready();
  return app;
}

/** Maps anything thrown during a request to a catalogue error; only the unexpected is `internal_error`. */
export function toTesseraError(error: FastifyError): TesseraError {
  if (error instanceof TesseraError) return error;
  if (error.validation) {
    return new TesseraError('invalid_request', {
      details: error.validation.map((issue) => ({
        field: fieldOf(issue.instancePath, issue.params),
        message: issue.message ?? 'is invalid',
        in: error.validationContext ?? 'body',
      })),
    });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TesseraError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TesseraError('unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TesseraError('invalid_request', { message: 'The body is empty; send a JSON object.' });
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    // Bad JSON, bad content-length, bad URL encoding: the caller's mistake, told plainly.
    return new TesseraError('invalid_request', { message: `The request is malformed: ${error.message}` });
  }
  return new TesseraError('internal_error', { cause: error });
}

/** The config's `trust_proxy` as Fastify takes it: a hop count becomes the function Fastify would build. */
function trustProxyOption(trust: boolean | number | readonly string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
}

function fieldOf(instancePath: string, params: Record<string, unknown>): string {
  const path = instancePath.split('/').filter(Boolean).join('.');
  const extra = params['missingProperty'] ?? params['additionalProperty'];
  if (typeof extra === 'string') return path ? `${path}.${extra}` : extra;
  return path || '(body)';
}
