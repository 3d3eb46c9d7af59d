import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { TesseraError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { userIdMaxLength } from '../core/user-id.js';
import type { Tessera } from '../tessera.js';
import { ActivityCounts } from './activity.js';
import { CorsPolicy, isPreflight, preflightRefusal } from './cors.js';
import { docsBaseUrl, errorEnvelope, sendError, sendRawClientError } from './envelope.js';
import { Metrics } from './metrics.js';
import { type RouteDocs, serveOpenApi } from './openapi.js';
import { createRateLimiter, RequestRateLimits } from './rate-limits.js';
import { type RequestLogging, requestForLog, requestLogController } from './request-log.js';
import { activityRoutes } from './routes/activity.js';
import { adminRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { endUserRoutes } from './routes/end-user.js';
import { managementRoutes } from './routes/management.js';
import { oauthRoutes } from './routes/oauth.js';
import { operationsRoutes } from './routes/operations.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';
import { wellKnownRoutes } from './routes/well-known.js';

export interface AppOptions {
  /** A pino logger; none by default. */
  readonly logger?: FastifyBaseLogger;
  /** Which requests the logger gets a line for (see `RequestLogging`); default `failures`. */
  readonly requestLogging?: RequestLogging;
  /** The node's metrics, for a caller that adds its own (the realtime sockets); made here when absent. */
  readonly metrics?: Metrics;
  /** Paths that only take a WebSocket upgrade (the realtime socket): a plain `GET` there gets `426 upgrade_required`. */
  readonly upgradeOnlyPaths?: readonly string[];
  /**
   * With a management port: whether a request came in on it. `/metrics` and `/admin` then answer only
   * those requests, and `not_found` on the public port. Absent: they are served everywhere.
   */
  readonly isManagementRequest?: (request: IncomingMessage) => boolean;
}

/** Routes for operators only, moved to the management port when there is one. */
const managementPathPattern = /^\/(metrics|admin)(\/|\?|$)/;

/** Seconds a client is told to wait when this node is shutting down (a load balancer has moved on by then). */
const shutdownRetryAfter = 5;

/**
 * The HTTP edge: routes translate requests into core calls, and every failure (ours, Fastify's,
 * the client's) leaves as the one error envelope.
 */
export async function buildApp(tessera: Tessera, options: AppOptions = {}): Promise<FastifyInstance> {
  const timeouts = tessera.config.timeouts;
  const requestLogging = options.logger ? (options.requestLogging ?? 'failures') : 'none';
  const app = Fastify({
    // Credentials a client put in the query string never reach the log.
    ...(options.logger ? { loggerInstance: options.logger.child({}, { serializers: { req: requestForLog } }) } : { logger: false }),
    logController: requestLogController(requestLogging),
    bodyLimit: tessera.config.bodyLimit,
    genReqId: () => newId('req_'),
    requestIdHeader: false,
    // Behind a load balancer, which proxies may name the client (the subject of per-IP limits).
    trustProxy: trustProxyOption(tessera.config.trustProxy),
    // Shutting down is answered below, as the envelope, not with Fastify's own body.
    return503OnClosing: false,
    // The router measures a decoded parameter in UTF-16 units: the longest user id, all outside the BMP, is twice its length.
    routerOptions: { maxParamLength: userIdMaxLength * 2 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    clientErrorHandler: (error, socket) => {
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') return socket.destroy();
      sendRawClientError(socket, clientErrorOf(error), newId('req_'), docsBaseUrl(tessera.issuer), tessera.clock.now());
    },
    // Slow clients hold a connection no longer than these (a stalled body, trickled headers, idle keep-alive).
    requestTimeout: timeouts.request * 1000,
    keepAliveTimeout: timeouts.idle * 1000,
    http: {
      requestTimeout: timeouts.request * 1000,
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeout: Math.min(timeouts.headers, timeouts.request) * 1000,
      // Node checks both timeouts on this beat (30 s by default): a second keeps them near their value.
      connectionsCheckingInterval: 1000,
    },
    // Bad percent-encoding and over-long path parameters are refused by the router before any hook runs.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return sendError(request, reply, toTesseraError(error), docsBaseUrl(tessera.issuer), tessera.clock.now());
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
  serveOpenApi(app, tessera);

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Node answers an unknown Expect itself with an empty 417; this one is the envelope.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const error = new TesseraError('expectation_failed', { details: [{ expect: String(request.headers.expect ?? '') }] });
    const requestId = newId('req_');
    const body = JSON.stringify(errorEnvelope(error, requestId, docsBaseUrl(tessera.issuer), tessera.clock.now()));
    response.writeHead(error.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      'cache-control': 'no-store',
      connection: 'close',
    });
    response.end(body);
  });

  const isManagementRequest = options.isManagementRequest;
  const dpopNonces = tessera.dpopNonces;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // RFC 9449 §8: every answer to a request with a DPoP proof tells the nonce its next proof must carry.
    if (dpopNonces && request.headers.dpop !== undefined) reply.header('dpop-nonce', dpopNonces.current());
    if (isManagementRequest && managementPathPattern.test(request.url) && !isManagementRequest(request.raw)) {
      const error = new TesseraError('not_found', { details: [{ path: request.url.split('?')[0] ?? '' }] });
      return sendError(request, reply, error, docsBaseUrl(tessera.issuer), tessera.clock.now());
    }
    if (closing) {
      reply.header('connection', 'close');
      const error = new TesseraError('service_unavailable', {
        message: 'This server is shutting down. Retry shortly.',
        retryAfter: shutdownRetryAfter,
      });
      return sendError(request, reply, error, docsBaseUrl(tessera.issuer), tessera.clock.now());
    }
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
    } else if (tesseraError.code === 'service_unavailable' && tesseraError.cause !== undefined) {
      // The caller is told to retry; the operator needs the reason (a store down, a signing key this node cannot open).
      request.log.warn({ err: tesseraError.cause, request_id: request.id }, 'service unavailable');
    }
    return sendError(request, reply, tesseraError, docsBaseUrl(tessera.issuer), tessera.clock.now());
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
    return sendError(request, reply, error, docsBaseUrl(tessera.issuer), tessera.clock.now());
  });

  // Each route module is a plugin handed only what it uses; registered in turn, so routes keep their order.
  const { sessions, clock, issuer, store, apiKeys } = tessera;
  await app.register(managementRoutes, { sessions, clock, revocations: tessera.revocations, apiKeys, limits });
  await app.register(auditRoutes, { store, apiKeys, limits });
  await app.register(endUserRoutes, { sessions, clock, issuer, cookie: tessera.config.cookie, cors, limits });
  await app.register(wellKnownRoutes, { signingKeys: tessera.signingKeys, issuer });
  await app.register(oauthRoutes, { sessions, store, clock, issuer, config: tessera.config, apiKeys, limits, toTesseraError });
  await app.register(operationsRoutes, { clock, store, redis: tessera.redis, issuer, metrics });
  const deliverer = tessera.webhooks;
  await app.register(webhookRoutes, {
    endpoints: tessera.config.webhooks,
    store,
    clock,
    apiKeys,
    limits,
    ...(deliverer ? { deliverNow: () => deliverer.poll() } : {}),
  });
  await app.register(adminRoutes);
  // The admin console's search and live counters: management API routes of their own.
  await app.register(userRoutes, { store, clock, apiKeys, limits });
  const activity = new ActivityCounts(clock);
  const stopCounting = sessions.onSessionEvent((event) => activity.record(event));
  app.addHook('onClose', async () => void stopCounting());
  await app.register(activityRoutes, { activity, store, clock, apiKeys, limits });
  for (const path of options.upgradeOnlyPaths ?? []) {
    app.get(path, { config: { docs: realtimeDocs } }, async (request, reply) => {
      reply.header('upgrade', 'websocket');
      const error = new TesseraError('upgrade_required', { details: [{ upgrade: request.headers.upgrade ?? null }] });
      return sendError(request, reply, error, docsBaseUrl(tessera.issuer), tessera.clock.now());
    });
  }
  await app.ready();
  return app;
}

const realtimeDocs: RouteDocs = {
  summary: 'The realtime WebSocket',
  description:
    'Send `{ "type": "auth", "access_token" }` first (and again at any time); the server sends `ready`, `token_expiring` and `session_ended`, then closes with 4001–4008 or 4400. A plain GET without the upgrade is `upgrade_required`.',
  tag: 'Realtime',
  answer: { status: 101, description: 'Switching Protocols: the WebSocket is open.' },
  errors: ['upgrade_required', 'rate_limited'],
};

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

/** What Node's HTTP server refused a request for, as a catalogue error. */
function clientErrorOf(error: Error): TesseraError {
  if ((error as NodeJS.ErrnoException).code === 'ERR_HTTP_REQUEST_TIMEOUT') return new TesseraError('request_timeout');
  return new TesseraError('invalid_request', { message: 'The HTTP request could not be parsed.' });
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
