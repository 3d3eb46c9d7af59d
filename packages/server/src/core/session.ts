import type { RevocationReason } from '@tessera/verifier/core';

export type { RevocationReason } from '@tessera/verifier/core';
// The verifier reads these from the revocation feed, so they are defined in @tessera/verifier.
export { revocationReasons } from '@tessera/verifier/core';

/** What a person recognises a session's device by; any part may be unknown. */
export interface SessionDevice {
  /** The raw `User-Agent` last seen (or given at creation). */
  readonly userAgent: string | null;
  /** Read from the user agent, e.g. "Chrome 131". */
  readonly browser: string | null;
  /** Read from the user agent, e.g. "macOS". */
  readonly os: string | null;
  /** The client address last seen (or given at creation). */
  readonly ip: string | null;
}

/** The server-side record of one sign-in on one device. Times are epoch milliseconds. */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly flow: string;
  readonly createdAt: number;
  readonly lastRefreshedAt: number | null;
  /** Absolute end. */
  readonly expiresAt: number;
  /** Idle end, pushed forward by each refresh; null when the flow has no idle timeout. */
  readonly idleExpiresAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedReason: RevocationReason | null;
  readonly metadata: Record<string, unknown>;
  /** Null when nothing is known about it (created without one, never refreshed since). */
  readonly device: SessionDevice | null;
  /** How many refreshes rotated its token (replays within the reuse interval not counted). */
  readonly refreshCount: number;
  /**
   * The RFC 7638 thumbprint of the key the session is bound to (DPoP): its refreshes need that key's
   * proof and its access tokens carry it as `cnf.jkt`. Null for a bearer session.
   */
  readonly dpopJkt: string | null;
  /** Bumped by every change; lets caches and other nodes tell old from new. */
  readonly version: number;
}

export type SessionState =
  | { readonly status: 'active' }
  | { readonly status: 'revoked'; readonly reason: RevocationReason; readonly at: number }
  | { readonly status: 'expired'; readonly reason: 'absolute' | 'idle'; readonly at: number };

/** What a session is at `now`: revocation wins, then whichever end came first. */
export function sessionState(session: SessionRecord, now: number): SessionState {
  if (session.revokedAt !== null) {
    return { status: 'revoked', reason: session.revokedReason ?? 'admin', at: session.revokedAt };
  }
  const idleEnd = session.idleExpiresAt;
  if (idleEnd !== null && idleEnd < session.expiresAt && now >= idleEnd) {
    return { status: 'expired', reason: 'idle', at: idleEnd };
  }
  if (now >= session.expiresAt) {
    return { status: 'expired', reason: 'absolute', at: session.expiresAt };
  }
  return { status: 'active' };
}

/** The moment the session ends unless refreshed again: the earlier of the idle and absolute ends. */
export function sessionEnd(session: Pick<SessionRecord, 'expiresAt' | 'idleExpiresAt'>): number {
  return session.idleExpiresAt === null ? session.expiresAt : Math.min(session.idleExpiresAt, session.expiresAt);
}

/** When the session's device was last heard from: its last refresh, or its creation. Whoami never writes it. */
export function lastSeenAt(session: SessionRecord): number {
  return session.lastRefreshedAt ?? session.createdAt;
}
