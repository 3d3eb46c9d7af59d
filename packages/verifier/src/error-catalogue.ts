/** The `error` values of RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 and RFC 9449 §7.1 that Tessera sends. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'unsupported_grant_type'
  | 'unsupported_token_type'
  | 'temporarily_unavailable'
  | 'server_error';

/**
 * The one catalogue of Tessera error codes. The HTTP envelope, the doc pages at
 * `/docs/errors/:code`, the README table, the socket close codes, the OAuth errors, the lists of
 * codes that end a session and the client SDK's codes are all generated from this object, so they
 * cannot drift apart.
 */
export interface ErrorDefinition {
  /** HTTP status the code is sent with. */
  readonly status: number;
  /** One sentence for the end user. */
  readonly message: string;
  /** What the calling application should do. */
  readonly clientAction: string;
  /** What the code means, for the doc page. */
  readonly meaning: string;
  /** Situations in which it is returned. */
  readonly when: readonly string[];
  /** An example `details` array, for the doc page. */
  readonly exampleDetails: readonly Record<string, unknown>[];
  /** Whether the code is produced only by the client SDK, never by the server. */
  readonly clientOnly?: boolean;
  /**
   * Whether the code says the session itself is over (expired, revoked, unknown): refreshing cannot
   * help, a socket sends `session_ended` before it closes, a refresh cookie is cleared.
   */
  readonly endsSession?: boolean;
  /**
   * Whether the client SDK ends its client session on this code though the server may not have ended
   * the session (a token it cannot trust, a refresh it cannot make). Codes that `endsSession` do too.
   */
  readonly endsClientSession?: boolean;
  /** The WebSocket close code a realtime socket ends with for this code; absent when a socket never does. */
  readonly closeCode?: number;
  /** The OAuth `error` sent for this code on the OAuth routes; `invalid_request` when absent. */
  readonly oauthError?: OAuthErrorCode;
}

function defineErrorCodes<const T extends Record<string, ErrorDefinition>>(codes: T): T {
  return codes;
}

