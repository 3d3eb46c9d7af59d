// The page the browser test loads: a small app on @tessera/react, driven from the test through `window.app`.
import { useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';
import type { TokenGrant } from '@tessera/client';
import { SessionEnded, SessionProvider, useAccessToken, useSession, useSessionClient } from '../src/index.js';

interface PageApp {
  /** Every status the app rendered, in order (repeats collapsed). */
  readonly statuses: string[];
  /** Every distinct access token `useAccessToken()` gave, in order. */
  readonly tokens: string[];
  signInClicks: number;
  setSession(grant: TokenGrant): void;
}

const app: PageApp = { statuses: [], tokens: [], signInClicks: 0, setSession: () => {} };
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

const leeway = Number(new URL(location.href).searchParams.get('leeway') ?? 60);
const root = document.createElement('div');
document.body.append(root);
createRoot(root).render(
  <SessionProvider baseUrl={location.origin} silentRefreshLeeway={leeway}>
    <SessionView />
    <SessionEnded signIn={() => (app.signInClicks += 1)} />
  </SessionProvider>,
);
