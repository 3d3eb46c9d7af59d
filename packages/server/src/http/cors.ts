import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CorsConfig } from '../config.js';
import { TesseraError } from '../core/errors.js';

/** Request headers a browser SDK sends: the bearer token, JSON, and the cookie-mode CSRF header. */
const allowedRequestHeaders = 'authorization, content-type, dpop, x-tessera-csrf';
/** Response headers page scripts may read: the SDK honours Retry-After and reports request ids. */
const exposedResponseHeaders = 'dpop-nonce, retry-after, x-request-id, www-authenticate';

/**
 * CORS for the routes a browser calls (refresh, session, logout), by the exact origins of the
 * config file. Written here rather than with @fastify/cors, which answers preflights from one
 * catch-all OPTIONS route (so it cannot keep the management API out) and refuses bad preflights
 * with a text/plain 400 instead of the error envelope.
 */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;
  readonly #maxAge: number;
  readonly #credentials: boolean;

  /** `credentials`: cookie mode, where the browser must send and accept the refresh cookie. */
  constructor(config: CorsConfig, options: { credentials: boolean }) {
    this.#origins = new Set(config.origins);
    this.#maxAge = config.maxAge;
    this.#credentials = options.credentials;
  }

  /** Whether `origin` is one the config file lists. */
  allows(origin: string): boolean {
    return this.#origins.has(origin);
  }

  /**
   * Makes `path` callable from listed origins with `methods`: answers its preflight and adds the
   * CORS headers to every answer (errors included, so the SDK can read the envelope).
   */
  allowBrowserCalls(app: FastifyInstance, path: string, methods: readonly string[]): void {
    app.options(path, async (request, reply) => this.#answerPreflight(request, reply, methods));
  }

  /** The `onRequest` hook of a browser route: CORS headers for a listed origin, none for others. */
  readonly addCorsHeaders = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !this.allows(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', exposedResponseHeaders);
    if (this.#credentials) reply.header('access-control-allow-credentials', 'true');
  };

  #answerPreflight(request: FastifyRequest, reply: FastifyReply, methods: readonly string[]) {
    reply.header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    const origin = request.headers.origin;
    if (!isPreflight(request) || typeof origin !== 'string') {
      // A plain OPTIONS, not a browser asking: say what the route takes.
      reply.header('allow', [...methods, 'OPTIONS'].join(', '));
      return reply.code(204).send();
    }
    if (!this.allows(origin)) {
      throw new TesseraError('origin_not_allowed', { details: [{ origin, listed_in: 'cors.origins' }] });
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-methods', methods.join(', '));
    reply.header('access-control-allow-headers', allowedRequestHeaders);
    reply.header('access-control-max-age', String(this.#maxAge));
    if (this.#credentials) reply.header('access-control-allow-credentials', 'true');
    return reply.code(204).send();
  }
}

/** A CORS preflight: OPTIONS with an Origin and the method the browser wants to send. */
export function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && typeof request.headers.origin === 'string' && typeof request.headers['access-control-request-method'] === 'string';
}

/** The refusal of a preflight to a route browsers may not call (the management API, operations). */
export function preflightRefusal(request: FastifyRequest, path: string): TesseraError {
  return new TesseraError('origin_not_allowed', {
    message: 'This route does not accept cross-origin browser requests.',
    details: [{ origin: request.headers.origin, path }],
  });
}
