import type { DeviceInfo, SessionInfo } from '@tessera/client';

/** What a session records of the device that uses it (`null` when nothing is known). */
export type SessionDevice = DeviceInfo;

/** The `SESSION` object of the contract: the client SDK's type, so the two cannot drift apart. */
export type SessionView = SessionInfo;

export type SessionStatusFilter = 'active' | 'expired' | 'revoked' | 'all';

/** One page of a user's sessions, newest first; `total` counts every session matching the filter, past any page. */
export interface SessionPage {
  readonly sessions: SessionView[];
  readonly next_cursor: string | null;
  readonly total: number;
}

/** A user found by the search: `GET /v1/users`. */
export interface UserSummary {
  readonly user_id: string;
  readonly active_sessions: number;
  readonly last_created_at: string;
}

export interface UserPage {
  readonly users: UserSummary[];
  readonly next_cursor: string | null;
}

/** One event of the audit trail (the contract's `EVENT`). */
export interface AuditEvent {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly user_id: string | null;
  readonly session_id: string | null;
  readonly actor: { readonly type: string; readonly id: string };
  readonly reason: string | null;
  readonly details: Record<string, unknown>;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  readonly next_cursor: string | null;
}

/** `GET /v1/activity`: this node's counts per minute and the active sessions gauge. */
export interface Activity {
  readonly active_sessions: number;
  readonly minutes: readonly { readonly start: string; readonly sessions_created: number; readonly refreshes: number; readonly revocations: number }[];
  readonly counting_since: string;
  readonly server_time: string;
}

/** A configured webhook endpoint (never its secret). */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
}

/** One message of the webhook outbox, for one endpoint. */
export interface WebhookMessage {
  readonly id: string;
  readonly endpoint_id: string;
  readonly event_id: string;
  readonly type: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly last_error: string | null;
  readonly created_at: string;
  readonly next_attempt_at: string | null;
  readonly delivered_at: string | null;
  readonly failed_at: string | null;
}

export interface WebhookMessagePage {
  readonly messages: WebhookMessage[];
  readonly next_cursor: string | null;
}

/** A failed call, told with the error envelope's code and message. */
export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}

/** The most sessions, users or events one page holds in the console. */
export const pageSize = 50;

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

  /** Users whose id starts with `prefix`, in id order. */
  async searchUsers(prefix: string, cursor: string | null = null): Promise<UserPage> {
    const query = new URLSearchParams({ prefix, limit: String(pageSize) });
    if (cursor !== null) query.set('cursor', cursor);
    return (await this.#request('GET', `/v1/users?${query}`)) as UserPage;
  }

  /** One page of the user's sessions with `status`, newest first. */
  async listUserSessions(userId: string, status: SessionStatusFilter, cursor: string | null = null, limit = pageSize): Promise<SessionPage> {
    const query = new URLSearchParams({ status, limit: String(limit) });
    if (cursor !== null) query.set('cursor', cursor);
    const body = (await this.#request('GET', `/v1/users/${encodeURIComponent(userId)}/sessions?${query}`)) as {
      sessions: SessionView[];
      next_cursor?: unknown;
      total?: unknown;
    };
    // A server from before paging answers the active sessions all at once, without a count or cursor.
    return {
      sessions: body.sessions,
      next_cursor: typeof body.next_cursor === 'string' ? body.next_cursor : null,
      total: typeof body.total === 'number' ? body.total : body.sessions.length,
    };
  }

  async getSession(id: string): Promise<SessionView> {
    return (await this.#request('GET', `/v1/sessions/${encodeURIComponent(id)}`)) as SessionView;
  }

  /** The session's audit trail, newest first. */
  async sessionEvents(sessionId: string): Promise<AuditPage> {
    const query = new URLSearchParams({ session_id: sessionId, limit: String(pageSize) });
    return (await this.#request('GET', `/v1/audit?${query}`)) as AuditPage;
  }

  async revokeSession(id: string): Promise<SessionView> {
    return (await this.#request('DELETE', `/v1/sessions/${encodeURIComponent(id)}`)) as SessionView;
  }

  async revokeUserSessions(userId: string): Promise<{ revoked: number }> {
    return (await this.#request('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`)) as { revoked: number };
  }

  async activity(minutes: number): Promise<Activity> {
    return (await this.#request('GET', `/v1/activity?minutes=${minutes}`)) as Activity;
  }

  async webhookEndpoints(): Promise<WebhookEndpoint[]> {
    return ((await this.#request('GET', '/v1/webhooks/endpoints')) as { endpoints: WebhookEndpoint[] }).endpoints;
  }

  /** The outbox, newest first. */
  async webhookMessages(cursor: string | null = null, limit = 20): Promise<WebhookMessagePage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== null) query.set('cursor', cursor);
    return (await this.#request('GET', `/v1/webhooks/messages?${query}`)) as WebhookMessagePage;
  }

  async retryWebhookMessage(id: string): Promise<WebhookMessage> {
    return ((await this.#request('POST', `/v1/webhooks/messages/${encodeURIComponent(id)}/retry`)) as { message: WebhookMessage }).message;
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
    return new ConsoleError(`http_${response.status}`, fallback, response.status);
  }
  if (typeof body !== 'object' || body === null) return new ConsoleError(`http_${response.status}`, fallback, response.status);
  const { error, message } = body as { error?: unknown; message?: unknown };
  return new ConsoleError(typeof error === 'string' ? error : `http_${response.status}`, typeof message === 'string' ? message : fallback, response.status);
}
