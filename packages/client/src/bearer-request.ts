import { errorFromEnvelope, readErrorEnvelope } from './envelope.js';
import { TesseraError } from './errors.js';
import type { FetchFunction } from './token-endpoint.js';

/** Sends `input` with a bearer token, as many times as asked: a `Request` is cloned before each send. */
export function requestSender(input: RequestInfo | URL, init: RequestInit | undefined, fetchImpl: FetchFunction): (token: string) => Promise<Response> {
  if (typeof Request === 'function' && input instanceof Request) {
    const base = new Request(input, init);
    return (token) => {
      const attempt = base.clone();
      const headers = new Headers(attempt.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetchImpl(new Request(attempt, { headers }));
    };
  }
  return (token) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetchImpl(input, { ...init, headers });
  };
}

/** The error a non-2xx answer stands for: its envelope's, else `internal_error` with the status. */
export async function errorFromResponse(response: Response): Promise<TesseraError> {
  const envelope = await readErrorEnvelope(response);
  if (envelope) return errorFromEnvelope(envelope, response.status, response.headers.get('retry-after'));
  return new TesseraError('internal_error', { status: response.status, message: `Unexpected HTTP ${response.status} without an error envelope.` });
}
