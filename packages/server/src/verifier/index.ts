// The verifier is its own package, @tessera/verifier (jose its only dependency); this entry point stays for existing imports.
export {
  createVerifier,
  tesseraExpress,
  tesseraFastify,
  TesseraError,
  verifierErrorResponse,
} from '@tessera/verifier';
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
