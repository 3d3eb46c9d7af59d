import type { SessionClient } from '@tessera/client';
import { useSessionContext } from './use-session.js';

/**
 * The provider's `SessionClient`: to hand it the sign-in answer, call `fetch`, or `logout()`.
 *
 * @example
 * ```tsx
 * const client = useSessionClient();
 * const signIn = async () => client.setSession(await (await fetch('/api/sign-in', { method: 'POST' })).json());
 * ```
 */
export function useSessionClient(): SessionClient {
  return useSessionContext('useSessionClient').client;
}
