import type { ClientSessionState, SessionClient, SessionEndCode, SessionInfo } from '@tessera/client';

/** Why the session ended, as `useSession()` reports it. */
export interface SessionEndReason {
  /**
   * `session_expired`, `session_revoked`, `session_not_found` or `token_invalid` from the server;
   * `refresh_token_unavailable` or `refresh_refused` from the client (nothing here could renew it).
   */
  readonly code: SessionEndCode;
  /**
   * `idle` or `absolute` for expiry; `logout`, `admin`, `reuse_detected` or `signed_out_elsewhere`
   * for revocation; `no_refresh_cookie` or `no_tab_holds_refresh_token` for `refresh_token_unavailable`; else null.
   */
  readonly reason: string | null;
  /** Seconds of inactivity after which the session's flow ends it, when known (from the last session the server described). */
  readonly idleTimeout: number | null;
}

/** What `useSession()` returns. The same object until something in it changes. */
export interface SessionSnapshot {
  /**
   * The client's state, as it is: `loading` until it knows whether a session exists (a stored
   * session read back, the other tabs asked), then `signed_out`, `active`, `refreshing` or `ended`.
   */
  readonly status: ClientSessionState;
  readonly sessionId: string | null;
  /** The session as the server last described it; null when none is held. */
  readonly session: SessionInfo | null;
  /** When the held access token expires, on the server's clock. */
  readonly accessTokenExpiresAt: Date | null;
  /** Set while `status` is `ended`; null otherwise. */
  readonly endReason: SessionEndReason | null;
}

/** A `useSyncExternalStore` source over a `SessionClient`. */
export interface SessionSnapshotSource {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): SessionSnapshot;
}

/**
 * Reads a client into snapshots that stay referentially equal between changes, as
 * `useSyncExternalStore` requires: a new object only when a field differs.
 */
export function createSessionSnapshotSource(client: SessionClient): SessionSnapshotSource {
  let current: SessionSnapshot | null = null;
  // The client forgets the session when it ends; its idle timeout is still needed to say why.
  let lastSession: SessionInfo | null = null;

  const remember = (): void => {
    lastSession = client.session ?? lastSession;
  };
  const read = (): SessionSnapshot => {
    remember();
    const session = client.session;
    const endError = client.state === 'ended' ? client.endError : null;
    return {
      status: client.state,
      sessionId: client.sessionId,
      session,
      accessTokenExpiresAt: client.accessTokenExpiresAt,
      endReason: endError ? { code: endError.code, reason: endError.reason, idleTimeout: idleTimeoutOf(lastSession) } : null,
    };
  };

  return {
    subscribe: (onChange) =>
      client.subscribe(() => {
        remember();
        onChange();
      }),
    getSnapshot() {
      const next = read();
      if (current === null || !sameSnapshot(current, next)) current = next;
      return current;
    },
  };
}

function sameSnapshot(a: SessionSnapshot, b: SessionSnapshot): boolean {
  return (
    a.status === b.status &&
    a.sessionId === b.sessionId &&
    sameSession(a.session, b.session) &&
    a.accessTokenExpiresAt?.getTime() === b.accessTokenExpiresAt?.getTime() &&
    a.endReason?.code === b.endReason?.code &&
    a.endReason?.reason === b.endReason?.reason &&
    a.endReason?.idleTimeout === b.endReason?.idleTimeout
  );
}

/** Sessions are replaced, not mutated, by the client; fields are compared for a worker's copies. */
function sameSession(a: SessionInfo | null, b: SessionInfo | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return (
    a.id === b.id &&
    a.status === b.status &&
    a.last_refreshed_at === b.last_refreshed_at &&
    a.idle_expires_at === b.idle_expires_at &&
    a.expires_at === b.expires_at
  );
}

/** The flow's idle timeout in seconds: the idle end is set that long after the last refresh (or the start). */
function idleTimeoutOf(session: SessionInfo | null): number | null {
  if (!session?.idle_expires_at) return null;
  const from = Date.parse(session.last_refreshed_at ?? session.created_at);
  const to = Date.parse(session.idle_expires_at);
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from) return null;
  return Math.round((to - from) / 1000);
}
