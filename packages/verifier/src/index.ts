// Values

// Types
export type { AccessTokenClaims } from './access-token-check.js';
export type { Clock, Scheduler, Timer, TimerOptions } from './clock.js';
export { FastForwardClock, ManualClock, systemClock, systemScheduler } from './clock.js';
export type { DpopProofProblem } from './dpop-proof.js';
export { dpopSigningAlgorithms } from './dpop-proof.js';
export type { DpopReplayCache, MemoryDpopReplayCacheOptions } from './dpop-replay-cache.js';
export { MemoryDpopReplayCache } from './dpop-replay-cache.js';
export type { ErrorCode, ErrorDefinition } from './error-catalogue.js';
export { errorCatalogue } from './error-catalogue.js';
export type { VerifierErrorResponse } from './error-response.js';
export { verifierErrorResponse } from './error-response.js';
export type { TesseraErrorOptions } from './errors.js';
export { TesseraError } from './errors.js';
export type { TesseraExpressOptions, TesseraRequest } from './express.js';
export { tesseraExpress } from './express.js';
export type { TesseraFastifyOptions } from './fastify.js';
export { tesseraFastify } from './fastify.js';
export type { PublicUrl } from './public-url.js';
export type { RevocationListOptions } from './revocation-list.js';
export type { RevocationReason } from './revocation-reasons.js';
export type { VerifiableRequest, Verifier, VerifierDpopOptions, VerifierOptions } from './verifier.js';
export { createVerifier } from './verifier.js';
