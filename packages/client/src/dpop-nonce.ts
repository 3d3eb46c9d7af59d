/** Server-provided nonces (RFC 9449 §8, §9): the latest `DPoP-Nonce` of each origin, and the answer that asks for one. */

export const dpopNonceHeader = 'dpop-nonce';

/** The latest nonce each origin gave, to put in the next proof for it. */
export class DpopNonces {
  readonly #byOrigin = new Map<string, string>();

  /** The nonce to send to `url`'s origin, if it gave one. */
  for(url: string): string | undefined {
    return this.#byOrigin.get(originOf(url));
  }

  /** Keeps the `DPoP-Nonce` of an answer from `url` (any answer: a server may hand out the next one on success). */
  remember(url: string, response: Response): void {
    const nonce = response.headers.get(dpopNonceHeader);
    if (nonce) this.#byOrigin.set(originOf(url), nonce);
  }
}

/**
 * Whether `response` refuses a proof for want of a (new) nonce and gives one: a 400 or 401 with a
 * `DPoP-Nonce` header that says `use_dpop_nonce` in a `WWW-Authenticate: DPoP` challenge (a resource
 * server, §9) or in an OAuth error body (an authorization server, §8), or whose Tessera envelope is
 * `dpop_proof_invalid` for its `nonce`. The body is read from a clone.
 */
export async function asksForNonce(response: Response): Promise<boolean> {
  if (response.status !== 400 && response.status !== 401) return false;
  if (!response.headers.get(dpopNonceHeader)) return false;
  if (/error\s*=\s*"?use_dpop_nonce\b/i.test(response.headers.get('www-authenticate') ?? '')) return true;
  if (!(response.headers.get('content-type') ?? '').includes('json')) return false;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return false;
  }
  if (typeof body !== 'object' || body === null) return false;
  const { error, details } = body as { error?: unknown; details?: unknown };
  if (error === 'use_dpop_nonce') return true;
  return error === 'dpop_proof_invalid' && Array.isArray(details) && details.some((detail) => (detail as { reason?: unknown } | null)?.reason === 'nonce');
}

/** Nonces are per server: the origin, with a socket's `ws:` as `http:`. */
function originOf(url: string): string {
  return new URL(url.replace(/^ws/i, 'http')).origin;
}
