// One TesseraError for the server and the verifier, so `instanceof` holds across both packages.
export { TesseraError } from '@tessera/verifier/core';
export type { TesseraErrorOptions } from '@tessera/verifier/core';
