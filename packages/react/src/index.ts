import { createSessionSnapshotSource, type SessionSnapshotSource } from './session-snapshot.js';

export { describeSessionEnd } from './session-end-words.js';
export type { SessionEndedProps } from './session-ended.js';
export { SessionEnded } from './session-ended.js';
export type { SessionGuardProps } from './session-guards.js';
export { SessionLoading, SignedIn, SignedOut } from './session-guards.js';
export type { SessionProviderProps, SessionProviderWithClientProps, SessionProviderWithOptionsProps } from './session-provider.js';
export { SessionProvider } from './session-provider.js';
export type { SessionEndReason, SessionSnapshot, SessionSnapshotSource } from './session-snapshot.js';
export { createSessionSnapshotSource } from './session-snapshot.js';
export { useAccessToken } from './use-access-token.js';
export { useSession } from './use-session.js';
export { useSessionClient } from './use-session-client.js';
/** @deprecated Renamed `SessionSnapshotSource`: a `SessionStore` is the server's database of sessions. */
export type SessionStore = SessionSnapshotSource;
/** @deprecated Renamed `createSessionSnapshotSource`. */
export const createSessionStore = createSessionSnapshotSource;
