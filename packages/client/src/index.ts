import type { ClientSessionState } from './session-client.js';

export { createSessionClient } from './session-client.js';
export type { SessionClient, SessionClientOptions, ClientSessionState, LogoutOthersResult } from './session-client.js';
/** @deprecated Renamed `ClientSessionState`: the state of the client session, not of the server's session. */
export type SessionState = ClientSessionState;

export type { RealtimeOptions, RealtimeSocket, RealtimeStatus, WebSocketConstructor, WebSocketLike } from './realtime.js';

export type { SessionHandler, SessionRefreshedEvent, SessionClosedCause, RevocationReason } from './session-handler.js';

export { TesseraError, SessionEndedError, SilentAuthFailedError, isSessionEndCode, sessionEndCodes } from './errors.js';
export type { TesseraErrorOptions, SessionEndCode } from './errors.js';

export { tesseraErrorCodes, tesseraErrorStatus, tesseraErrorMessage } from './error-codes.js';
export type { TesseraErrorCode } from './error-codes.js';

export { isErrorEnvelope } from './envelope.js';
export type { ErrorEnvelope } from './envelope.js';

export { memoryStorage, sessionStorageAdapter, localStorageAdapter } from './storage.js';
export type { TokenStorage, WebStorageOptions } from './storage.js';

export { ServerClock } from './server-clock.js';
export type { ServerTimeSample } from './server-clock.js';

export { serveSessionWorker, createSessionWorkerHost } from './worker-host.js';
export type { SessionWorkerOptions, SessionWorkerHost } from './worker-host.js';
export { connectSessionWorker } from './worker-client.js';
export type { ConnectSessionWorkerOptions, ServiceWorkerLike } from './worker-client.js';
export type { MessagePortLike } from './worker-protocol.js';

export { browserTabCoordinator, noTabCoordination, storageEventChannel } from './tab-coordinator.js';
export type { TabCoordinator, TabMessage, BrowserTabCoordinatorOptions, LockManagerLike, MessageChannelLike, LeaseStorage, StorageEventSource } from './tab-coordinator.js';

export type { BackoffOptions } from './backoff.js';
export type { Timers } from './timers.js';
export type { PageEnvironment, EventSourceLike, WakeCause } from './refresh-scheduler.js';
export type { FetchFunction } from './token-endpoint.js';
export type { TokenGrant, SessionInfo } from './token-grant.js';
