import type { FastifyInstance } from 'fastify';
import type { Tessera } from '../../tessera.js';
import { signingAlgorithm } from '../../core/signing-keys.js';

/** Discovery documents, so existing JOSE and OAuth clients find keys and endpoints. */
export function wellKnownRoutes(app: FastifyInstance, tessera: Tessera): void {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return tessera.signingKeys.publicJwks();
  });

  app.get('/.well-known/oauth-authorization-server', async () => {
    const issuer = tessera.issuer.replace(/\/+$/, '');
    return {
      issuer: tessera.issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      token_endpoint_auth_signing_alg_values_supported: [signingAlgorithm],
      service_documentation: `${issuer}/docs/errors`,
    };
  });
}