export const errorCatalogue = defineErrorCodes({
  token_expired: {
    status: 401,
    message: 'The access token has expired. Refresh it and try again.',
    clientAction: 'Refresh the access token with the refresh token, then retry the request once.',
    meaning:
      "The access token was genuine but is past its `exp`. This is the normal end of every access token: they live minutes, the session lives on. Nothing is wrong with the session: when it has ended too, the server answers with the session's code (`session_expired`, `session_revoked`, `session_not_found`) instead, so a refresh after `token_expired` is worth trying.",
    when: [
      'The app kept one access token from page load and reused it after its lifetime.',
      'A background tab was throttled and its scheduled refresh ran late.',
      'The device clock is behind the server clock, so the client thought the token was still fresh.',
    ],
    exampleDetails: [{ expired_at: '2026-05-25T12:30:00.000Z' }],
    closeCode: 4001,
  },
  token_invalid: {
    status: 401,
    message: 'The access token is not valid. Please sign in again.',
    clientAction: 'Do not retry with the same token. Sign the user in again.',
    meaning:
      'The token could not be trusted: it is malformed, its signature does not verify, it uses an algorithm other than the pinned one (including `none` and HMAC), its `kid` is unknown, or its `typ`, issuer or audience is wrong.',
    when: [
      'The token was truncated or altered in transit or in storage.',
      'A token from another issuer or environment (staging vs production) was sent.',
      'The signing key was rotated long enough ago that the old key left the JWKS.',
    ],
    exampleDetails: [{ reason: 'signature verification failed' }],
    endsClientSession: true,
    closeCode: 4002,
  },
  dpop_proof_invalid: {
    status: 401,
    message: 'This request could not be proven to come from your device. Please try again.',
    clientAction:
      "Make a new DPoP proof for this request (method, URL, a fresh `jti` and `iat`, the access token's `ath`) with the key the session is bound to, and send it once more; with a `DPoP-Nonce` header, put that nonce in it. The Tessera client SDK does this itself.",
    meaning:
      "The session is sender-constrained (RFC 9449, DPoP): its tokens are bound to a key the signing-in device holds, and this request's `DPoP` proof was missing or did not hold. `details[0].reason` says which check failed: `missing`, `malformed`, `typ`, `alg` (only asymmetric algorithms, never `none` or HMAC), `jwk` (the header must carry a public key, never a private one), `signature`, `jti`, `htm`, `htu` (another method or URL than this request's), `iat` (not made just now), `ath` (made for another access token), `nonce`, `key_mismatch` (signed by another key than the session's) or `replayed` (a proof is good for one request). A token presented without its key's proof may have been copied off the device.",
    when: [
      'A refresh token or access token copied out of the browser is replayed from elsewhere, without the private key that never leaves the device.',
      "The proof was made for another URL, such as the app's own origin instead of Tessera's.",
      'The same proof was sent twice, or kept and sent minutes later.',
    ],
    exampleDetails: [{ reason: 'htu' }],
    oauthError: 'invalid_dpop_proof',
    closeCode: 4401,
  },
  token_missing: {
    status: 401,
    message: 'No access token was presented. Please sign in.',
    clientAction: 'Send `Authorization: Bearer <access token>`; if the user has no session, sign them in.',
    meaning:
      'The request carried no credentials at all: no bearer token, or, for a refresh in cookie mode, neither a `refresh_token` in the body nor the refresh cookie. Nothing is malformed; there is nothing left to refresh with.',
    when: [
      'The `Authorization` header is absent or uses another scheme.',
      'A proxy stripped the header.',
      'Cookie mode: a refresh arrived without the refresh cookie (cleared by the user, expired, or blocked by the browser) and without a body `refresh_token`.',
    ],
    exampleDetails: [],
    // No `auth` message within the auth timeout.
    closeCode: 4008,
  },
  session_expired: {
    status: 401,
    message: 'Your session has expired. Please sign in again.',
    clientAction: 'Clear local tokens and sign the user in again. Refreshing cannot help.',
    meaning:
      'The session reached its natural end: its absolute lifetime (`reason: "absolute"`) or its idle timeout with no refresh (`reason: "idle"`). The record still exists; it will not come back. Session lifetimes differ by flow: a verification flow session lives minutes, a dashboard session days.',
    when: [
      'The user left a tab open overnight and came back after the idle timeout.',
      'A short-lived flow (verification, exchange) took longer than its lifetime.',
      'The absolute lifetime of a long session was reached, however active the user was.',
      "An access token was presented after both it and its session had expired (the session's code wins over `token_expired`).",
    ],
    exampleDetails: [{ reason: 'idle', expired_at: '2026-05-25T12:30:00.000Z' }],
    endsSession: true,
    closeCode: 4005,
    oauthError: 'invalid_grant',
  },
  session_revoked: {
    status: 401,
    message: 'Your session has ended. Please sign in again.',
    clientAction: 'Clear local tokens, tell the user why (the reason in `details`), and sign them in again.',
    meaning:
      'The session was ended on purpose. `details[0].reason` says why: `logout` (the user signed out), `admin` (an administrator or the app backend revoked it), `reuse_detected` (a spent refresh token was presented after the grace window, a sign it was stolen), `signed_out_elsewhere` (the user signed out of other devices).',
    when: [
      'The user clicked "sign out" in this or another tab.',
      'The user chose "sign out of all other devices" elsewhere.',
      'An administrator revoked the session.',
      'An old refresh token was replayed after its reuse interval.',
      "An app's API whose verifier reads the revocation feed refused a token of the session, though the token itself had not expired yet.",
      "An expired access token of a revoked session was presented (the session's code wins over `token_expired`).",
    ],
    exampleDetails: [{ reason: 'signed_out_elsewhere', revoked_at: '2026-05-25T12:30:00.000Z' }],
    endsSession: true,
    closeCode: 4003,
    oauthError: 'invalid_grant',
  },
  session_not_found: {
    status: 401,
    message: 'This session does not exist. Please sign in again.',
    clientAction: 'Clear local tokens and sign the user in again.',
    meaning:
      'No session or refresh token matches what was presented. Unlike expired or revoked, there is no record at all: the token was never issued by this server, or the data was removed.',
    when: ['A refresh token from another environment or a wiped database was presented.', 'The refresh token was mistyped or truncated.'],
    exampleDetails: [],
    endsSession: true,
    closeCode: 4004,
    oauthError: 'invalid_grant',
  },
  invalid_request: {
    status: 400,
    message: 'The request is malformed.',
    clientAction: 'Fix the call: `details` lists each offending field.',
    meaning: 'The body is not valid JSON, a field has the wrong type, a required field is missing, or a value is not allowed (such as an unknown flow).',
    when: [
      'The body is not JSON or is cut short.',
      'A number was sent where a string is expected.',
      'The flow named in `POST /v1/sessions` is not configured.',
    ],
    exampleDetails: [{ field: 'user_id', message: 'must be string' }],
    // Garbage on a socket: not JSON, not an object, an unknown `type`, a message before `auth`.
    closeCode: 4400,
  },
  api_key_invalid: {
    status: 401,
    message: 'The API key is missing or not valid.',
    clientAction: 'Fix the configuration of the calling backend: send `Authorization: Bearer <api key>`.',
    meaning: 'A management call arrived without the API key, or with one this server does not accept.',
    when: ['The backend was deployed without `TESSERA_API_KEY`.', 'The key was rotated on the server but not in the backend.'],
    exampleDetails: [],
    oauthError: 'invalid_client',
  },
  csrf_failed: {
    status: 403,
    message: 'The request lacks the header that proves it came from the app, not another site.',
    clientAction: 'Send `X-Tessera-CSRF: 1` with every refresh that relies on the refresh cookie (the SDK does).',
    meaning:
      'Cookie mode only: a refresh authenticated by the refresh cookie must carry the custom header `X-Tessera-CSRF: 1`. A form or a cross-site page cannot add it without a CORS preflight that Tessera refuses for origins not listed, so its absence means the request may be forged.',
    when: [
      'A page used the refresh cookie with a plain `fetch` that did not set the header.',
      'Another site tried to make the browser refresh (cross-site request forgery).',
    ],
    exampleDetails: [{ header: 'X-Tessera-CSRF', reason: 'missing' }],
  },
  origin_not_allowed: {
    status: 403,
    message: 'This origin may not call this route from a browser.',
    clientAction: 'Add the app origin to `cors.origins` in the config file; never call the management API from a browser.',
    meaning:
      'A browser request came from an origin the config file does not list: a CORS preflight from an unlisted origin or to a route that browsers may not call (the management API), or a cookie-authenticated refresh whose `Origin` is neither listed nor the server itself.',
    when: [
      'The app moved to a new domain and `cors.origins` was not updated.',
      'A page tried to call the management API with an API key (API keys do not belong in browsers).',
      'Another site tried to use the refresh cookie.',
    ],
    exampleDetails: [{ origin: 'https://evil.example' }],
  },
  client_invalid: {
    status: 401,
    message: 'The OAuth client could not be authenticated.',
    clientAction: 'Fix the configuration of the OAuth client: its `client_id` and secret (HTTP Basic), or the API key.',
    meaning:
      'A call to `/oauth/token`, `/oauth/revoke` or `/oauth/introspect` named a confidential client without its secret, sent a wrong secret, or (introspection) sent neither client credentials nor the API key. OAuth clients see it as `invalid_client`.',
    when: ['The client secret was rotated in the config file but not in the client.', 'A confidential client was set up as a public one.'],
    exampleDetails: [{ reason: 'unknown client or wrong secret' }],
    oauthError: 'invalid_client',
  },
  not_found: {
    status: 404,
    message: 'There is nothing here.',
    clientAction: 'Check the URL and the identifier.',
    meaning: 'No such route, or no such resource (for example an unknown session id in a management call).',
    when: ['A typo in the path.', 'A management lookup of a session id that was never issued.'],
    exampleDetails: [],
  },
  method_not_allowed: {
    status: 405,
    message: 'This method is not allowed on this route.',
    clientAction: 'Use one of the methods this route supports.',
    meaning: 'The route exists but not with this HTTP method.',
    when: ['`GET` on a route that only takes `POST`.'],
    exampleDetails: [{ method: 'GET' }],
  },
  unsupported_media_type: {
    status: 415,
    message: 'The request body has a content type this route does not accept.',
    clientAction: 'Send `Content-Type: application/json` (or form-encoded where the route says so).',
    meaning: 'The body was sent with a content type the route cannot parse.',
    when: ['A JSON body sent as `text/plain`.'],
    exampleDetails: [{ content_type: 'text/plain' }],
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is too large.',
    clientAction: 'Send a smaller body.',
    meaning: 'The body exceeded the server limit (1 MiB by default).',
    when: ['Oversized `metadata` on session creation.'],
    exampleDetails: [{ limit_bytes: 1048576 }],
    // Over the maximum message size (sent by `ws` itself, RFC 6455 "message too big").
    closeCode: 1009,
  },
  expectation_failed: {
    status: 417,
    message: "The server cannot meet the request's Expect header.",
    clientAction: 'Send the request without the `Expect` header (only `Expect: 100-continue` is understood).',
    meaning: 'The request carried an `Expect` header other than `100-continue`, which HTTP/1.1 defines no other value for. Nothing was done.',
    when: ['A client or proxy that adds an unknown expectation.'],
    exampleDetails: [{ expect: 'teapot' }],
  },
  upgrade_required: {
    status: 426,
    message: 'This address only takes a WebSocket connection.',
    clientAction: 'Open a WebSocket to this URL (`ws://` or `wss://`) instead of a plain HTTP request.',
    meaning:
      'A plain HTTP request, or an upgrade to another protocol (such as `h2c`), reached the socket path `/v1/realtime`. The `Upgrade: websocket` header says what it takes.',
    when: ['Opening `/v1/realtime` in a browser tab or with `curl`.', '`curl --http2` against the socket path.'],
    exampleDetails: [{ upgrade: 'h2c' }],
  },
  request_timeout: {
    status: 408,
    message: 'The request took too long to arrive.',
    clientAction: 'Retry the request once; if it keeps happening, check the network path (a proxy buffering or stalling the body).',
    meaning:
      "The request headers, or the whole request with its body, did not arrive within the server's `timeouts` (10 s for headers, 30 s for the request by default). The connection is closed after this answer. Nothing was done.",
    when: [
      'A client stalled in the middle of sending a body.',
      'A body trickled in a few bytes at a time.',
      'A connection opened and sent only part of its headers.',
    ],
    exampleDetails: [{ timeout_seconds: 30 }],
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests. Please wait and try again.',
    clientAction: 'Wait `retry_after` seconds, then retry.',
    meaning:
      'The caller exceeded a rate limit of the config file (`rate_limits`): refreshes per refresh token, refreshes per client IP, or management calls per API key. `details` names the limit; `retry_after` and the `Retry-After` header say when its window ends.',
    when: ['A client refreshing one token in a tight loop.', 'One address flooding the refresh endpoint.', 'A backend flooding the management API.'],
    exampleDetails: [{ limit: 'refresh_per_token', max_requests: 30, window: 60 }],
    // Faster than the per-connection message rate.
    closeCode: 4429,
    oauthError: 'temporarily_unavailable',
  },
  service_unavailable: {
    status: 503,
    message: 'The service is temporarily unavailable. Please try again shortly.',
    clientAction: 'Retry with backoff after `retry_after` seconds. Do not sign the user out.',
    meaning: 'The session store could not be reached or is busy. Nothing about the session changed.',
    when: ['The database is restarting.', 'The embedded store is locked by a long operation.'],
    exampleDetails: [],
    // The store could not be reached: reconnect with backoff (RFC 6455 "try again later").
    closeCode: 1013,
    oauthError: 'temporarily_unavailable',
  },
  internal_error: {
    status: 500,
    message: 'Something went wrong on our side.',
    clientAction: 'Report it with the `request_id`; retrying may help.',
    meaning: 'A bug in Tessera. It is logged with the `request_id` of the response.',
    when: ['Never on purpose.'],
    exampleDetails: [],
    closeCode: 1011,
    oauthError: 'server_error',
  },
  silent_auth_failed: {
    status: 0,
    message: 'The session could not be refreshed because the server could not be reached.',
    clientAction: 'Nothing: the SDK retries with backoff and keeps the session. Retry the API call later.',
    meaning:
      'Produced only by the client SDK: a refresh failed for a reason that says nothing about the session (network error, timeout, 5xx, 429). The session is kept and the refresh retried; the user is never signed out for this.',
    when: ['The device went offline.', 'The server was restarting.'],
    exampleDetails: [],
    clientOnly: true,
  },
  refresh_token_unavailable: {
    status: 0,
    message: 'This browser no longer holds what it needs to keep your session. Please sign in again.',
    clientAction:
      'Sign the user in again. To keep sessions across reloads and restarts, use cookie mode or a storage that may hold the refresh token (see the client README).',
    meaning:
      'Produced only by the client SDK, and it ends the client session: the access token is due and nothing in this browser can refresh it. This tab holds no refresh token (its storage keeps none), no other open tab of the origin answered with one, and there is no refresh cookie. The server session may still be active; it simply cannot be reached from here.',
    when: [
      'Storage that keeps the access token but not the refresh token (`localStorageAdapter()`), and the only tab that held the refresh token was reloaded or closed.',
      'A tab opened or woken when the tab that held the refresh token was already closed, crashed or frozen.',
      'Cookie mode, and the refresh cookie is gone: cleared by the user, expired, or blocked by the browser (the server answered `token_missing`).',
    ],
    exampleDetails: [{ reason: 'no_tab_holds_refresh_token' }],
    clientOnly: true,
    endsClientSession: true,
  },
  refresh_refused: {
    status: 0,
    message: 'The session could not be refreshed because the server refused the request. Please sign in again.',
    clientAction:
      "Sign the user in again, and fix the cause: `details[0]` names the server's code (a misconfigured origin, CSRF header, base URL or DPoP key). The SDK does not retry.",
    meaning:
      "Produced only by the client SDK, and it ends the client session: a refresh got an answer that is neither new tokens, nor the end of the session, nor a passing failure (network, timeout, 5xx, 429), for example `400 invalid_request` or `403 csrf_failed`. Retrying the same request would get the same answer, so the SDK stops and says so once instead of looping. `details[0].error` is the server's code and `cause` its error.",
    when: ["The server's CORS or cookie settings do not admit this page.", 'The `baseUrl` points at something that is not a Tessera server.'],
    exampleDetails: [{ error: 'csrf_failed', status: 403, request_id: 'req_01HXYZABCDEFGH' }],
    clientOnly: true,
    endsClientSession: true,
  },
});

