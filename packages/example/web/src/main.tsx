import { createSessionClient, localStorageAdapter } from '@tessera/client';
import { SessionProvider } from '@tessera/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { createActivity } from './activity.js';
import type { DemoConfig } from './demo-api.js';
import './styles.css';

const config = (await (await fetch('/demo/config')).json()) as DemoConfig;
const activity = createActivity();
// Tessera runs beside this app on its own port, under the same host name (so the same site).
const client = createSessionClient({
  baseUrl: `${location.protocol}//${location.hostname}:${config.tessera_port}`,
  // The access token survives reloads and is shared by tabs; the refresh token is an HttpOnly cookie.
  storage: localStorageAdapter(),
  refreshTokenInCookie: true,
  leeway: 10,
  handler: activity.handler,
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider client={client}>
      <App flows={config.flows} activity={activity} />
    </SessionProvider>
  </StrictMode>,
);
