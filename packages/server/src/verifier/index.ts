// Values
export { verifierErrorResponse } from './error-response.js';
export { tesseraExpress } from './express.js';
export { tesseraFastify } from './fastify.js';
export { createVerifier } from './verifier.js';
export { TesseraError } from '../core/errors.js';

// Types
export type { AccessTokenClaims } from '../core/access-tokens.js';
export type { ErrorCode } from '../core/error-catalogue.js';
export type { VerifierErrorResponse } from './error-response.js';
export type { TesseraExpressOptions, TesseraRequest } from './express.js';
export type { TesseraFastifyOptions } from './fastify.js';
export type { RevocationListOptions } from './revocation-list.js';
export type { Verifier, VerifierOptions } from './verifier.js';
