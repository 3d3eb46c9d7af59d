import type { AccessTokenClaims } from './access-tokens.js';
import type { Clock } from './clock.js';
import { TesseraError } from './errors.js';
import { hashRefreshToken } from './refresh-tokens.js';
import { type SessionRecord, sessionState } from './session.js';
import type { SessionService } from './sessions.js';
import type { SessionStore } from './store.js';

/** An active token and the live session behind it. */
export type ActiveToken =
  | { readonly kind: 'access_token'; readonly session: SessionRecord; readonly claims: AccessTokenClaims }
  | { readonly kind: 'refresh_token'; readonly session: SessionRecord; readonly issuedAt: number };

export interface TokenIntrospectionOptions {
  readonly sessions: SessionService;
  readonly store: SessionStore;
  readonly clock: Clock;
}

/**
 * What RFC 7662 introspection and RFC 7009 revocation need: tell whether any token, access or
 * refresh, is active, and end the session behind it. A spent refresh token is not active (its
 * successor is), so presenting one here neither reveals nor ends anything.
 */
export class TokenIntrospection {
  readonly #options: TokenIntrospectionOptions;

  constructor(options: TokenIntrospectionOptions) {
    this.#options = options;
  }

  /** The active token and its session, or null for anything not active (unknown, expired, spent, revoked, forged). */
  async activeToken(token: string): Promise<ActiveToken | null> {
    // The shape tells them apart (JWTs have dots, refresh tokens never do); RFC 7009's hint is only a hint.
    return token.includes('.') ? this.#activeAccessToken(token) : this.#activeRefreshToken(token);
  }

  /** Ends the session behind an active token, reason `logout`; anything else is left alone (RFC 7009 §2.2). */
  async revoke(token: string): Promise<void> {
    const active = await this.activeToken(token);
    if (active) await this.#options.sessions.revokeSession(active.session.id, 'logout', { type: 'user', id: active.session.userId });
  }

  async #activeAccessToken(token: string): Promise<ActiveToken | null> {
    try {
      const { session, claims } = await this.#options.sessions.authenticate(token);
      return { kind: 'access_token', session, claims };
    } catch (error) {
      // Token and session errors mean "not active"; a store failure is not an answer.
      if (error instanceof TesseraError && error.status === 401) return null;
      throw error;
    }
  }

  async #activeRefreshToken(token: string): Promise<ActiveToken | null> {
    const found = await this.#options.store.findRefreshToken(hashRefreshToken(token));
    if (!found || found.token.spentAt !== null) return null;
    if (sessionState(found.session, this.#options.clock.now()).status !== 'active') return null;
    return { kind: 'refresh_token', session: found.session, issuedAt: found.token.issuedAt };
  }
}
