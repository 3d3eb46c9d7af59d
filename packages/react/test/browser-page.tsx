// The page the browser test loads: a small app on @tessera/react, driven from the test through `window.app`.

import { localStorageAdapter, memoryStorage, type TokenGrant } from '@tessera/client';
import { useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';
import { SessionEnded, SessionLoading, SessionProvider, SignedIn, SignedOut, useAccessToken, useSession, useSessionClient } from '../src/index.js';

interface PageApp {
  /** Every status the app rendered, in order (repeats collapsed). */
  readonly statuses: string[];
  /** Every render of a guard's children, in order (repeats kept): `loading`, `signed-in`, `signed-out`. */
  readonly guarded: string[];
  /** Every distinct access token `useAccessToken()` gave, in order. */
  readonly tokens: string[];
  signInClicks: number;
  setSession(grant: TokenGrant): void;
}

const app: PageApp = { statuses: [], guarded: [], tokens: [], signInClicks: 0, setSession: () => {} };
(globalThis as unknown as { app: PageApp }).app = app;

function SessionView() {
  const client = useSessionClient();
  const { status, sessionId, accessTokenExpiresAt } = useSession();
  const token = useAccessToken();
  const seen = useRef<string | null>(null);
  app.setSession = (grant) => client.setSession(grant);
  if (app.statuses.at(-1) !== status) app.statuses.push(status);
  useEffect(() => {
    if (token && token !== seen.current) app.tokens.push(token);
    seen.current = token;
  }, [token]);
  return (
    <dl>
      <dt>status</dt>
      <dd id="status">{status}</dd>
      <dt>session</dt>
      <dd id="session-id">{sessionId ?? ''}</dd>
      <dt>expires</dt>
      <dd id="expires">{accessTokenExpiresAt?.toISOString() ?? ''}</dd>
      <dt>token</dt>
      <dd id="token">{token ?? ''}</dd>
    </dl>
  );
}

/** A guard's children: records each render, so a test sees even a flash that no poll would catch. */
function Guarded({ name }: { name: string }) {
  app.guarded.push(name);
  return <p id={name}>{name}</p>;
}

const query = new URL(location.href).searchParams;
const leeway = Number(query.get('leeway') ?? 60);
// `?storage=local-refresh`: the whole session in localStorage, so a reload finds it.
const storage = query.get('storage') === 'local-refresh' ? localStorageAdapter({ persistRefreshToken: true }) : memoryStorage();
const root = document.createElement('div');
document.body.append(root);
createRoot(root).render(
  <SessionProvider baseUrl={location.origin} silentRefreshLeeway={leeway} storage={storage}>
    <SessionView />
    <SessionLoading>
      <Guarded name="loading" />
    </SessionLoading>
    <SignedIn>
      <Guarded name="signed-in" />
    </SignedIn>
    <SignedOut>
      <Guarded name="signed-out" />
    </SignedOut>
    <SessionEnded signIn={() => (app.signInClicks += 1)} />
  </SessionProvider>,
);
