import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** What a raw exchange saw: the parsed answer (when any came) and whether the server closed the connection. */
export interface RawAnswer {
  readonly status: number | undefined;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly body: any;
  /** The server ended the connection within the wait. */
  readonly closedByServer: boolean;
  readonly socket: Socket;
}

/**
 * Writes `request` as is on a new connection and waits up to `timeoutMs` for the server to close it.
 * The client never closes its own side (`allowHalfOpen`), like a client that stopped caring; the
 * caller destroys `socket` when done.
 */
export function rawExchange(port: number, request: string | (string | Buffer)[], timeoutMs = 5_000, onConnect?: (socket: Socket) => void): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...parseAnswer(Buffer.concat(chunks).toString('utf8')), closedByServer, socket });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      for (const part of Array.isArray(request) ? request : [request]) socket.write(part);
      onConnect?.(socket);
    });
  });
}

function parseAnswer(text: string): Omit<RawAnswer, 'closedByServer' | 'socket'> {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const bodyText = split === -1 ? '' : text.slice(split + 4);
  const [statusLine, ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  return { status: status === undefined ? undefined : Number(status), headers, text: bodyText, body };
}

/** Open file descriptors of a process (Linux), or of this one. */
export function openFds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** An HTTP/1.1 request asking to upgrade to h2c, as `curl --http2` sends it. */
export function h2cUpgrade(path: string, host = 'tessera.test'): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`;
}
