// A Tessera that speaks DPoP (RFC 9449) behind a fake `fetch`: it checks every proof it gets with
// the verifier's own `checkDpopProof` (the independent check of what the SDK signs), binds the
// session to the first proof's key, issues tokens with `cnf.jkt`, and can ask for nonces.
import { checkDpopProof } from '@tessera/verifier/core';
import type { TokenGrant } from '../src/token-grant.js';

/** A request as the fake saw it, with the outcome of its proof check. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly proof: string | null;
  /** The proof's `nonce`, when it passed. */
  readonly nonce: string | null;
  /** The proof's key thumbprint when it passed; the refusal's reason when it did not; null without a proof. */
  readonly outcome: { readonly jkt: string } | { readonly refused: string } | null;
}

/** How a refusal for want of a nonce is put: RFC 9449's OAuth error, or a Tessera envelope. */
export type NonceRefusal = 'oauth' | 'envelope';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function dpopEnvelope(reason: string) {
  return { success: false, error: 'dpop_proof_invalid', message: `proof: ${reason}`, details: [{ reason }], retry_after: null };
}

export class DpopTessera {
  readonly baseUrl = 'http://tessera.test';
  /** The server's clock (epoch ms); a test moves it. */
  now: () => number = () => Date.now();
  /** Access token lifetime, seconds. */
  ttl = 900;
  /** The key the session is bound to (RFC 7638 thumbprint): from `dpop_jkt`, or the first refresh with a proof. */
  boundTo: string | null = null;
  /** While set, a proof must carry this nonce; the refusal gives it in `DPoP-Nonce`. */
  nonce: string | null = null;
  nonceRefusal: NonceRefusal = 'oauth';
  /** Answers that carry no nonce, whatever a proof says: a refusal the client must not loop on. */
  refuseEveryNonce = false;
  readonly seen: SeenRequest[] = [];
  #counter = 0;

  /** What `POST /v1/sessions` answers; `dpopJkt` binds the session from its first token, as `dpop_jkt` does. */
  signIn(dpopJkt?: string): TokenGrant {
    if (dpopJkt !== undefined) this.boundTo = dpopJkt;
    return this.#grant();
  }

  /** The requests to `path`, in order. */
  to(path: string): SeenRequest[] {
    return this.seen.filter((request) => request.path === path);
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const authorization = request.headers.get('authorization');
    const token = /^(?:Bearer|DPoP) (.+)$/.exec(authorization ?? '')?.[1];
    const proof = request.headers.get('dpop');
    const boundTo = path === '/v1/token/refresh' ? this.boundTo : token ? this.#boundKeyOf(token) : null;
    const checked = proof === null ? null : await this.#check(proof, request, authorization?.startsWith('DPoP ') ? token : undefined, boundTo);
    this.seen.push({
      method: request.method,
      path,
      authorization,
      proof,
      nonce: checked && 'nonce' in checked ? checked.nonce : null,
      outcome: checked === null ? null : 'jkt' in checked ? { jkt: checked.jkt } : { refused: checked.refused },
    });
    if (checked && 'refused' in checked) return this.#refusal(checked.refused, path !== '/v1/token/refresh');
    if (path === '/v1/token/refresh') {
      if (boundTo !== null && checked === null) return json(401, dpopEnvelope('missing'));
      if (checked) this.boundTo ??= checked.jkt;
      return json(200, this.#grant(), this.nonce ? { 'dpop-nonce': this.nonce } : {});
    }
    if (!token) return json(401, { success: false, error: 'token_missing', message: 'no token', details: [], retry_after: null });
    // A resource server: a bound token must come as DPoP, with a proof by its key.
    if (boundTo !== null && (checked === null || !authorization?.startsWith('DPoP '))) return json(401, dpopEnvelope('missing'));
    return json(200, { ok: true, path });
  };

  async #check(
    proof: string,
    request: Request,
    accessToken: string | undefined,
    boundTo: string | null,
  ): Promise<{ jkt: string; nonce: string | null } | { refused: string }> {
    const nonce = this.nonce;
    try {
      const checked = await checkDpopProof(proof, {
        method: request.method,
        url: request.url,
        now: this.now(),
        ...(accessToken === undefined ? {} : { accessToken }),
        ...(boundTo === null ? {} : { boundTo }),
        ...(nonce === null ? {} : { acceptsNonce: (sent: string | undefined) => !this.refuseEveryNonce && sent === nonce }),
      });
      const payload = JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString()) as { nonce?: string };
      return { jkt: checked.jkt, nonce: payload.nonce ?? null };
    } catch (error) {
      const details = (error as { details?: { reason?: string }[] }).details;
      return { refused: details?.[0]?.reason ?? String(error) };
    }
  }

  /** A refused proof: for want of a nonce as RFC 9449 puts it (§8 for the token endpoint, §9 for a resource), else the envelope. */
  #refusal(reason: string, resource: boolean): Response {
    if (reason !== 'nonce' || this.nonce === null) return json(401, dpopEnvelope(reason));
    const headers = { 'dpop-nonce': this.nonce };
    if (resource)
      return new Response(null, {
        status: 401,
        headers: { ...headers, 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"' },
      });
    if (this.nonceRefusal === 'oauth')
      return json(400, { error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' }, headers);
    return json(401, dpopEnvelope('nonce'), headers);
  }

  #boundKeyOf(token: string): string | null {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt?: string } };
    return claims.cnf?.jkt ?? null;
  }

  #grant(): TokenGrant {
    this.#counter += 1;
    const now = this.now();
    const iat = Math.floor(now / 1000);
    const claims = {
      sub: 'alice',
      sid: 'ses_1',
      iat,
      exp: iat + this.ttl,
      jti: String(this.#counter),
      ...(this.boundTo ? { cnf: { jkt: this.boundTo } } : {}),
    };
    return {
      access_token: `${encode({ alg: 'ES256', typ: 'at+jwt' })}.${encode(claims)}.signature`,
      refresh_token: `rt_${this.#counter}`,
      token_type: this.boundTo ? 'DPoP' : 'Bearer',
      server_time: new Date(now).toISOString(),
    };
  }
}
