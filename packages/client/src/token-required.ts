import { SilentAuthFailedError, TesseraError } from './errors.js';
import type { SessionHandler } from './session-handler.js';
import { systemTimers, type Timers } from './timers.js';
import { isTokenGrant, type TokenGrant } from './token-grant.js';

/**
 * Calls `handler.onTokenRequired(resolve, reject)` and waits, at most `timeout` ms, for the app's
 * backend to hand over a grant (or a bare access token). A rejection becomes a `TesseraError`.
 */
export function askAppForTokens(handler: SessionHandler, timeout: number, timers: Timers = systemTimers): Promise<TokenGrant> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      settle();
    };
    const timer = timers.setTimeout(
      () => finish(() => reject(new SilentAuthFailedError({ message: 'handler.onTokenRequired did not answer in time.' }))),
      timeout,
    );
    const accept = (answer: TokenGrant | string) => {
      const grant: unknown = typeof answer === 'string' ? { access_token: answer } : answer;
      if (!isTokenGrant(grant)) {
        finish(() => reject(new TesseraError('invalid_request', { status: 0, message: 'handler.onTokenRequired resolved without an access token.' })));
        return;
      }
      finish(() => resolve(grant));
    };
    const refuse = (reason?: unknown) => {
      const error = reason instanceof TesseraError ? reason : new SilentAuthFailedError({ message: 'handler.onTokenRequired rejected.', cause: reason });
      finish(() => reject(error));
    };
    try {
      if (!handler.onTokenRequired) throw new TesseraError('token_missing', { message: 'No session and no handler.onTokenRequired.' });
      handler.onTokenRequired(accept, refuse);
    } catch (error) {
      refuse(error);
    }
  });
}
