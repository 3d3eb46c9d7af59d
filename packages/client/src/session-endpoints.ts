/** The session's own endpoints (`/v1/session/…`), as the client calls them on logout. */
import { errorFromResponse, requestSender, sendWithAccessToken } from './bearer-request.js';
import type { DpopProver } from './dpop-prover.js';
import { isSessionEndCode, SilentAuthFailedError, TesseraError } from './errors.js';
import type { Timers } from './timers.js';
import type { FetchFunction } from './token-endpoint.js';
import type { SessionInfo } from './token-grant.js';

export interface LogoutRequest {
  readonly fetch: FetchFunction;
  /** The full URL of `POST /v1/session/logout`. */
  readonly url: string;
  readonly accessToken: string;
  /** The server's cookie mode: the answer clears the refresh cookie, which it can do cross-origin only with credentials. */
  readonly withCookie: boolean;
  /** Milliseconds before the request is abandoned. */
  readonly timeout: number;
  readonly timers: Timers;
  /** The client's DPoP: a token bound to its key goes with a proof. */
  readonly dpop?: DpopProver | null;
}

/**
 * `POST /v1/session/logout` with the session's access token. Null when the session is over on the
 * server (revoked now, or over already: the goal of logging out is met); else the error the app is
 * told, the session being gone here all the same.
 */
export async function requestLogout(request: LogoutRequest): Promise<TesseraError | null> {
  const controller = new AbortController();
  const timer = request.timers.setTimeout(() => controller.abort(), request.timeout);
  try {
    const logout = requestSender(
      request.url,
      { method: 'POST', signal: controller.signal, ...(request.withCookie ? { credentials: 'include' as const } : {}) },
      request.fetch,
    );
    const response = await sendWithAccessToken(logout, request.accessToken, request.dpop ?? null);
    if (response.ok) return null;
    const error = await errorFromResponse(response);
    return isSessionEndCode(error.code) ? null : error;
  } catch (cause) {
    return new SilentAuthFailedError({ message: 'Signed out here, but the server could not be told.', cause });
  } finally {
    request.timers.clearTimeout(timer);
  }
}

/**
 * One of the user's own sessions, as `client.sessions()` lists them for a "your devices" page.
 * `session` is the server's `SESSION` as sent, for anything else (its `metadata`).
 */
export interface DeviceSession {
  readonly id: string;
  /** Whether it is the session this client holds: "this device". */
  readonly current: boolean;
  /** e.g. "Chrome 131"; null when the user agent did not tell, or none was seen. */
  readonly browser: string | null;
  /** e.g. "macOS". */
  readonly os: string | null;
  /** The address it was last seen from. */
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly createdAt: Date;
  /** Its last refresh, or its creation. */
  readonly lastSeenAt: Date;
  readonly expiresAt: Date;
  readonly session: SessionInfo;
}

/**
 * `GET /v1/session/sessions` through `send`: the user's active sessions, newest first, with dates
 * as `Date`. A failure is a `TesseraError`, as for `requestLogoutOthers`.
 */
export async function requestOwnSessions(send: () => Promise<Response>): Promise<DeviceSession[]> {
  const response = await sendOrUnreachable(send);
  if (!response.ok) throw await errorFromResponse(response);
  const body = (await response.json()) as { sessions?: unknown };
  const listed = Array.isArray(body.sessions) ? (body.sessions as (SessionInfo & { current?: unknown })[]) : [];
  return listed.map(({ current, ...session }) => ({
    id: session.id,
    current: current === true,
    browser: session.device?.browser ?? null,
    os: session.device?.os ?? null,
    ip: session.device?.ip ?? null,
    userAgent: session.device?.user_agent ?? null,
    createdAt: new Date(session.created_at),
    lastSeenAt: new Date(session.last_seen_at),
    expiresAt: new Date(session.expires_at),
    session,
  }));
}

/** `DELETE /v1/session/sessions/:id` through `send`: ends one of the user's sessions; a failure is a `TesseraError`. */
export async function requestEndSession(send: () => Promise<Response>): Promise<void> {
  const response = await sendOrUnreachable(send);
  if (!response.ok) throw await errorFromResponse(response);
  // Read to the end: a body left unread keeps the request open in the browser (Chromium reports it unfinished).
  await response.arrayBuffer();
}

async function sendOrUnreachable(send: () => Promise<Response>): Promise<Response> {
  try {
    return await send();
  } catch (cause) {
    if (cause instanceof TesseraError) throw cause;
    throw new TesseraError('service_unavailable', { status: 0, message: 'The server could not be reached.', cause });
  }
}

/**
 * The answer of `POST /v1/session/logout-others`, sent through `send` (the client's bearer `fetch`):
 * how many other sessions were revoked, and their ids. A failure is a `TesseraError`: the server's,
 * or `service_unavailable` when it could not be reached.
 */
export async function requestLogoutOthers(send: () => Promise<Response>): Promise<{ revoked: number; sessionIds: string[] }> {
  const response = await sendOrUnreachable(send);
  if (!response.ok) throw await errorFromResponse(response);
  const body = (await response.json()) as { revoked?: unknown; session_ids?: unknown };
  const sessionIds = Array.isArray(body.session_ids) ? body.session_ids.filter((id): id is string => typeof id === 'string') : [];
  return { revoked: typeof body.revoked === 'number' ? body.revoked : sessionIds.length, sessionIds };
}
