// Request ids are minted by the verifier's error responses too, so the id maker lives in @tessera/verifier.
export { newId } from '@tessera/verifier/core';
