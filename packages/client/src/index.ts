import type { ClientSessionState } from './session-client.js';

export type { ClientSessionState, LogoutOthersResult, SessionClient, SessionClientOptions } from './session-client.js';
export { createSessionClient } from './session-client.js';
/** @deprecated Renamed `ClientSessionState`: the state of the client session, not of the server's session. */
export type SessionState = ClientSessionState;

export type { BackoffOptions } from './backoff.js';
export type { DpopOption, DpopOptions, DpopProofRequest } from './dpop-prover.js';
export type { ErrorEnvelope } from './envelope.js';
export { isErrorEnvelope } from './envelope.js';
export type { TesseraErrorCode } from './error-codes.js';

export { tesseraErrorCodes, tesseraErrorMessage, tesseraErrorStatus } from './error-codes.js';
export type { SessionEndCode, TesseraErrorOptions } from './errors.js';
export { isSessionEndCode, SessionEndedError, SilentAuthFailedError, sessionEndCodes, TesseraError } from './errors.js';
export type { RealtimeOptions, RealtimeSocket, RealtimeStatus, WebSocketConstructor, WebSocketLike } from './realtime.js';
export type { EventSourceLike, PageEnvironment, WakeCause } from './refresh-scheduler.js';
export type { ServerTimeSample } from './server-clock.js';

export { ServerClock } from './server-clock.js';
export type { DeviceSession } from './session-endpoints.js';
export type { RevocationReason, SessionClosedCause, SessionHandler, SessionRefreshedEvent } from './session-handler.js';
export type { TokenStorage, WebStorageOptions } from './storage.js';
export { localStorageAdapter, memoryStorage, sessionStorageAdapter } from './storage.js';
export type {
  BrowserTabCoordinatorOptions,
  LeaseStorage,
  LockManagerLike,
  MessageChannelLike,
  StorageEventSource,
  TabCoordinator,
  TabMessage,
} from './tab-coordinator.js';
export { browserTabCoordinator, noTabCoordination, storageEventChannel } from './tab-coordinator.js';
export type { Timers } from './timers.js';
export type { FetchFunction } from './token-endpoint.js';
export type { DeviceInfo, SessionInfo, TokenGrant } from './token-grant.js';
export type { ConnectSessionWorkerOptions, ServiceWorkerLike } from './worker-client.js';
export { connectSessionWorker } from './worker-client.js';
export type { SessionWorkerHost, SessionWorkerOptions } from './worker-host.js';
export { createSessionWorkerHost, serveSessionWorker } from './worker-host.js';
export type { MessagePortLike } from './worker-protocol.js';
