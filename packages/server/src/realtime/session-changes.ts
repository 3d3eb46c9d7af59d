import type { Clock } from '../core/clock.js';
import type { SessionRecord } from '../core/session.js';
import { assertActive } from '../core/sessions.js';
import { type RealtimeError, toRealtimeError } from './close-codes.js';
import type { SocketConnection } from './connection.js';
import { EndingFrame } from './ending-frame.js';

/**
 * Sockets told per turn of the event loop before it yields to other work, by default: 1,000 sockets
 * take 40–75 ms on a quiet core of this project's bench machine, nearly all of it one `writev` each.
 * Fewer per turn starve other requests less, but cost more turns; at 256 a turn, 1,000 sockets of one
 * session heard of it by p99 115 ms, at 1,024 by 54–76 ms (`npm run bench:realtime -- --quick`).
 * Other requests wait once per mass revocation for up to a turn. The told sockets are not read until
 * the queue is empty, so their closing handshakes do not run between the turns (`holdReading`).
 */
export const socketsPerTurn = 1024;

/** How the queue reaches the sockets: the gateway's index by session, and a way to yield. */
export interface SessionChangesOptions {
  readonly clock: Clock;
  /** The base of `doc_url`s in the envelopes. */
  readonly baseUrl: string;
  /** The authenticated sockets of a session right now (looked up when its change is passed on). */
  connectionsOf(sessionId: string): Iterable<SocketConnection> | undefined;
  /**
   * Runs `turn` after the current one, once other callbacks and I/O have had their go. Default
   * `setImmediate`: the wait is a turn of the event loop, not time, so it is the same on manual time.
   */
  readonly defer?: (turn: () => void) => void;
  /** Sockets told per turn; default `socketsPerTurn`. */
  readonly socketsPerTurn?: number;
}

/**
 * Session changes on their way to the sockets. The session service tells its listeners synchronously,
 * inside the call that revoked (before an HTTP answer is sent); telling 1,000 sockets there made the
 * answer to a mass revocation wait for every one of them. The gateway only queues the change here;
 * the sockets are told from the next turn of the event loop on, `socketsPerTurn` at a time, so the
 * answer leaves first and requests arriving meanwhile are not starved. Changes are passed on in the
 * order they were heard; nothing queued is dropped but by `clear` (the gateway is closing).
 */
export class SessionChanges {
  readonly #options: SessionChangesOptions;
  readonly #defer: (turn: () => void) => void;
  #queue: SessionRecord[] = [];
  #next = 0;
  /** The change being passed on, part way through its sockets. */
  #current: Passing | null = null;
  #scheduled = false;
  /**
   * Revocation endings built this turn, by reason and time: the sessions of one mass revocation all end
   * with the same envelope but for the socket's id, so it is built once, not once per session.
   */
  readonly #endings = new Map<string, EndingFrame>();
  #drained: (() => void)[] = [];
  /** Resumes reading the sockets ended since the queue was last empty: their closing handshakes wait till then. */
  #held: (() => void)[] = [];

  constructor(options: SessionChangesOptions) {
    this.#options = options;
    this.#defer = options.defer ?? ((turn) => void setImmediate(turn));
  }

  /** Changes heard but not yet passed on to every socket. */
  get pending(): number {
    return this.#queue.length - this.#next + (this.#current ? 1 : 0);
  }

  /** Queues `session`, as it is now, for its sockets. */
  push(session: SessionRecord): void {
    this.#queue.push(session);
    this.#schedule();
  }

  /** Resolves once every change queued so far has reached its sockets (at once when none is). */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Drops what is queued: the gateway is closing every socket anyway. */
  clear(): void {
    this.#queue = [];
    this.#next = 0;
    this.#current = null;
    this.#settle();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(() => {
      this.#scheduled = false;
      this.#turn();
    });
  }

  #turn(): void {
    this.#endings.clear();
    let budget = this.#options.socketsPerTurn ?? socketsPerTurn;
    while (budget > 0) {
      const current = this.#current ?? this.#take();
      if (!current) break;
      const stop = Math.min(current.sockets.length, current.told + budget);
      budget -= stop - current.told;
      for (; current.told < stop; current.told++) {
        const release = current.sockets[current.told]!.sessionChanged(current.session, current.ending);
        if (release) this.#held.push(release);
      }
      this.#current = current.told < current.sockets.length ? current : null;
    }
    if (this.pending > 0) this.#schedule();
    else this.#settle();
  }

  /** Every queued change has reached its sockets: the ended ones are read again, and waiters told. */
  #settle(): void {
    for (const release of this.#held.splice(0)) release();
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** The next queued change that has sockets on this node, with its ending worked out once for all of them. */
  #take(): Passing | null {
    while (this.#next < this.#queue.length) {
      const session = this.#queue[this.#next++]!;
      const group = this.#options.connectionsOf(session.id);
      if (!group) continue;
      const sockets = [...group];
      if (sockets.length === 0) continue;
      return { session, ending: this.#endingOf(session), sockets, told: 0 };
    }
    this.#queue = [];
    this.#next = 0;
    return null;
  }

  #endingOf(session: SessionRecord): EndingFrame | null {
    const key = session.revokedAt === null ? null : `${session.revokedReason ?? ''}\u0000${session.revokedAt}`;
    const known = key === null ? undefined : this.#endings.get(key);
    if (known) return known;
    const now = this.#options.clock.now();
    const error = endingOf(session, now);
    const ending = error && new EndingFrame(error, this.#options.baseUrl, now);
    if (key !== null && ending) this.#endings.set(key, ending);
    return ending;
  }
}

interface Passing {
  readonly session: SessionRecord;
  readonly ending: EndingFrame | null;
  readonly sockets: SocketConnection[];
  told: number;
}

/** The error that ends the sockets of `session` at `now`, or null while it is active. */
export function endingOf(session: SessionRecord, now: number): RealtimeError | null {
  // An expected outcome, sent as an envelope and never logged: no stack trace (about 20 µs saved per revoked session).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    assertActive(session, now);
    return null;
  } catch (error) {
    return toRealtimeError(error);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
