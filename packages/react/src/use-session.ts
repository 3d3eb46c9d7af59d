import { useContext, useSyncExternalStore } from 'react';
import { SessionContext, type SessionContextValue } from './session-provider.js';
import type { SessionSnapshot } from './session-snapshot.js';

/**
 * Where the session stands: `status`, `sessionId`, `session`, `accessTokenExpiresAt` and, once it
 * has ended, `endReason`. Re-renders only when one of them changes.
 *
 * @example
 * ```tsx
 * const { status, endReason } = useSession();
 * if (status === 'ended') return <p>Ended: {endReason?.reason}</p>;
 * ```
 */
export function useSession(): SessionSnapshot {
  const { store } = useSessionContext('useSession');
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** The provider's value; throws a message naming the hook when there is no provider. */
export function useSessionContext(hook: string): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error(`${hook}() must be used inside <SessionProvider>`);
  return value;
}
