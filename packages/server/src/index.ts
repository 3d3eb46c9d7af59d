// Values
export { AccessTokens } from './core/access-tokens.js';
export { ApiKeys } from './core/api-keys.js';
export { ManualClock, systemClock } from './core/clock.js';
export { errorCatalogue, errorDefinition, isErrorCode, serverErrorCodes } from './core/error-catalogue.js';
export { TesseraError } from './core/errors.js';
export { defaultFlowPolicies, longestAccessTokenTtl } from './core/flows.js';
export { revocationReasons, sessionEnd, sessionState } from './core/session.js';
export { SessionCache } from './core/session-cache.js';
export { SessionService, assertActive } from './core/sessions.js';
export { SigningKeys, signingAlgorithm } from './core/signing-keys.js';
export { ConfigError, defaultConfig, loadConfigFile, parseConfig } from './config.js';
export { buildApp } from './http/app.js';
export { startServer } from './serve.js';
export { SqliteSessionStore } from './stores/sqlite.js';
export { openStore } from './stores/open-store.js';
export { createTessera } from './tessera.js';
export { createVerifier, tesseraExpress, tesseraFastify, verifierErrorResponse } from './verifier/index.js';

// Types
export type { AccessTokenClaims, AccessTokensOptions } from './core/access-tokens.js';
export type { Clock } from './core/clock.js';
export type { ErrorCode, ErrorDefinition } from './core/error-catalogue.js';
export type { TesseraErrorOptions } from './core/errors.js';
export type { FlowPolicies, FlowPolicy } from './core/flows.js';
export type { RevocationReason, SessionRecord, SessionState } from './core/session.js';
export type { SessionCacheOptions } from './core/session-cache.js';
export type { CreateSessionInput, SessionEvent, SessionServiceOptions, TokenGrant } from './core/sessions.js';
export type { SigningKeysOptions } from './core/signing-keys.js';
export type { RefreshTokenRecord, RotateRefreshToken, SessionStore, SigningKeyRecord } from './core/store.js';
export type { ConfigFile, TesseraConfig } from './config.js';
export type { AppOptions } from './http/app.js';
export type { RunningServer, ServeOptions } from './serve.js';
export type { StoreLocation } from './stores/open-store.js';
export type { Tessera, TesseraOptions } from './tessera.js';
export type { TesseraExpressOptions, TesseraFastifyOptions, TesseraRequest, Verifier, VerifierErrorResponse, VerifierOptions } from './verifier/index.js';