export type ErrorCode = keyof typeof errorCatalogue;

/** Codes the server can send in an envelope (everything but the SDK-only ones). */
export const serverErrorCodes = (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) => (errorCatalogue[code] as ErrorDefinition).clientOnly !== true);

type Catalogue = typeof errorCatalogue;

/** The codes a realtime socket can close with: those with a `closeCode`. */
export type CloseCodeErrorCode = { [Code in ErrorCode]: Catalogue[Code] extends { readonly closeCode: number } ? Code : never }[ErrorCode];

/** The codes that say the session itself is over (`endsSession`). */
export type SessionEndingErrorCode = { [Code in ErrorCode]: Catalogue[Code] extends { readonly endsSession: true } ? Code : never }[ErrorCode];

const allCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** The close code of each code a socket can close with, in catalogue order. */
export const errorCloseCodes = Object.fromEntries(
  allCodes.flatMap((code) => {
    const closeCode = (errorCatalogue[code] as ErrorDefinition).closeCode;
    return closeCode === undefined ? [] : [[code, closeCode]];
  }),
) as { readonly [Code in CloseCodeErrorCode]: Catalogue[Code]['closeCode'] };

/** The codes that say the session itself is over, in catalogue order. */
export const sessionEndingCodes = allCodes.filter(
  (code) => (errorCatalogue[code] as ErrorDefinition).endsSession === true,
) as readonly SessionEndingErrorCode[];

/** Whether `code` says the session itself is over (expired, revoked, unknown). */
export function endsSession(code: string): code is SessionEndingErrorCode {
  return (sessionEndingCodes as readonly string[]).includes(code);
}

/** The OAuth `error` for a catalogue code: its `oauthError`, else `invalid_request`. */
export function oauthErrorOf(code: ErrorCode): OAuthErrorCode {
  return (errorCatalogue[code] as ErrorDefinition).oauthError ?? 'invalid_request';
}

/** The catalogue entry for `code`. */
export function errorDefinition(code: ErrorCode): ErrorDefinition {
  return errorCatalogue[code];
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalogue, value);
}
