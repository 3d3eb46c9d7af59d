import { SessionEnded, SessionLoading, SignedIn, SignedOut, useSession, useSessionClient } from '@tessera/react';
import { type ReactNode, useState } from 'react';
import type { Activity } from './activity.js';
import { Dashboard } from './Dashboard.js';
import { type DemoFlow, type StorageMode, storageModeDescriptions, storageModes } from './demo-api.js';
import { SignIn } from './SignIn.js';

export interface AppProps {
  readonly flows: readonly DemoFlow[];
  readonly activity: Activity;
  /** Where this page keeps the session (`?storage=`). */
  readonly storageMode: StorageMode;
}

export function App({ flows, activity, storageMode }: AppProps): ReactNode {
  const client = useSessionClient();
  const { status } = useSession();
  // From submit until setSession() settles (in cookie mode: the refresh token moved into the cookie,
  // meanwhile the client is `loading`) the form stays, saying "Signing in…".
  const [handingOver, setHandingOver] = useState(false);
  const showSignIn = status === 'signed_out' || handingOver;
  return (
    <main>
      <header>
        <h1>Tessera example</h1>
        <p className="demo-banner">
          Demo: the sign-in below accepts any name without a password. Tessera never checks passwords; your backend does, then asks Tessera for a session.
        </p>
        <StorageModeLine mode={storageMode} />
      </header>
      {/* While the client reads a kept session back: neither the form nor the dashboard, so a reload flashes neither. */}
      <SessionLoading>
        {!handingOver && (
          <p className="loading" data-testid="loading">
            Loading…
          </p>
        )}
      </SessionLoading>
      <SignedOut>
        {/* After an end the notice says why; "Sign in again" forgets the ended session and the form follows. */}
        <SessionEnded className="notice ended" signIn={() => void client.logout()} />
      </SignedOut>
      {/* Outside the guards, at one place in the tree, so the form keeps its state through the hand-off. */}
      {showSignIn && <SignIn flows={flows} onHandOver={setHandingOver} />}
      <SignedIn>{!handingOver && <Dashboard activity={activity} />}</SignedIn>
    </main>
  );
}

/** Where the session is kept, with links to try the other modes (each is a page load of its own). */
function StorageModeLine({ mode }: { mode: StorageMode }): ReactNode {
  return (
    <p className="storage-mode">
      <span data-testid="storage-mode" data-storage={mode}>
        Session kept: {storageModeDescriptions[mode]}.
      </span>{' '}
      <span className="storage-modes">
        Try{' '}
        {storageModes.map((other, index) => (
          <span key={other}>
            {index > 0 && ' · '}
            {other === mode ? <strong>{other}</strong> : <a href={`?storage=${other}`}>{other}</a>}
          </span>
        ))}
      </span>
    </p>
  );
}
