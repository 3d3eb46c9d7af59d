import type { DpopProver } from './dpop-prover.js';
import { type ErrorEnvelope, errorFromEnvelope, isErrorEnvelope, retryAfterSeconds } from './envelope.js';
import { SessionEndedError, SilentAuthFailedError, type TesseraError } from './errors.js';
import { systemTimers, type Timers } from './timers.js';
import { isTokenGrant, type TokenGrant } from './token-grant.js';

/** The header that proves a cookie refresh comes from a page allowed to make it (the server's CSRF check). */
export const csrfHeader = 'x-tessera-csrf';

export type FetchFunction = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface RefreshRequest {
  readonly fetch: FetchFunction;
  /** The full URL of `POST /v1/token/refresh`. */
  readonly url: string;
  /** The refresh token to present; null to present the refresh cookie only. */
  readonly refreshToken: string | null;
  /** Send the refresh cookie (the server's cookie mode): credentials included, with the CSRF header. */
  readonly withCookie?: boolean;
  /** Milliseconds before the request is abandoned. */
  readonly timeout: number;
  readonly deviceNow: () => number;
  /** Where the timeout's timer comes from. Default: the globals. */
  readonly timers?: Timers;
  /** Prove the device's DPoP key: a `DPoP` header on the request, sent again once when the server asks for a nonce. */
  readonly dpop?: DpopProver;
}

/** A timeout timer this late (ms) fired after the page was frozen or the device slept. */
const lateTimer = 1000;

/** A new pair, with the device times that bracket the request (for the server clock). */
export interface RefreshAnswer {
  readonly grant: TokenGrant;
  readonly sentAt: number;
  readonly receivedAt: number;
}

/**
 * Exchanges a refresh token for a new pair. Every other outcome is one of two errors:
 * - `SilentAuthFailedError`, passing: no answer (network, timeout), or 5xx, 408, 429, or a 2xx
 *   without a token pair (a captive portal's page). The session is kept and the refresh retried.
 * - `SessionEndedError`, final: the server says the session is over (`session_expired`, …); or, in
 *   cookie mode, no refresh cookie reached it (`refresh_token_unavailable`); or any other 4xx
 *   (`refresh_refused`, the server's error as `cause` and its code in `details[0].error`), which the
 *   same request would get again: never retried in a loop.
 */
export async function requestRefresh(request: RefreshRequest): Promise<RefreshAnswer> {
  const controller = new AbortController();
  const sentAt = request.deviceNow();
  // A timeout timer that fires late (the page was frozen, the device slept) waits once more: the
  // answer may have arrived meanwhile, and abandoned, its refresh token (spent by the server) would
  // be presented again, perhaps past the reuse interval, which ends the session.
  const abort = () => controller.abort(new Error(`refresh timed out after ${request.timeout} ms`));
  const timers = request.timers ?? systemTimers;
  let timer = timers.setTimeout(() => {
    const late = request.deviceNow() - (sentAt + request.timeout) > lateTimer;
    if (late) timer = timers.setTimeout(abort, request.timeout);
    else abort();
  }, request.timeout);
  try {
    let response: Response;
    let body: unknown;
    try {
      const send = (proof: string | null) =>
        request.fetch(request.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            // A header a form or a cross-site page cannot add without a preflight the server refuses.
            ...(request.withCookie ? { [csrfHeader]: '1' } : {}),
            ...(proof === null ? {} : { dpop: proof }),
          },
          body: JSON.stringify(request.refreshToken === null ? {} : { refresh_token: request.refreshToken }),
          signal: controller.signal,
          credentials: request.withCookie ? 'include' : 'omit',
          cache: 'no-store',
        });
      response = request.dpop ? await request.dpop.send({ method: 'POST', url: request.url }, send) : await send(null);
      body = await response.json().catch(() => undefined);
    } catch (cause) {
      const timedOut = controller.signal.aborted;
      throw new SilentAuthFailedError({
        message: timedOut ? 'The refresh timed out.' : 'The refresh could not reach the server.',
        cause,
      });
    }
    const receivedAt = request.deviceNow();
    // In cookie mode the answer may leave the refresh token out: it is in the cookie.
    if (response.ok && isTokenGrant(body, !request.withCookie)) return { grant: body, sentAt, receivedAt };
    throw classifyFailure(response, body, request.withCookie === true);
  } finally {
    timers.clearTimeout(timer);
  }
}

/** What a refresh answer other than a new pair means to the client. */
function classifyFailure(response: Response, body: unknown, withCookie: boolean): TesseraError {
  const envelope = isErrorEnvelope(body) ? body : null;
  const retryAfter = retryAfterSeconds(envelope?.retry_after ?? null, response.headers.get('retry-after'));
  const transient = response.ok || response.status >= 500 || response.status === 429 || response.status === 408;
  if (!transient) return finalFailure(response, envelope, withCookie);
  return new SilentAuthFailedError({
    message: response.ok ? 'The refresh answer had no token pair.' : `The refresh failed with HTTP ${response.status}.`,
    status: response.status,
    retryAfter,
    details: envelope ? [{ error: envelope.error }] : [],
    requestId: envelope?.request_id ?? response.headers.get('x-request-id'),
    cause: envelope ? errorFromEnvelope(envelope, response.status, response.headers.get('retry-after')) : undefined,
  });
}

/** A refresh answer that the same request would get again: the session ends here, said once. */
function finalFailure(response: Response, envelope: ErrorEnvelope | null, withCookie: boolean): SessionEndedError {
  const serverError = envelope ? errorFromEnvelope(envelope, response.status, response.headers.get('retry-after')) : null;
  if (serverError instanceof SessionEndedError) return serverError;
  const requestId = envelope?.request_id ?? response.headers.get('x-request-id');
  if (withCookie && serverError?.code === 'token_missing') {
    return new SessionEndedError('refresh_token_unavailable', {
      message: 'No refresh cookie reached the server (cleared, expired or blocked by the browser): the session cannot be refreshed here. Please sign in again.',
      status: response.status,
      details: [{ reason: 'no_refresh_cookie' }],
      requestId,
      cause: serverError,
    });
  }
  const what = serverError ? `${serverError.code}: ${serverError.message}` : `HTTP ${response.status} without a Tessera error envelope`;
  return new SessionEndedError('refresh_refused', {
    message: `The server refused the refresh (${what}). Retrying would not help: check the client's baseUrl and the server's CORS and cookie settings.`,
    status: response.status,
    details: [{ error: serverError?.code ?? null, status: response.status, message: serverError?.message ?? null, request_id: requestId }],
    requestId,
    docUrl: serverError?.docUrl ?? null,
    cause: serverError ?? undefined,
  });
}
