import type { SessionInfo } from '@tessera/client';

/** The `SESSION` object of the contract: the client SDK's type, so the two cannot drift apart. */
export type SessionView = SessionInfo;

export interface UserSessions {
  readonly sessions: SessionView[];
  /** The cap of `?status=all`: only the most recent sessions come back. */
  readonly limit: number;
  readonly has_more: boolean;
}

/** A failed call, told with the error envelope's code and message. */
export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}

/** The management API, called from the page's own origin with the operator's key as a bearer credential. */
export class ManagementApi {
  readonly #key: string;

  constructor(key: string) {
    this.#key = key;
  }

  /**
   * Resolves when the server accepts the key. The management API has no "who am I", so this is a
   * harmless read that any accepted key may make (the active sessions of a user id no one has).
   */
  async checkKey(): Promise<void> {
    await this.#request('GET', `/v1/users/${encodeURIComponent('tessera-admin-key-check')}/sessions`);
  }

  /** Every status, newest first, capped by the server. */
  async listUserSessions(userId: string): Promise<UserSessions> {
    const body = await this.#request('GET', `/v1/users/${encodeURIComponent(userId)}/sessions?status=all`);
    return body as UserSessions;
  }

  async revokeSession(id: string): Promise<SessionView> {
    return (await this.#request('DELETE', `/v1/sessions/${encodeURIComponent(id)}`)) as SessionView;
  }

  async revokeUserSessions(userId: string): Promise<{ revoked: number }> {
    return (await this.#request('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`)) as { revoked: number };
  }

  /** The `/metrics` text (same origin). The key goes along, in case the operator has put it behind one. */
  async metricsText(): Promise<string> {
    const response = await this.#fetch('GET', '/metrics');
    if (!response.ok) throw await errorOf(response);
    return response.text();
  }

  async #request(method: string, path: string): Promise<unknown> {
    const response = await this.#fetch(method, path);
    if (!response.ok) throw await errorOf(response);
    return response.json() as Promise<unknown>;
  }

  async #fetch(method: string, path: string): Promise<Response> {
    try {
      return await fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.#key}`, accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ConsoleError('network_error', 'The server could not be reached. Is it running?');
    }
  }
}

/** The envelope's code and message; a body that is not an envelope (a proxy's page) still gives a message. */
async function errorOf(response: Response): Promise<ConsoleError> {
  const fallback = `The server answered ${response.status} ${response.statusText}.`.replace(' .', '.');
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return new ConsoleError(`http_${response.status}`, fallback);
  }
  if (typeof body !== 'object' || body === null) return new ConsoleError(`http_${response.status}`, fallback);
  const { error, message } = body as { error?: unknown; message?: unknown };
  return new ConsoleError(typeof error === 'string' ? error : `http_${response.status}`, typeof message === 'string' ? message : fallback);
}
