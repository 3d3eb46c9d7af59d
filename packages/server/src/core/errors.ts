// One TesseraError for the server and the verifier, so `instanceof` holds across both packages.

export type { TesseraErrorOptions } from '@tessera/verifier/core';
export { TesseraError } from '@tessera/verifier/core';
