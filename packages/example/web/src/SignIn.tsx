import { useSessionClient } from '@tessera/react';
import { type FormEvent, type ReactNode, useState } from 'react';
import { type DemoFlow, signIn } from './demo-api.js';

export interface SignInProps {
  readonly flows: readonly DemoFlow[];
  /** Told true when the sign-in starts and false once `setSession()` has settled: the session then survives a reload. */
  readonly onHandOver: (inFlight: boolean) => void;
}

export function SignIn({ flows, onHandOver }: SignInProps): ReactNode {
  const client = useSessionClient();
  const [userName, setUserName] = useState('');
  const [flow, setFlow] = useState(flows[0]?.name ?? 'default');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    onHandOver(true);
    signIn(client, userName.trim(), flows.find((offered) => offered.name === flow) ?? { name: flow, label: flow }).then(
      () => {
        setBusy(false);
        onHandOver(false);
      },
      (error: unknown) => {
        setBusy(false);
        onHandOver(false);
        setProblem(error instanceof Error ? error.message : String(error));
      },
    );
  };

  return (
    <form className="card sign-in" onSubmit={submit} data-testid="sign-in">
      <h2>Sign in</h2>
      <label>
        User name
        <input
          data-testid="user-name"
          value={userName}
          onChange={(event) => setUserName(event.target.value)}
          required
          maxLength={64}
          // No pattern here: the browser's own words ("Please match the requested format.") say less than
          // the demo backend's answer, which the form shows. The rule lives once, in the backend's schema.
          aria-invalid={problem !== null}
          aria-describedby={problem ? 'sign-in-problem' : undefined}
          autoComplete="username"
          placeholder="alice"
        />
      </label>
      <label>
        Flow
        <select data-testid="flow" value={flow} onChange={(event) => setFlow(event.target.value)}>
          {flows.map((offered) => (
            <option key={offered.name} value={offered.name}>
              {offered.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" data-testid="sign-in-button" disabled={busy || userName.trim() === ''}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {problem && (
        <p role="alert" className="problem" id="sign-in-problem" data-testid="sign-in-problem">
          {problem}
        </p>
      )}
    </form>
  );
}
