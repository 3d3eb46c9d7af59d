import { readAccessTokenClaims } from './access-token-claims.js';
import type { DpopProver } from './dpop-prover.js';
import { errorFromEnvelope, readErrorEnvelope } from './envelope.js';
import { TesseraError } from './errors.js';
import type { FetchFunction } from './token-endpoint.js';

/** An app's request, ready to be sent with an access token as many times as asked. */
export interface AuthorizedRequest {
  /** Its method as `fetch` sends it (the standard ones upper-cased), for a DPoP proof's `htm`. */
  readonly method: string;
  /** Its absolute URL (a relative one resolved against the page), for a DPoP proof's `htu`; null when it cannot be told. */
  readonly url: string | null;
  /** Sends it with `Authorization: <authorization>`, and a `DPoP` header when `proof` is given. */
  send(authorization: string, proof?: string): Promise<Response>;
}

/** `input` as an `AuthorizedRequest`: a `Request` is cloned before each send. */
export function requestSender(input: RequestInfo | URL, init: RequestInit | undefined, fetchImpl: FetchFunction): AuthorizedRequest {
  const withAuthorization = (base: HeadersInit | undefined, authorization: string, proof: string | undefined) => {
    const headers = new Headers(base);
    headers.set('authorization', authorization);
    if (proof !== undefined) headers.set('dpop', proof);
    return headers;
  };
  if (typeof Request === 'function' && input instanceof Request) {
    const base = new Request(input, init);
    return {
      method: base.method,
      url: base.url,
      send(authorization, proof) {
        const attempt = base.clone();
        return fetchImpl(new Request(attempt, { headers: withAuthorization(attempt.headers, authorization, proof) }));
      },
    };
  }
  return {
    method: fetchMethod(init?.method ?? 'GET'),
    url: absoluteUrl(input instanceof URL ? input.href : String(input)),
    send: (authorization, proof) => fetchImpl(input, { ...init, headers: withAuthorization(init?.headers, authorization, proof) }),
  };
}

/**
 * Sends `request` with `token`: as `Authorization: DPoP` with a proof (its `ath` the token's hash)
 * when the token is bound to a key (`cnf.jkt`) and the client proves one; else as a bearer token,
 * which is all a token without `cnf` needs.
 */
export function sendWithAccessToken(request: AuthorizedRequest, token: string, dpop: DpopProver | null): Promise<Response> {
  const url = request.url;
  if (dpop === null || url === null || readAccessTokenClaims(token).boundKey === null) return request.send(`Bearer ${token}`);
  return dpop.send({ method: request.method, url, accessToken: token }, (proof) => request.send(`DPoP ${token}`, proof));
}

/** Methods `fetch` upper-cases (the Fetch standard's "normalize"); any other is sent as written. */
const normalizedMethods = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];

function fetchMethod(method: string): string {
  const upper = method.toUpperCase();
  return normalizedMethods.includes(upper) ? upper : method;
}

function absoluteUrl(url: string): string | null {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    return null;
  }
}

/** The error a non-2xx answer stands for: its envelope's, else `internal_error` with the status. */
export async function errorFromResponse(response: Response): Promise<TesseraError> {
  const envelope = await readErrorEnvelope(response);
  if (envelope) return errorFromEnvelope(envelope, response.status, response.headers.get('retry-after'));
  return new TesseraError('internal_error', { status: response.status, message: `Unexpected HTTP ${response.status} without an error envelope.` });
}
