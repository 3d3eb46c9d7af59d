import { createSessionClient, localStorageAdapter, memoryStorage, type SessionClientOptions } from '@tessera/client';
import { SessionProvider } from '@tessera/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { createActivity } from './activity.js';
import { type DemoConfig, type StorageMode, storageModes } from './demo-api.js';
import './styles.css';

const config = (await (await fetch('/demo/config')).json()) as DemoConfig;
const activity = createActivity();
const storageMode = readStorageMode();
// `?dpop=on`: the client proves a key it keeps in IndexedDB on every refresh, and the sign-in offers
// the `device` flow, whose sessions are bound to that key.
const dpop = new URLSearchParams(location.search).get('dpop') === 'on';
const flows = config.flows.filter((flow) => dpop || !flow.dpop);
// Tessera runs beside this app on its own port, under the same host name (so the same site).
const client = createSessionClient({
  baseUrl: `${location.protocol}//${location.hostname}:${config.tessera_port}`,
  ...clientStorage(storageMode),
  ...(dpop ? { dpop: true } : {}),
  leeway: 10,
  handler: activity.handler,
});

/**
 * Where the session is kept, from `?storage=` (the client README's table compares them):
 * `cookie` (the default and the advice for browsers): the access token in localStorage, the refresh
 * token in an HttpOnly cookie; `local`: the access token in localStorage, the refresh token in page
 * memory only; `local-refresh`: both in localStorage; `memory`: nothing outside the page.
 */
function readStorageMode(): StorageMode {
  const asked = new URLSearchParams(location.search).get('storage');
  return storageModes.find((mode) => mode === asked) ?? 'cookie';
}

function clientStorage(mode: StorageMode): Pick<SessionClientOptions, 'storage' | 'refreshTokenInCookie'> {
  switch (mode) {
    case 'cookie':
      return { storage: localStorageAdapter(), refreshTokenInCookie: true };
    case 'local':
      return { storage: localStorageAdapter() };
    case 'local-refresh':
      return { storage: localStorageAdapter({ persistRefreshToken: true }) };
    case 'memory':
      return { storage: memoryStorage() };
  }
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider client={client}>
      <App flows={flows} activity={activity} storageMode={storageMode} />
    </SessionProvider>
  </StrictMode>,
);
