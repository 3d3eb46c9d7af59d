import type { FastifyRequest } from 'fastify';
import type { DpopRequest } from '../core/sessions.js';

/**
 * The request's DPoP proof (RFC 9449 §4.3) and the URLs its `htu` may name: the request's own (as the
 * client called it, through a proxy the server trusts), and the same path under the issuer (a proxy
 * that rewrites the host or adds a prefix). More than one `DPoP` header is a malformed proof.
 */
export function dpopRequest(request: FastifyRequest, issuer: string): DpopRequest {
  const header = request.headers.dpop;
  const path = request.url.split('?')[0]!;
  const urls = [`${request.protocol}://${request.host}${path}`, `${issuer.replace(/\/+$/, '')}${path}`];
  return { proof: Array.isArray(header) ? header.join(',') : header, method: request.method, urls: [...new Set(urls)] };
}
