// What the browser tests' page origins share: forwarding `/v1/*` to the Tessera server, so the page,
// the bundled client and the API are one origin (no CORS in the way of what a test is about).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Request headers the proxy sets itself or drops, so the server sees a same-origin call. */
const droppedRequestHeaders = ['host', 'connection', 'content-length', 'origin', 'referer'];
/** Response headers that describe the upstream connection, not the answer. */
const droppedResponseHeaders = ['content-encoding', 'transfer-encoding', 'content-length', 'connection', 'keep-alive'];

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Sends `request` to `upstream` (same path and query) and writes its answer to `response`. */
export async function forward(upstream: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || droppedRequestHeaders.includes(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  // As a real proxy says whom the client called (a server that trusts the proxy reads them, e.g. for DPoP's htu).
  if (request.headers.host) headers.set('x-forwarded-host', request.headers.host);
  headers.set('x-forwarded-proto', 'http');
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(await readBody(request));
  const answer = await fetch(upstream + (request.url ?? '/'), { method: request.method ?? 'GET', headers, body });
  const out: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (!droppedResponseHeaders.includes(name)) out[name] = value;
  });
  response.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
}

/** A test page's origin, listening on 127.0.0.1. */
export interface ListeningOrigin {
  readonly url: string;
  readonly server: Server;
  /** Cuts open connections, then stops listening. */
  close(): Promise<void>;
}

/** Serves `handle` (given the request's path) on a free port; a handler that throws answers 502. */
export async function listenOrigin(
  handle: (path: string, request: IncomingMessage, response: ServerResponse) => Promise<void> | void,
): Promise<ListeningOrigin> {
  const server = createServer((request, response) => {
    Promise.resolve()
      .then(() => handle(new URL(request.url ?? '/', 'http://origin').pathname, request, response))
      .catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(502);
        response.end(String(error));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
