import { createHash, timingSafeEqual } from 'node:crypto';
import { TesseraError } from './errors.js';

/** An OAuth client from the config file. Without a secret hash it is public (no authentication). */
export interface OAuthClient {
  readonly clientId: string;
  /** SHA-256 of the client secret, hex; secrets must be long random strings, so a plain hash suffices. */
  readonly clientSecretSha256: string | null;
}

/** What a token-endpoint request says about its client, before it is checked. */
export interface PresentedClient {
  /** From HTTP Basic (`client_secret_basic`), percent-decoded per RFC 6749 §2.3.1. */
  readonly basic?: { readonly clientId: string; readonly clientSecret: string };
  /** The `client_id` form parameter (public clients send it). */
  readonly clientId?: string;
}

/** Who is calling, once checked: a confidential client proved its secret, a public one only named itself. */
export interface AuthenticatedClient {
  readonly clientId: string | null;
  readonly confidential: boolean;
}

/**
 * The configured OAuth clients. Tokens are bound to sessions, not clients, so client authentication
 * only keeps a confidential client's id from being used without its secret.
 */
export class OAuthClients {
  readonly #clients: ReadonlyMap<string, OAuthClient>;

  constructor(clients: readonly OAuthClient[]) {
    this.#clients = new Map(clients.map((client) => [client.clientId, client]));
  }

  /**
   * Checks the presented credentials. Basic must name a confidential client with the right secret;
   * a bare `client_id` may name anything but a confidential client; nothing at all is a public caller.
   * Throws `client_invalid`.
   */
  authenticate(presented: PresentedClient): AuthenticatedClient {
    if (presented.basic) {
      const { clientId, clientSecret } = presented.basic;
      if (presented.clientId !== undefined && presented.clientId !== clientId) {
        throw new TesseraError('client_invalid', { details: [{ reason: 'client_id differs from the Basic credentials' }] });
      }
      const client = this.#clients.get(clientId);
      if (!client?.clientSecretSha256 || !secretMatches(clientSecret, client.clientSecretSha256)) {
        throw new TesseraError('client_invalid', { details: [{ reason: 'unknown client or wrong secret' }] });
      }
      return { clientId, confidential: true };
    }
    if (presented.clientId === undefined) return { clientId: null, confidential: false };
    if (this.#clients.get(presented.clientId)?.clientSecretSha256) {
      throw new TesseraError('client_invalid', { details: [{ reason: 'this client must authenticate with HTTP Basic' }] });
    }
    return { clientId: presented.clientId, confidential: false };
  }
}

function secretMatches(secret: string, expectedHex: string): boolean {
  const presented = createHash('sha256').update(secret).digest();
  const expected = Buffer.from(expectedHex, 'hex');
  return expected.length === presented.length && timingSafeEqual(presented, expected);
}
