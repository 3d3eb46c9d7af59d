import { createSessionClient, type SessionClient, type SessionClientOptions } from '@tessera/client';
import { createContext, type ReactNode, useEffect, useMemo, useState } from 'react';
import { createSessionSnapshotSource, type SessionSnapshotSource } from './session-snapshot.js';

/** What the provider shares with the hooks. */
export interface SessionContextValue {
  readonly client: SessionClient;
  readonly store: SessionSnapshotSource;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

/** A provider around a client the app created (and disposes). */
export interface SessionProviderWithClientProps {
  readonly client: SessionClient;
  /** A client's leeway is set when it is created: pass `leeway` to `createSessionClient`. */
  readonly silentRefreshLeeway?: never;
  readonly baseUrl?: never;
  readonly children?: ReactNode;
}

/** A provider that creates its own client from these options (read once, on mount), and disposes it on unmount. */
export interface SessionProviderWithOptionsProps extends Omit<SessionClientOptions, 'leeway'> {
  readonly client?: undefined;
  /** Seconds before the access token's expiry (on server time) at which it is refreshed: the client's `leeway`. Default 60. */
  readonly silentRefreshLeeway?: number;
  readonly children?: ReactNode;
}

export type SessionProviderProps = SessionProviderWithClientProps | SessionProviderWithOptionsProps;

/**
 * Makes a Tessera session available to `useSession()`, `useAccessToken()` and `<SessionEnded>`.
 * Pass a `client`, or a `baseUrl` (and client options) to have one created for this provider.
 *
 * @example
 * ```tsx
 * <SessionProvider baseUrl="https://auth.example.com" silentRefreshLeeway={120}>
 *   <App />
 * </SessionProvider>
 * ```
 */
export function SessionProvider(props: SessionProviderProps): ReactNode {
  const given = props.client ?? null;
  const [owned] = useState<SessionClient | null>(() => (given ? null : createSessionClient(clientOptions(props as SessionProviderWithOptionsProps))));
  const client = given ?? owned;
  if (!client) throw new Error('<SessionProvider> needs a client or a baseUrl');
  const value = useMemo<SessionContextValue>(() => ({ client, store: createSessionSnapshotSource(client) }), [client]);

  useEffect(() => {
    if (!owned) return;
    cancelDisposal.get(owned)?.();
    cancelDisposal.delete(owned);
    // Disposed a tick later, so StrictMode's unmount-and-remount keeps the client it remounts with.
    return () => {
      const timer = setTimeout(() => owned.dispose(), 0);
      cancelDisposal.set(owned, () => clearTimeout(timer));
    };
  }, [owned]);

  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

const cancelDisposal = new WeakMap<SessionClient, () => void>();

function clientOptions(props: SessionProviderWithOptionsProps): SessionClientOptions {
  const { silentRefreshLeeway, client: _client, children: _children, ...options } = props;
  return silentRefreshLeeway === undefined ? options : { ...options, leeway: silentRefreshLeeway };
}
