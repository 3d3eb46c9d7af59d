import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieConfig } from '../config.js';
import { TesseraError } from '../core/errors.js';
import { refreshTokenMaxLength } from '../core/refresh-tokens.js';
import type { TokenGrant } from '../core/sessions.js';
import type { CorsPolicy } from './cors.js';

/** The header a cookie-authenticated refresh must carry (OWASP's "custom request header" defence). */
export const csrfHeader = 'x-tessera-csrf';

/**
 * Cookie mode: the refresh token in an HttpOnly cookie scoped to the refresh path, so page scripts
 * (and XSS) never read the tokens issued after the first one.
 */
export class RefreshCookie {
  readonly #config: CookieConfig;
  readonly #name: string;

  constructor(config: CookieConfig) {
    this.#config = config;
    this.#name = cookieName(config);
  }

  /** The name on the wire: the configured one, with `__Host-` where the deployment allows it. */
  get name(): string {
    return this.#name;
  }

  /** The refresh token of the cookie; undefined when there is none. */
  read(request: FastifyRequest): string | undefined {
    const value = request.cookies[this.#name];
    if (value === undefined) return undefined;
    if (value === '' || value.length > refreshTokenMaxLength) {
      throw new TesseraError('invalid_request', {
        details: [{ field: `cookie.${this.#name}`, message: `must be a refresh token of 1 to ${refreshTokenMaxLength} characters` }],
      });
    }
    return value;
  }

  /** Sets the cookie to the grant's refresh token, living as long as that token. */
  set(reply: FastifyReply, grant: TokenGrant, now: number): void {
    reply.setCookie(this.#name, grant.refreshToken, {
      ...this.#attributes(),
      maxAge: Math.max(0, Math.floor((grant.refreshTokenExpiresAt - now) / 1000)),
    });
  }

  /** Tells the browser to drop the cookie. */
  clear(reply: FastifyReply): void {
    reply.setCookie(this.#name, '', { ...this.#attributes(), maxAge: 0, expires: new Date(0) });
  }

  #attributes() {
    return {
      httpOnly: true,
      secure: this.#config.secure,
      sameSite: this.#config.sameSite,
      path: this.#config.path,
      ...(this.#config.domain ? { domain: this.#config.domain } : {}),
    };
  }
}

/**
 * `__Host-` when browsers accept it (Secure, `Path=/`, no `Domain`): such a cookie can only be set by
 * this host over HTTPS, so a sibling subdomain can no longer plant its own refresh token on us.
 */
function cookieName(config: CookieConfig): string {
  const allowsHostPrefix = config.secure && config.path === '/' && config.domain === undefined;
  if (!allowsHostPrefix || config.name.startsWith(hostPrefix)) return config.name;
  return `${hostPrefix}${config.name}`;
}

const hostPrefix = '__Host-';

/**
 * Cross-site request forgery defence for a refresh the cookie authenticates, on top of SameSite:
 * the custom header (which no form and no cross-origin page can send without a preflight that
 * only listed origins pass), then the `Origin` header, when present, must be a listed origin or
 * this server itself. Browsers send `Origin` on every POST; a request without one is not a browser's.
 */
export function requireCsrfProof(request: FastifyRequest, cors: CorsPolicy, issuer: string): void {
  const proof = request.headers[csrfHeader];
  if (proof !== '1') {
    throw new TesseraError('csrf_failed', {
      details: [{ header: 'X-Tessera-CSRF', reason: proof === undefined ? 'missing' : 'must be "1"' }],
    });
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (cors.allows(origin) || origin === `${request.protocol}://${request.host}` || origin === originOf(issuer)) return;
  throw new TesseraError('origin_not_allowed', {
    message: 'The refresh cookie may only be used from the origins the config file lists.',
    details: [{ origin, listed_in: 'cors.origins' }],
  });
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
