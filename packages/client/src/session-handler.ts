import type { SessionEndCode, SessionEndedError, TesseraError } from './errors.js';
import type { SessionInfo, TokenGrant } from './token-grant.js';

/** Why a session was revoked on the server (`details[0].reason` of `session_revoked`). */
export type RevocationReason = 'logout' | 'admin' | 'reuse_detected' | 'signed_out_elsewhere' | (string & {});

/** Why the client session closed: the user's `logout()`, or the code that ended it on the server. */
export type SessionClosedCause = 'logout' | SessionEndCode;

/** What `onSessionRefreshed` receives. */
export interface SessionRefreshedEvent {
  readonly accessToken: string;
  /** When the new access token expires, on the server's clock; null when unknown. */
  readonly accessTokenExpiresAt: Date | null;
  readonly sessionId: string | null;
  /** The server's view of the session, when the answer carried it. */
  readonly session: SessionInfo | null;
  /** Whether another tab did the refresh and this one received its tokens. */
  readonly fromOtherTab: boolean;
}

/**
 * The callbacks of a session, shaped like the `SessionHandler` chat SDKs use. Each fires once per
 * transition, never in a loop: a revocation seen by fifty concurrent calls is reported once.
 *
 * @example
 * ```ts
 * const handler: SessionHandler = {
 *   onSessionRevoked: (reason) => showSignIn(reason === 'signed_out_elsewhere' ? 'You signed out elsewhere.' : undefined),
 *   onSessionExpired: () => showSignIn('Your session expired.'),
 *   onSessionError: (err) => err.code === 'silent_auth_failed' && showOfflineBanner(),
 *   onSessionRefreshed: () => hideOfflineBanner(),
 * };
 * ```
 */
export interface SessionHandler {
  /** A refresh succeeded (in this tab or another). After a failure streak, this is the recovery. */
  onSessionRefreshed?(event: SessionRefreshedEvent): void;
  /** The server said `session_expired` (absolute or idle end; `error.reason` says which). Tokens are cleared. */
  onSessionExpired?(error: SessionEndedError): void;
  /** The server said `session_revoked`, with its reason. Tokens are cleared. */
  onSessionRevoked?(reason: RevocationReason, error: SessionEndedError): void;
  /**
   * A refresh failed and the session is kept (`silent_auth_failed` and other non-terminal codes),
   * once at the start of each failure streak; or the session ended as `session_not_found` or
   * `token_invalid`. Also when `logout()` could not reach the server.
   */
  onSessionError?(error: TesseraError): void;
  /** The client session is gone, whatever the cause: after the callbacks above, or after `logout()`. */
  onSessionClosed?(cause: SessionClosedCause): void;
  /**
   * For apps whose own backend mints tokens: called when a token is needed and the client holds no
   * refresh token (signed out, or holding an access token only). Call `resolve` with a grant (or a
   * bare access token) from your backend, or `reject`.
   */
  onTokenRequired?(resolve: (tokens: TokenGrant | string) => void, reject: (reason?: unknown) => void): void;
}
