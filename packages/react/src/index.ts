import { createSessionSnapshotSource, type SessionSnapshotSource } from './session-snapshot.js';

export { SessionProvider } from './session-provider.js';
export type { SessionProviderProps, SessionProviderWithClientProps, SessionProviderWithOptionsProps } from './session-provider.js';

export { useSession } from './use-session.js';
export { useAccessToken } from './use-access-token.js';
export { useSessionClient } from './use-session-client.js';

export { SignedIn, SignedOut, SessionLoading } from './session-guards.js';
export type { SessionGuardProps } from './session-guards.js';

export { SessionEnded } from './session-ended.js';
export type { SessionEndedProps } from './session-ended.js';

export { describeSessionEnd } from './session-end-words.js';

export { createSessionSnapshotSource } from './session-snapshot.js';
export type { SessionSnapshot, SessionEndReason, SessionSnapshotSource } from './session-snapshot.js';
/** @deprecated Renamed `SessionSnapshotSource`: a `SessionStore` is the server's database of sessions. */
export type SessionStore = SessionSnapshotSource;
/** @deprecated Renamed `createSessionSnapshotSource`. */
export const createSessionStore = createSessionSnapshotSource;
