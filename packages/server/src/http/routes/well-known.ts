import { dpopSigningAlgorithms } from '@tessera/verifier/core';
import type { FastifyPluginAsync } from 'fastify';
import type { SigningKeys } from '../../core/signing-keys.js';
import { AuthorizationServerMetadataAnswer, JwksAnswer } from '../answer-schemas.js';

export interface WellKnownRouteOptions {
  readonly signingKeys: Pick<SigningKeys, 'publicJwks'>;
  readonly issuer: string;
}

/** Discovery documents, so existing JOSE and OAuth clients find keys and endpoints. */
export const wellKnownRoutes: FastifyPluginAsync<WellKnownRouteOptions> = async (app, { signingKeys, issuer: configuredIssuer }) => {
  app.get(
    '/.well-known/jwks.json',
    {
      config: {
        docs: { summary: 'The public signing keys, by `kid`', tag: 'Discovery', answer: { status: 200, description: 'RFC 7517 JWK Set.', schema: JwksAnswer } },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return signingKeys.publicJwks();
    },
  );

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      config: {
        docs: {
          summary: 'RFC 8414 authorization server metadata',
          tag: 'Discovery',
          answer: { status: 200, description: 'The metadata.', schema: AuthorizationServerMetadataAnswer },
        },
      },
    },
    async () => {
      const issuer = configuredIssuer.replace(/\/+$/, '');
      return {
        issuer: configuredIssuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        token_endpoint: `${issuer}/oauth/token`,
        revocation_endpoint: `${issuer}/oauth/revoke`,
        introspection_endpoint: `${issuer}/oauth/introspect`,
        grant_types_supported: ['refresh_token'],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
        revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
        // The management API key (Bearer) is accepted too; RFC 8414 has no registered name for it.
        introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
        service_documentation: `${issuer}/docs/errors`,
        // RFC 9449 §5.1: proofs are taken at the token endpoint (and at /v1) for flows that use DPoP.
        dpop_signing_alg_values_supported: [...dpopSigningAlgorithms],
      };
    },
  );
};
