// What @tessera/server shares with the verifier, defined once here. For the server's use: no stability promise.

// Types
export type { AccessTokenCheckOptions, AccessTokenClaims, AccessTokenKeyLookup, CheckedAccessToken } from './access-token-check.js';
// Values
export { checkAccessToken, signingAlgorithm, tokenExpiredError } from './access-token-check.js';
export type { AccessTokenCredential } from './authorization-header.js';
export { accessTokenCredentialOf } from './authorization-header.js';
export type { Clock, Scheduler, Timer, TimerOptions } from './clock.js';
export { FastForwardClock, ManualClock, systemClock, systemScheduler } from './clock.js';
export type { TokenProofRequest } from './dpop-binding.js';
export { boundThumbprintOf, checkTokenProof } from './dpop-binding.js';
export type { CheckedDpopProof, DpopProofCheckOptions, DpopProofProblem } from './dpop-proof.js';
export { accessTokenHash, checkDpopProof, dpopProofError, dpopSigningAlgorithms, isJwkThumbprint } from './dpop-proof.js';
export type { CloseCodeErrorCode, ErrorCode, ErrorDefinition, OAuthErrorCode, SessionEndingErrorCode } from './error-catalogue.js';
export {
  endsSession,
  errorCatalogue,
  errorCloseCodes,
  errorDefinition,
  isErrorCode,
  oauthErrorOf,
  serverErrorCodes,
  sessionEndingCodes,
} from './error-catalogue.js';
export { errorEnvelope } from './error-envelope.js';
export { authenticateChallenges } from './error-response.js';
export type { TesseraErrorOptions } from './errors.js';
export { TesseraError } from './errors.js';
export { newId } from './ids.js';
export type { RevocationReason } from './revocation-reasons.js';
export { revocationReasons } from './revocation-reasons.js';
