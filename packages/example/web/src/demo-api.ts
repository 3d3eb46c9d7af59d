// The demo backend's API (packages/example/server/demo-backend.ts), as the page sees it.
import type { SessionClient, TokenGrant } from '@tessera/client';

import type { DemoFlow } from '../../server/demo-types.js';

export type { DemoConfig, DemoFlow, DemoSession } from '../../server/demo-types.js';

/** The ways this page can keep its session, chosen with `?storage=` (see main.tsx). */
export const storageModes = ['cookie', 'local', 'local-refresh', 'memory'] as const;
export type StorageMode = (typeof storageModes)[number];

/** Where each mode keeps the tokens, in the words the page shows. */
export const storageModeDescriptions: Readonly<Record<StorageMode, string>> = {
  cookie: 'refresh token in an HttpOnly cookie, access token in localStorage',
  local: "access token in localStorage, refresh token in this tab's memory only",
  'local-refresh': 'access and refresh tokens both in localStorage',
  memory: "nothing outside this tab's memory",
};

/** Asks the demo backend for a session (it signs in any name) and hands the tokens to the client. */
export async function signIn(client: SessionClient, userName: string, flow: DemoFlow): Promise<void> {
  // A flow that binds sessions to a key gets the thumbprint of this browser's (kept in IndexedDB).
  const dpopJkt = flow.dpop ? await client.dpopThumbprint() : null;
  const response = await fetch('/demo/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_name: userName, flow: flow.name, ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}) }),
  });
  const body = (await response.json()) as TokenGrant & { message?: string };
  if (!response.ok) throw new Error(body.message ?? `sign-in failed (${response.status})`);
  // In cookie mode this moves the refresh token into the cookie before it resolves: a reload from
  // now on finds the session.
  await client.setSession(body);
}
