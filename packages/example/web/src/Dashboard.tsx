import type { RealtimeSocket, RealtimeStatus } from '@tessera/client';
import { useSession, useSessionClient } from '@tessera/react';
import { type ReactNode, useEffect, useState, useSyncExternalStore } from 'react';
import type { Activity } from './activity.js';
import { OtherSessions } from './OtherSessions.js';
import { useNow } from './use-now.js';

export function Dashboard({ activity }: { activity: Activity }): ReactNode {
  const client = useSessionClient();
  const { session, accessTokenExpiresAt } = useSession();
  const entries = useSyncExternalStore(activity.subscribe, activity.entries);
  const socket = useRealtime(activity);
  const now = useNow(250);
  // The token's expiry is on the server's clock: compare it with server time, not the device's.
  const serverNow = now - client.clockSkew;
  const secondsLeft = accessTokenExpiresAt ? Math.max(0, (accessTokenExpiresAt.getTime() - serverNow) / 1000) : null;

  return (
    <>
      <section className="card" data-testid="dashboard">
        <div className="row">
          <h2>
            Signed in as <span data-testid="user">{session?.user_id ?? '…'}</span>
          </h2>
          <button type="button" data-testid="sign-out" onClick={() => void client.logout()}>
            Sign out
          </button>
        </div>
        <dl className="facts">
          <dt>Flow</dt>
          <dd data-testid="flow-name">{session?.flow ?? '…'}</dd>
          <dt>Session</dt>
          <dd>
            <code data-testid="session-id">{session?.id ?? '…'}</code>
          </dd>
          <dt>Access token expires in</dt>
          <dd data-testid="countdown" className="countdown">
            {secondsLeft === null ? '…' : `${secondsLeft.toFixed(1)} s`}
          </dd>
          <dt>Refreshes seen</dt>
          <dd data-testid="refresh-count">{activity.refreshes()}</dd>
          <dt>Device clock vs server</dt>
          <dd data-testid="clock-skew">{describeSkew(client.clockSkew)}</dd>
          <dt>Session ends</dt>
          <dd>{session ? describeEnd(session.expires_at, session.idle_expires_at) : '…'}</dd>
          <dt>Live socket</dt>
          <dd data-testid="socket-status" data-status={socket.status}>
            {socket.status}
            {socket.reauthentications > 0 && `, re-authenticated in band ${socket.reauthentications}×`}
            {socket.reconnects > 0 && `, reconnected ${socket.reconnects}×`}
          </dd>
        </dl>
      </section>
      <OtherSessions />
      <section className="card">
        <h2>Activity</h2>
        <ol className="activity" data-testid="activity">
          {entries.map((entry) => (
            <li key={entry.id} className={entry.kind} data-kind={entry.kind}>
              <time>{entry.at.toLocaleTimeString()}</time> {entry.text}
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}

interface SocketView {
  readonly status: RealtimeStatus;
  readonly reauthentications: number;
  readonly reconnects: number;
}

/** The session's socket while the dashboard shows: it re-authenticates in band and hears the end at once. */
function useRealtime(activity: Activity): SocketView {
  const client = useSessionClient();
  const [view, setView] = useState<SocketView>({ status: 'connecting', reauthentications: 0, reconnects: 0 });
  useEffect(() => {
    const socket: RealtimeSocket = client.realtime();
    const read = () => setView({ status: socket.status, reauthentications: socket.reauthentications, reconnects: socket.reconnects });
    const stopStatus = socket.onStatus((status) => {
      read();
      activity.add('socket', `Socket ${status}`);
    });
    // Re-authentication happens on refresh; re-read the counters then.
    const stopSession = client.subscribe(read);
    return () => {
      stopStatus();
      stopSession();
      socket.close();
    };
  }, [client, activity]);
  return view;
}

function describeSkew(skewMs: number): string {
  const seconds = Math.abs(skewMs) / 1000;
  if (seconds < 0.05) return 'in step (under 0.05 s apart)';
  return `${seconds.toFixed(seconds < 10 ? 2 : 0)} s ${skewMs > 0 ? 'ahead of' : 'behind'} the server`;
}

function describeEnd(expiresAt: string, idleExpiresAt: string | null): string {
  const absolute = new Date(expiresAt).toLocaleString();
  return idleExpiresAt ? `${absolute}, or after inactivity at ${new Date(idleExpiresAt).toLocaleTimeString()}` : absolute;
}
