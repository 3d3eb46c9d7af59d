import type { SessionHandler } from '@tessera/client';

/** One line of the dashboard's activity log. */
export interface ActivityEntry {
  readonly id: number;
  readonly at: Date;
  readonly kind: 'refresh' | 'socket' | 'ended' | 'problem' | 'info';
  readonly text: string;
}

/** The last things that happened to the session, as a `useSyncExternalStore` source. */
export interface Activity {
  readonly handler: SessionHandler;
  add(kind: ActivityEntry['kind'], text: string): void;
  subscribe(onChange: () => void): () => void;
  entries(): readonly ActivityEntry[];
  /** Refreshes seen by this tab (its own and other tabs'). */
  refreshes(): number;
}

const kept = 50;

export function createActivity(): Activity {
  let entries: readonly ActivityEntry[] = [];
  let refreshes = 0;
  let nextId = 1;
  const listeners = new Set<() => void>();
  const add = (kind: ActivityEntry['kind'], text: string) => {
    entries = [{ id: nextId++, at: new Date(), kind, text }, ...entries].slice(0, kept);
    for (const listener of listeners) listener();
  };
  return {
    handler: {
      onSessionRefreshed(event) {
        refreshes += 1;
        const until = event.accessTokenExpiresAt ? `, valid until ${event.accessTokenExpiresAt.toLocaleTimeString()} (server time)` : '';
        add('refresh', `Access token refreshed ${event.fromOtherTab ? 'by another tab' : 'by this tab'}${until}`);
      },
      onSessionRevoked: (reason) => add('ended', `Session revoked: ${reason}`),
      onSessionExpired: (error) => add('ended', `Session expired${error.reason ? ` (${error.reason})` : ''}`),
      onSessionError: (error) =>
        add('problem', error.code === 'silent_auth_failed' ? 'Tessera unreachable: still signed in, retrying' : `${error.code}: ${error.message}`),
    },
    add,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    entries: () => entries,
    refreshes: () => refreshes,
  };
}
