import { SessionEnded, useSession, useSessionClient } from '@tessera/react';
import type { ReactNode } from 'react';
import type { Activity } from './activity.js';
import { Dashboard } from './Dashboard.js';
import type { DemoFlow } from './demo-api.js';
import { SignIn } from './SignIn.js';

export function App({ flows, activity }: { flows: readonly DemoFlow[]; activity: Activity }): ReactNode {
  const client = useSessionClient();
  const { status } = useSession();
  return (
    <main>
      <header>
        <h1>Tessera example</h1>
        <p className="demo-banner">
          Demo: the sign-in below accepts any name without a password. Tessera never checks passwords; your backend does,
          then asks Tessera for a session.
        </p>
      </header>
      {/* "Sign in again" forgets the ended session; the sign-in form follows. */}
      <SessionEnded className="notice ended" signIn={() => void client.logout()} />
      {status === 'signed_out' && <SignIn flows={flows} />}
      {(status === 'active' || status === 'refreshing') && <Dashboard activity={activity} />}
    </main>
  );
}
