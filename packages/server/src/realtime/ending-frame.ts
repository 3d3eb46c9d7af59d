import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { errorEnvelope } from '../core/error-envelope.js';
import type { RealtimeError } from './close-codes.js';
import { encodeServerFrame } from './protocol.js';

/**
 * The last frame of every socket a change ends (`session_ended`, or `error` for a failure that leaves
 * the session alone), serialised once for all of them: only the `request_id` (the socket's id)
 * differs from one socket to the next, so the JSON is cut around it and each socket's text is three
 * strings joined. One session's 1,000 sockets cost one `JSON.stringify`, not 1,000.
 */
export class EndingFrame {
  readonly error: RealtimeError;
  readonly #before: string;
  readonly #after: string;

  constructor(error: RealtimeError, baseUrl: string, now: number) {
    this.error = error;
    const text = encodeServerFrame(frameOf(error, requestIdMarker, baseUrl, now));
    // `request_id` comes after the message and details, and only the timestamp follows it: the last match is it.
    const at = text.lastIndexOf(quotedMarker);
    this.#before = text.slice(0, at);
    this.#after = text.slice(at + quotedMarker.length);
  }

  /** The frame's JSON text for the socket whose id is `requestId`. */
  textFor(requestId: string): string {
    return this.#before + JSON.stringify(requestId) + this.#after;
  }
}

/** The frame `error` ends a socket with: `session_ended` when the session is over, else `error`. */
export function frameOf(error: RealtimeError, requestId: string, baseUrl: string, now: number) {
  const envelope = errorEnvelope(error, requestId, baseUrl, now);
  return error.endsSession ? { type: 'session_ended' as const, error: envelope } : { type: 'error' as const, error: envelope };
}

const requestIdMarker = '\u0000request_id\u0000';
const quotedMarker = JSON.stringify(requestIdMarker);

/**
 * Runs `write` with the socket's stream corked, so what it sends (a frame, then the close frame) leaves
 * in one `writev` rather than one each: the system call is most of a fan-out's cost per socket.
 * `ws` keeps its stream private (`_socket`); without one (a test double), `write` just runs.
 */
export function corked(ws: WebSocket, write: () => void): void {
  const stream = (ws as unknown as { _socket?: Duplex | null })._socket;
  if (!stream || typeof stream.cork !== 'function') {
    write();
    return;
  }
  stream.cork();
  try {
    write();
  } finally {
    stream.uncork();
  }
}

/**
 * Stops reading the socket until the returned function is called (`ws`'s own `pause` and `resume`).
 * A socket told it is ended answers with its closing handshake at once; read then, those handshakes
 * (~50 µs each on the server) run between the turns of a fan-out, ahead of the sockets not told yet.
 * Held, they wait for the end of it. `ws`'s close timer still ends a socket that is never read again.
 */
export function holdReading(ws: WebSocket): () => void {
  ws.pause();
  return () => ws.resume();
}
