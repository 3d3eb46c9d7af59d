// The verifier is its own package, @tessera/verifier (jose its only dependency); this entry point stays for existing imports.

export type {
  AccessTokenClaims,
  ErrorCode,
  RevocationListOptions,
  TesseraExpressOptions,
  TesseraFastifyOptions,
  TesseraRequest,
  Verifier,
  VerifierErrorResponse,
  VerifierOptions,
} from '@tessera/verifier';
export {
  createVerifier,
  TesseraError,
  tesseraExpress,
  tesseraFastify,
  verifierErrorResponse,
} from '@tessera/verifier';
