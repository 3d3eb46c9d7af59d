import type { ReactNode } from 'react';
import { describeSessionEnd } from './session-end-words.js';
import { useSession } from './use-session.js';

export interface SessionEndedProps {
  /** Called by the sign-in button. */
  readonly signIn: () => void;
  /** The button's text. Default "Sign in again". */
  readonly signInLabel?: ReactNode;
  readonly className?: string;
}

/**
 * Says in plain words why the session ended, with a sign-in button; renders nothing while the
 * session has not ended.
 *
 * @example
 * ```tsx
 * <SessionEnded signIn={() => navigate('/sign-in')} />
 * // "You signed out on another device."  [Sign in again]
 * ```
 */
export function SessionEnded({ signIn, signInLabel = 'Sign in again', className }: SessionEndedProps): ReactNode {
  const { status, endReason } = useSession();
  if (status !== 'ended') return null;
  // An end is never silent: a client that gave no reason still gets the notice, in general words.
  return (
    <div role="alert" className={className} data-tessera-end-code={endReason?.code} data-tessera-end-reason={endReason?.reason ?? undefined}>
      <p>{describeSessionEnd(endReason)}</p>
      <button type="button" onClick={signIn}>
        {signInLabel}
      </button>
    </div>
  );
}
