import { useSessionClient } from '@tessera/react';
import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { type DemoSession, mySessions } from './demo-api.js';

/** The user's sessions on other devices and tabs, with "sign out everywhere else". */
export function OtherSessions(): ReactNode {
  const client = useSessionClient();
  const [sessions, setSessions] = useState<DemoSession[] | null>(null);
  const [note, setNote] = useState<Note | null>(null);

  const load = useCallback(() => {
    mySessions(client).then(
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
              <strong>{session.current ? 'This device' : session.device}</strong> · {session.flow} flow · signed in{' '}
              {new Date(session.created_at).toLocaleTimeString()}
              {session.last_refreshed_at && `, last active ${new Date(session.last_refreshed_at).toLocaleTimeString()}`}
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

function problemNote(error: unknown): Note {
  return { kind: 'problem', text: error instanceof Error ? error.message : String(error) };
}
