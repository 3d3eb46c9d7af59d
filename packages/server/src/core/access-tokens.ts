import { type AccessTokenClaims, type AccessTokenKeyLookup, type CheckedAccessToken, checkAccessToken, tokenExpiredError } from '@tessera/verifier/core';
import type { Clock } from './clock.js';
import { TesseraError } from './errors.js';
import { newId } from './ids.js';
import { keyObjectOf } from './jws-sign.js';
import { KeyEncryptionError } from './key-encryption.js';
import type { SessionRecord } from './session.js';
import { type SigningKeys, signingAlgorithm } from './signing-keys.js';
import { JwsSigner } from './signing-thread.js';

export type { AccessTokenCheckOptions, AccessTokenClaims, AccessTokenKeyLookup, CheckedAccessToken } from '@tessera/verifier/core';
// The check itself is shared with the offline verifier, which lives in its own package.
export { checkAccessToken, tokenExpiredError };

export interface AccessTokensOptions {
  readonly keys: SigningKeys;
  readonly clock: Clock;
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
}

/** Checked tokens are remembered by their full text (signature included), so a repeat costs a map lookup. */
const checkedCacheSize = 10_000;

/** Signs and verifies access tokens; verification is pinned to one algorithm and one `typ`. */
export class AccessTokens {
  readonly #options: AccessTokensOptions;
  readonly #checked = new Map<string, { claims: AccessTokenClaims; kid: string }>();
  readonly #keyFor: AccessTokenKeyLookup = (kid) => this.#options.keys.verificationKey(kid);
  readonly #signer = new JwsSigner();

  constructor(options: AccessTokensOptions) {
    this.#options = options;
  }

  /**
   * Signs a token for the session, expiring after `ttl` seconds or at `notAfter`, whichever is first.
   * A session bound to a DPoP key gets `cnf.jkt` (RFC 9449 §6): the token is usable only with that key's proofs.
   */
  async sign(
    session: Pick<SessionRecord, 'id' | 'userId' | 'flow'> & { readonly dpopJkt?: string | null },
    ttl: number,
    notAfter: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const { issuer, audience, clientId, clock } = this.#options;
    const iat = Math.floor(clock.now() / 1000);
    const exp = Math.min(iat + ttl, Math.floor(notAfter / 1000));
    const { kid, privateKey } = await this.#currentKey();
    // RFC 9068 claims, plus the session's id and flow.
    const payload = {
      client_id: clientId,
      sid: session.id,
      flow: session.flow,
      iss: issuer,
      sub: session.userId,
      aud: audience,
      iat,
      exp,
      jti: newId('', clock.now()),
      ...(session.dpopJkt ? { cnf: { jkt: session.dpopJkt } } : {}),
    };
    const token = await this.#signer.sign({ alg: signingAlgorithm, typ: 'at+jwt', kid }, payload, keyObjectOf(privateKey));
    return { token, expiresAt: exp * 1000 };
  }

  /**
   * The key to sign with. A node that cannot open it (another node rotated to a key sealed under a
   * key-encryption key this node was not given) answers 503 until it is restarted with that KEK:
   * the sessions are intact, so the caller must not sign anyone out.
   */
  async #currentKey(): Promise<{ kid: string; privateKey: CryptoKey }> {
    try {
      return await this.#options.keys.currentKey();
    } catch (error) {
      if (!(error instanceof KeyEncryptionError)) throw error;
      throw new TesseraError('service_unavailable', { retryAfter: 30, cause: error });
    }
  }

  /** Stops the signing thread, if it started (the node is closing). */
  close(): Promise<void> {
    return this.#signer.close();
  }

  /** Verifies signature, algorithm, `typ`, issuer, audience and expiry; throws `token_expired` or `token_invalid`. */
  async verify(token: string): Promise<AccessTokenClaims> {
    const { claims, expired } = await this.check(token);
    if (expired) throw tokenExpiredError(claims.exp);
    return claims;
  }

  /**
   * Verifies everything but expiry, and tells whether the token has expired instead of throwing: the
   * claims of an expired token can then be trusted to look its session up. Throws `token_invalid`.
   */
  async check(token: string): Promise<CheckedAccessToken> {
    const { issuer, audience, clock } = this.#options;
    const now = clock.now();
    const known = this.#checked.get(token);
    // A key retired early stops verifying here as on a node that never saw the token.
    if (known && this.#options.keys.stillVerifies(known.kid)) return { claims: known.claims, kid: known.kid, expired: known.claims.exp * 1000 <= now };
    if (known) this.#checked.delete(token);
    const checked = await checkAccessToken(token, this.#keyFor, { algorithms: [signingAlgorithm], issuer, audience, now });
    if (this.#checked.size >= checkedCacheSize) {
      const oldest = this.#checked.keys().next().value;
      if (oldest !== undefined) this.#checked.delete(oldest);
    }
    this.#checked.set(token, { claims: checked.claims, kid: checked.kid });
    return checked;
  }
}
