// The catalogue lives in @tessera/verifier, which raises some of its codes and must not depend on the server.

export type { CloseCodeErrorCode, ErrorCode, ErrorDefinition, OAuthErrorCode, SessionEndingErrorCode } from '@tessera/verifier/core';
export {
  endsSession,
  errorCatalogue,
  errorCloseCodes,
  errorDefinition,
  isErrorCode,
  oauthErrorOf,
  serverErrorCodes,
  sessionEndingCodes,
} from '@tessera/verifier/core';
