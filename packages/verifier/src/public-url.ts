/**
 * The URL clients address a resource server by, which a DPoP proof's `htu` names. The middleware
 * works it out from the request (scheme, host and path, through proxies the app trusts); give it
 * when a proxy changes more than that:
 * - a string: the public base, such as `https://example.com/api` when the proxy strips `/api`; the
 *   request's path (and query) is appended to it;
 * - a function: the whole public URL of a request.
 */
export type PublicUrl<Request> = string | ((request: Request) => string);

/** The public URL of a request whose path (and query) on this app is `path`. */
export function publicUrlOf<Request>(publicUrl: PublicUrl<Request>, request: Request, path: string): string {
  if (typeof publicUrl === 'function') return publicUrl(request);
  return `${publicUrl.replace(/\/+$/, '')}${path}`;
}
