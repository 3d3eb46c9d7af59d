// The catalogue lives in @tessera/verifier, which raises some of its codes and must not depend on the server.
export { errorCatalogue, errorDefinition, isErrorCode, serverErrorCodes } from '@tessera/verifier/core';
export type { ErrorCode, ErrorDefinition } from '@tessera/verifier/core';
