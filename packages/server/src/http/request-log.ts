import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are credentials (an API key, a token, a secret) in any spelling. */
const credentialName = /key|token|secret|password|passwd|auth|credential|code|signature|jwt/i;

/**
 * A request as the log shows it: Fastify's fields, with the values of credential-like query
 * parameters replaced. A client that sends its API key in the query string is refused, but the
 * line for that request would otherwise keep the key in every log store it reaches.
 */
export function requestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactQuery(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  };
}

/** `url` with each credential-like query value (and any value that looks like a Tessera key) as `[redacted]`. */
export function redactQuery(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const name = pair.slice(0, equals);
      const value = pair.slice(equals + 1);
      return credentialName.test(safeDecode(name)) || /^(tsk_|rt_|ey)/.test(safeDecode(value)) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, start)}?${pairs.join('&')}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
