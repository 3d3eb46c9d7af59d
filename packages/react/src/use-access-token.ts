import { useEffect, useState } from 'react';
import { useSession, useSessionContext } from './use-session.js';

/**
 * The current access token, or null while there is none (signed out, ended, not yet read). It is
 * replaced whenever the client refreshes, so a component always renders with a fresh token.
 *
 * @example
 * ```tsx
 * const token = useAccessToken();
 * useEffect(() => { if (token) openSocket(token); }, [token]);
 * ```
 */
export function useAccessToken(): string | null {
  const { client } = useSessionContext('useAccessToken');
  const { status, sessionId, accessTokenExpiresAt } = useSession();
  const [token, setToken] = useState<string | null>(null);
  const holding = status === 'active' || status === 'refreshing';
  const expiresAt = accessTokenExpiresAt?.getTime() ?? null;

  // biome-ignore lint/correctness/useExhaustiveDependencies: sessionId and expiresAt are triggers: a new session or a refresh must re-read the token
  useEffect(() => {
    if (!holding) {
      setToken(null);
      return;
    }
    let current = true;
    client.getAccessToken().then(
      (fresh) => current && setToken(fresh),
      // The session ended or the server is unreachable: the snapshot says which.
      () => current && setToken(null),
    );
    return () => {
      current = false;
    };
  }, [client, holding, sessionId, expiresAt]);

  return holding ? token : null;
}
