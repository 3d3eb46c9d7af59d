import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Which requests get a log line: `all`, Fastify's two lines per request (incoming, completed);
 * `failures`, one line for each answer of 400 or more or slower than `slowRequestMs` (a long poll's
 * wait aside); `none`.
 */
export type RequestLogging = 'all' | 'failures' | 'none';
export const requestLoggingModes: readonly RequestLogging[] = ['all', 'failures', 'none'];

/** An answer that took at least this long is logged under `failures` whatever its status, unless its route waits on purpose. */
export const slowRequestMs = 1000;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route holds its answer on purpose until something happens (the revocation feed's long poll):
     * its time is not slowness, and a reader polling every 25 s must not write a warning each time.
     */
    longPoll?: boolean;
  }
}

/** Fastify's request lines as `mode` wants them. */
export function requestLogController(mode: RequestLogging): LogController {
  if (mode === 'all') return new LogController();
  if (mode === 'none') return new LogController({ disableRequestLogging: true });
  return new FailedRequestLog();
}

/**
 * `failures`: no "incoming request" line, and a "request completed" line (with the request, since no
 * line before it has it) only for an answer of 400 or more, or one slower than `slowRequestMs`: 5xx
 * at `error`, slow answers at `warn`, other refusals at `info`. A successful hot-path request (a
 * refresh, a whoami) writes nothing.
 */
class FailedRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    const responseTime = reply.elapsedTime;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime }, 'request errored');
      return;
    }
    const slow = responseTime >= slowRequestMs && request.routeOptions.config.longPoll !== true;
    if (status < 400 && !slow) return;
    const line = { req: request, res: reply, responseTime };
    if (status >= 500) reply.log.error(line, 'request completed');
    else if (slow) reply.log.warn(line, 'request completed');
    else reply.log.info(line, 'request completed');
  }
}

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
