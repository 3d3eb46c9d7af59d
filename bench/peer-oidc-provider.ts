/**
 * The peer under load: node-oidc-provider, in a child process of its own (forked by bench/peers.ts),
 * configured to do what Tessera's refresh and whoami do:
 *
 * - the refresh_token grant with rotation (`rotateRefreshToken: true`): each refresh consumes the
 *   token, saves a new one and answers an access token; a reused token is refused (and its grant revoked);
 * - access tokens as ES256 JWTs (`at+jwt`) for one resource server, signed with the provider's own key;
 * - a public browser client (`token_endpoint_auth_method: 'none'`), as Tessera's browser clients present
 *   a refresh token and no client secret;
 * - the provider's own memory adapter and LRU store, sized above the bench's working set;
 * - whoami: the userinfo endpoint (`GET /me`) with an opaque access token. The provider answers userinfo
 *   only for opaque tokens without an audience (its JWT access tokens are for resource servers, and it
 *   refuses to introspect them), so this is a store lookup, where Tessera's whoami verifies an ES256 JWT.
 *
 * Sessions are seeded straight through the provider's models (Grant, RefreshToken, AccessToken), not
 * through the interactive authorization flow. The parent talks to this process over IPC: see PeerRequest.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import { type PeerAnswer, type PeerRequest, peerClientId, peerIssuer, peerResource, peerScope } from './peer-protocol.js';

/** Seconds, as Tessera's default flow: 15-minute access tokens, 14-day refresh tokens. */
const accessTokenTtl = 900;
const refreshTokenTtl = 14 * 24 * 3600;

/**
 * Entries the memory store keeps: each seeded session holds a grant, a token and the grant's token
 * index, and each refresh adds a token. The adapter's default (1,000) would evict the seeded pool
 * before the load reaches it.
 */
const storeEntries = 1_000_000;

function signingKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
}

function createProvider(): Provider {
  const store = new LRU({ maxSize: storeEntries });
  return new Provider(peerIssuer, {
    adapter: (model: string) => new MemoryAdapter(model, store),
    jwks: { keys: [signingKey()] },
    clients: [
      {
        client_id: peerClientId,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: ['tessera-bench-not-a-secret'] },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTokenTtl,
      RefreshToken: refreshTokenTtl,
      Grant: refreshTokenTtl,
      Session: refreshTokenTtl,
      Interaction: 3600,
      IdToken: 3600,
    },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => peerResource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: peerScope,
          audience: peerResource,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
}

/** Sessions made through the models, as the authorization flow would leave them. */
async function seed(provider: Provider, refresh: number, bearer: number): Promise<{ refreshTokens: string[]; accessTokens: string[] }> {
  const client = await provider.Client.find(peerClientId);
  if (!client) throw new Error(`client ${peerClientId} is not configured`);
  const refreshTokens: string[] = [];
  for (let i = 0; i < refresh; i++) {
    const accountId = `bench-refresh-${i}`;
    const grant = new provider.Grant({ accountId, clientId: peerClientId });
    grant.addResourceScope(peerResource, peerScope);
    const grantId = await grant.save();
    const token = new provider.RefreshToken({ accountId, client, grantId, scope: peerScope, resource: peerResource, gty: 'authorization_code' });
    refreshTokens.push(await token.save());
  }
  const accessTokens: string[] = [];
  for (let i = 0; i < bearer; i++) {
    const accountId = `bench-whoami-${i}`;
    const grant = new provider.Grant({ accountId, clientId: peerClientId });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const token = new provider.AccessToken({ accountId, client, grantId, scope: 'openid', gty: 'authorization_code' });
    accessTokens.push(await token.save());
  }
  return { refreshTokens, accessTokens };
}

async function main(): Promise<void> {
  const provider = createProvider();
  const counts = { refreshed: 0, refused: 0 };
  provider.on('grant.success', (ctx) => {
    if ((ctx as { oidc: { params: { grant_type?: string } } }).oidc.params.grant_type === 'refresh_token') counts.refreshed++;
  });
  provider.on('grant.error', () => {
    counts.refused++;
  });
  // A 500 under load would otherwise be a silent non-2xx: say what it was.
  provider.on('server_error', (_ctx, error) => process.stderr.write(`oidc-provider server_error: ${String(error)}\n`));

  const server = createServer(provider.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const send = (answer: PeerAnswer) => process.send?.(answer);
  process.on('message', (message: PeerRequest) => {
    if (message.type === 'seed') {
      seed(provider, message.refresh, message.bearer).then(
        (tokens) => send({ type: 'seeded', id: message.id, ...tokens }),
        (error: unknown) => send({ type: 'error', id: message.id, message: String(error) }),
      );
      return;
    }
    if (message.type === 'counters') {
      send({ type: 'counters', id: message.id, ...counts });
      return;
    }
    if (message.type === 'exit') {
      server.closeAllConnections();
      server.close();
      process.disconnect();
    }
  });
  send({ type: 'listening', url: `http://127.0.0.1:${port}` });
}

await main();
