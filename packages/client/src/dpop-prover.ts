/** A client's DPoP: its key, the server's nonces and the server clock, behind one `proof()` and one `send()`. */
import { type DpopKey, dpopKeyOf } from './dpop-key.js';
import { type DpopKeyPairSource, defaultDpopKeyPairSource } from './dpop-key-store.js';
import { asksForNonce, DpopNonces } from './dpop-nonce.js';
import { signDpopProof } from './dpop-proof.js';

/**
 * DPoP for a client session (`createSessionClient({ dpop })`): `true` for the device's own key (in
 * browsers and workers kept in IndexedDB, one per `baseUrl` for every tab; in Node kept in memory
 * for the client's life), or the app's own ES256 pair.
 */
export type DpopOption = boolean | DpopOptions;

export interface DpopOptions {
  /** An ECDSA P-256 pair to prove with instead of the device's own (make its private key non-extractable). */
  readonly key?: CryptoKeyPair;
}

/** The prover `option` asks for; null when DPoP is off. */
export function createDpopProver(option: DpopOption | undefined, baseUrl: string, serverNow: () => number): DpopProver | null {
  if (option === undefined || option === false) return null;
  const given = option === true ? undefined : option.key;
  const pairSource: DpopKeyPairSource = given === undefined ? defaultDpopKeyPairSource(baseUrl) : () => Promise.resolve(given);
  return new DpopProver(pairSource, serverNow);
}

/** The request a proof is for. */
export interface DpopProofRequest {
  readonly method: string;
  readonly url: string;
  /** The access token it carries (`Authorization: DPoP …`), hashed into `ath`. */
  readonly accessToken?: string;
}

export class DpopProver {
  readonly #pairSource: DpopKeyPairSource;
  readonly #serverNow: () => number;
  readonly #nonces = new DpopNonces();
  #key: Promise<DpopKey> | null = null;

  /** `serverNow`: the client's estimate of the server's clock, so `iat` is right on a device whose clock is off. */
  constructor(pairSource: DpopKeyPairSource, serverNow: () => number) {
    this.#pairSource = pairSource;
    this.#serverNow = serverNow;
  }

  /** The key, loaded (or made) once; a failure is not kept, the next call tries again. */
  key(): Promise<DpopKey> {
    if (this.#key === null) {
      const loading = this.#pairSource().then(dpopKeyOf);
      this.#key = loading;
      loading.catch(() => {
        if (this.#key === loading) this.#key = null;
      });
    }
    return this.#key;
  }

  async thumbprint(): Promise<string> {
    return (await this.key()).thumbprint;
  }

  /** A new proof for `request`, with the latest nonce its server gave. */
  async proof(request: DpopProofRequest): Promise<string> {
    const nonce = this.#nonces.for(request.url);
    return signDpopProof(await this.key(), {
      method: request.method,
      url: request.url,
      issuedAt: this.#serverNow(),
      ...(request.accessToken === undefined ? {} : { accessToken: request.accessToken }),
      ...(nonce === undefined ? {} : { nonce }),
    });
  }

  /**
   * Sends `request` through `send` with a new proof, keeps the nonce the answer gives, and when the
   * answer asks for a nonce it has just given, sends once more with a proof that carries it.
   */
  async send(request: DpopProofRequest, send: (proof: string) => Promise<Response>): Promise<Response> {
    const used = this.#nonces.for(request.url);
    const response = await send(await this.proof(request));
    this.#nonces.remember(request.url, response);
    const fresh = this.#nonces.for(request.url);
    if (fresh === undefined || fresh === used || !(await asksForNonce(response))) return response;
    // The refused answer is dropped unread past its clone: read to the end, so the browser closes it.
    await response.arrayBuffer().catch(() => undefined);
    const retried = await send(await this.proof(request));
    this.#nonces.remember(request.url, retried);
    return retried;
  }
}
