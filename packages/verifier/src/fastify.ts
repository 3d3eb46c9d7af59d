import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccessTokenClaims } from './access-token-check.js';
import { verifierErrorResponse } from './error-response.js';
import { TesseraError } from './errors.js';
import { type PublicUrl, publicUrlOf } from './public-url.js';
import { createVerifier, type Verifier, type VerifierOptions } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token's claims, set by `tesseraFastify`; null on routes it does not guard. */
    tessera: AccessTokenClaims | null;
  }
}

export type TesseraFastifyOptions = (VerifierOptions | { readonly verifier: Verifier }) & {
  /**
   * The URL clients address this app by, for DPoP proofs; by default `request.protocol`,
   * `request.host` and `request.url`, which follow Fastify's `trustProxy` setting.
   */
  readonly publicUrl?: PublicUrl<FastifyRequest>;
};

/**
 * A Fastify plugin that requires a valid Tessera access token on every route of the scope it is
 * registered in, and answers failures with the Tessera envelope. Claims are on `request.tessera`.
 * Tokens bound to a DPoP key are checked with the request's `DPoP` proof, against its method and
 * public URL (see `publicUrl`).
 *
 * @example
 * ```ts
 * app.register(async (api) => {
 *   await api.register(tesseraFastify, { issuer: 'https://auth.example.com', audience: 'tessera' });
 *   api.get('/me', async (request) => ({ user: request.tessera!.sub }));
 * });
 * ```
 */
export const tesseraFastify: FastifyPluginAsync<TesseraFastifyOptions> = async (app: FastifyInstance, options) => {
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  // A verifier made here is closed here; one passed in belongs to the caller.
  if (!('verifier' in options)) app.addHook('onClose', async () => verifier.close());
  if (!app.hasRequestDecorator('tessera')) app.decorateRequest('tessera', null);
  const urlOf = (request: FastifyRequest): string =>
    options.publicUrl === undefined ? `${request.protocol}://${request.host}${request.url}` : publicUrlOf(options.publicUrl, request, request.url);
  app.addHook('onRequest', async (request, reply) => {
    try {
      request.tessera = await verifier.verifyRequest({
        authorization: request.headers.authorization,
        dpop: request.headers.dpop,
        method: request.method,
        url: urlOf(request),
      });
    } catch (error) {
      if (!(error instanceof TesseraError)) throw error;
      const answer = verifierErrorResponse(error, verifier.issuer, verifier.clock.now(), request.id);
      return reply.code(answer.status).headers(answer.headers).type('application/json; charset=utf-8').send(answer.body);
    }
  });
};
// What fastify-plugin does: the hook guards the scope that registers the plugin, not a child of it.
(tesseraFastify as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
