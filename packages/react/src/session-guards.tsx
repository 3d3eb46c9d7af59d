import type { ClientSessionState } from '@tessera/client';
import type { ReactNode } from 'react';
import { useSession } from './use-session.js';

/** The guard whose children show in each state: exactly one. A new state fails to compile until it is placed. */
const guardShownIn: Readonly<Record<ClientSessionState, 'SignedIn' | 'SignedOut' | 'SessionLoading'>> = {
  loading: 'SessionLoading',
  signed_out: 'SignedOut',
  ended: 'SignedOut',
  active: 'SignedIn',
  refreshing: 'SignedIn',
};

export interface SessionGuardProps {
  readonly children?: ReactNode;
}

/**
 * Renders its children only while a session is held (`active`, or `refreshing` it). Nothing while
 * the client is still `loading`, so a reload goes from `<SessionLoading>` straight to these children.
 *
 * @example
 * ```tsx
 * <SignedIn>
 *   <Dashboard />
 * </SignedIn>
 * ```
 */
export function SignedIn({ children }: SessionGuardProps): ReactNode {
  return useGuard('SignedIn', children);
}

/**
 * Renders its children only when there is no session: never set, signed out, or `ended` (show
 * `<SessionEnded>` beside them to say why). Nothing while the client is still `loading`: a stored
 * session being read back never flashes a sign-in form.
 *
 * @example
 * ```tsx
 * <SignedOut>
 *   <SessionEnded signIn={() => void client.logout()} />
 *   <SignInForm />
 * </SignedOut>
 * ```
 */
export function SignedOut({ children }: SessionGuardProps): ReactNode {
  return useGuard('SignedOut', children);
}

/**
 * Renders its children only while the client does not yet know whether a session exists (state
 * `loading`: a stored session being read back, the other tabs asked). Then exactly one of
 * `<SignedIn>` and `<SignedOut>` takes over.
 *
 * @example
 * ```tsx
 * <SessionLoading>
 *   <Spinner />
 * </SessionLoading>
 * ```
 */
export function SessionLoading({ children }: SessionGuardProps): ReactNode {
  return useGuard('SessionLoading', children);
}

function useGuard(guard: (typeof guardShownIn)[ClientSessionState], children: ReactNode): ReactNode {
  const { status } = useSession();
  return guardShownIn[status] === guard ? children : null;
}
