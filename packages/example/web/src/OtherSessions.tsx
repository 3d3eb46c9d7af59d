import type { DeviceSession } from '@tessera/client';
import { useSessionClient } from '@tessera/react';
import { type ReactNode, useCallback, useEffect, useState } from 'react';

/**
 * "Your sessions": every device the user is signed in on, from Tessera itself (`client.sessions()`),
 * with a button to sign out each other device and one for all of them.
 */
export function OtherSessions(): ReactNode {
  const client = useSessionClient();
  const [sessions, setSessions] = useState<DeviceSession[] | null>(null);
  const [note, setNote] = useState<Note | null>(null);

  const load = useCallback(() => {
    client.sessions().then(
      (listed) => {
        setSessions(listed);
        // A failure to list is over once a list arrives; a success note stays.
        setNote((shown) => (shown?.kind === 'problem' ? null : shown));
      },
      (error: unknown) => setNote(problemNote(error)),
    );
  }, [client]);

  useEffect(() => {
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [load]);

  const signOutElsewhere = () => {
    client.logoutOthers().then(
      (result) => {
        setNote({ kind: 'note', text: `Signed out of ${result.revoked} other session${result.revoked === 1 ? '' : 's'}.` });
        load();
      },
      (error: unknown) => setNote(problemNote(error)),
    );
  };

  const signOutDevice = (session: DeviceSession) => {
    client.endSession(session.id).then(
      () => {
        setNote({ kind: 'note', text: `Signed out ${deviceLabel(session)}.` });
        load();
      },
      (error: unknown) => setNote(problemNote(error)),
    );
  };

  const others = sessions?.filter((session) => !session.current) ?? [];
  return (
    <section className="card" data-testid="other-sessions">
      <div className="row">
        <h2>Your sessions</h2>
        <button type="button" data-testid="sign-out-elsewhere" onClick={signOutElsewhere} disabled={others.length === 0}>
          Sign out everywhere else
        </button>
      </div>
      {sessions === null ? (
        <p>Loading…</p>
      ) : (
        <ul className="sessions">
          {sessions.map((session) => (
            <li key={session.id} data-session-id={session.id} data-current={session.current}>
              <span data-testid="device">
                <strong>{deviceLabel(session)}</strong>
                {session.current && <span className="this-device"> · This device</span>}
                {session.ip && ` · ${session.ip}`} · last seen{' '}
                <time dateTime={session.lastSeenAt.toISOString()}>{session.lastSeenAt.toLocaleTimeString()}</time>
              </span>
              {!session.current && (
                <button type="button" className="small" data-testid="end-session" onClick={() => signOutDevice(session)}>
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {note && (
        // A failure is told in the error colour, never in the colour of a success.
        <p className={note.kind} data-testid="sessions-note" data-kind={note.kind}>
          {note.text}
        </p>
      )}
    </section>
  );
}

/** What the card says under the list: a success (`note`) or a failure (`problem`), styled apart. */
interface Note {
  readonly kind: 'note' | 'problem';
  readonly text: string;
}

/** "Chrome 131 on Linux", as Tessera read the device's user agent. */
function deviceLabel(session: DeviceSession): string {
  if (session.browser && session.os) return `${session.browser} on ${session.os}`;
  return session.browser ?? session.os ?? 'Unknown device';
}

function problemNote(error: unknown): Note {
  return { kind: 'problem', text: error instanceof Error ? error.message : String(error) };
}
