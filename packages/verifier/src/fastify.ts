import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AccessTokenClaims } from './access-token-check.js';
import { verifierErrorResponse } from './error-response.js';
import { TesseraError } from './errors.js';
import { createVerifier, type Verifier, type VerifierOptions } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token's claims, set by `tesseraFastify`; null on routes it does not guard. */
    tessera: AccessTokenClaims | null;
  }
}

export type TesseraFastifyOptions = VerifierOptions | { readonly verifier: Verifier };

/**
 * A Fastify plugin that requires a valid Tessera access token on every route of the scope it is
 * registered in, and answers failures with the Tessera envelope. Claims are on `request.tessera`.
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
  app.addHook('onRequest', async (request, reply) => {
    try {
      request.tessera = await verifier.verifyAuthorization(request.headers.authorization);
    } catch (error) {
      if (!(error instanceof TesseraError)) throw error;
      const answer = verifierErrorResponse(error, verifier.issuer, verifier.clock.now(), request.id);
      return reply.code(answer.status).headers(answer.headers).type('application/json; charset=utf-8').send(answer.body);
    }
  });
};
// What fastify-plugin does: the hook guards the scope that registers the plugin, not a child of it.
(tesseraFastify as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
