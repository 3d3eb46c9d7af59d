// The verifier is its own package, @tessera/verifier (jose its only dependency); this entry point stays for existing imports.

export type {
  AccessTokenClaims,
  DpopReplayCache,
  ErrorCode,
  MemoryDpopReplayCacheOptions,
  PublicUrl,
  RevocationListOptions,
  TesseraExpressOptions,
  TesseraFastifyOptions,
  TesseraRequest,
  VerifiableRequest,
  Verifier,
  VerifierDpopOptions,
  VerifierErrorResponse,
  VerifierOptions,
} from '@tessera/verifier';
export {
  createVerifier,
  MemoryDpopReplayCache,
  TesseraError,
  tesseraExpress,
  tesseraFastify,
  verifierErrorResponse,
} from '@tessera/verifier';
