// The error envelope, as both edges send it: the HTTP API in its answers, the realtime socket in its
// `error` and `session_ended` frames. No framework here, so neither edge imports the other for it.

// The envelope is built in @tessera/verifier, whose middleware answers with the same one.
export { errorEnvelope } from '@tessera/verifier/core';

/**
 * The base of doc URLs: the configured issuer, never the request's `Host`, which the caller chooses
 * (a reflected host would let anyone mint links to their own site under our name).
 */
export function docsBaseUrl(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}
