// The contract between a node and the channel it shares with the other nodes of one store: what a
// channel carries and how it reports. Kept apart from `fanout.ts` (which needs the session service)
// so that the store interface, the stores and the channels can name it without importing the core's
// services: `store.ts` → `fanout.ts` → `sessions.ts` → `store.ts` was a cycle.

/** One revoked session as the nodes tell each other of it: which, and which version of it was revoked. */
export interface RevokedSessionNote {
  readonly sessionId: string;
  readonly version: number;
}

/**
 * What one node tells the others. Small on purpose: receivers read the rest from the store.
 * `sessions_revoked` carries the sessions one call revoked together (a user's every session), a few
 * hundred to a message, where one message each cost a publish and a read per session. A node older than
 * it ignores it (unknown type) and learns of those revocations at its next safety poll of the store
 * (`safetyPollMs`, 5 s) instead of at once: mixed versions during a rolling upgrade are slower, never
 * wrong. A single revocation still goes out as `session_revoked`, which every version reads.
 */
export type FanoutMessage =
  | ({ readonly type: 'session_revoked' } & RevokedSessionNote)
  | { readonly type: 'sessions_revoked'; readonly sessions: readonly RevokedSessionNote[] }
  | { readonly type: 'keys_rotated' };

/**
 * Bytes of JSON per message, at most: PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more, and
 * Redis is happier with small messages too. About 150 sessions fit.
 */
export const fanoutMessageBytes = 7_000;

/** The messages that tell of `revoked`: one `session_revoked` for one session, else batches under `fanoutMessageBytes`. */
export function revocationMessages(revoked: readonly RevokedSessionNote[]): FanoutMessage[] {
  if (revoked.length === 1) return [{ type: 'session_revoked', sessionId: revoked[0]!.sessionId, version: revoked[0]!.version }];
  const messages: FanoutMessage[] = [];
  const overhead = JSON.stringify({ type: 'sessions_revoked', sessions: [] }).length;
  let batch: RevokedSessionNote[] = [];
  let bytes = overhead;
  for (const note of revoked) {
    const noteBytes = Buffer.byteLength(JSON.stringify({ sessionId: note.sessionId, version: note.version })) + 1;
    if (batch.length > 0 && bytes + noteBytes > fanoutMessageBytes) {
      messages.push({ type: 'sessions_revoked', sessions: batch });
      batch = [];
      bytes = overhead;
    }
    batch.push({ sessionId: note.sessionId, version: note.version });
    bytes += noteBytes;
  }
  if (batch.length > 0) messages.push({ type: 'sessions_revoked', sessions: batch });
  return messages;
}

/** What a channel reports to the node listening on it. */
export interface FanoutSubscriber {
  message(message: FanoutMessage): void;
  /** Delivering (again). Anything published while it was not may have been lost. */
  connected(): void;
  /** Stopped delivering; the channel keeps trying to reconnect by itself. */
  disconnected(reason: unknown): void;
}

/** A way for the nodes sharing one store to tell each other about changes: Redis pub/sub, PostgreSQL NOTIFY. */
export interface FanoutChannel {
  /** For logs: `redis`, `postgres`. */
  readonly name: string;
  publish(message: FanoutMessage): Promise<void>;
  /** Starts listening and reconnecting; returns at once, without waiting for a first connection. */
  listen(subscriber: FanoutSubscriber): void;
  close(): Promise<void>;
}

/** Reads a message off the wire; anything else is null. */
export function parseFanoutMessage(text: string): FanoutMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  if (message['type'] === 'keys_rotated') return { type: 'keys_rotated' };
  if (message['type'] === 'session_revoked') {
    const note = revokedSessionNote(message);
    return note && { type: 'session_revoked', ...note };
  }
  if (message['type'] === 'sessions_revoked' && Array.isArray(message['sessions'])) {
    const sessions: RevokedSessionNote[] = [];
    for (const entry of message['sessions'] as unknown[]) {
      const note = typeof entry === 'object' && entry !== null ? revokedSessionNote(entry as Record<string, unknown>) : null;
      if (!note) return null;
      sessions.push(note);
    }
    return { type: 'sessions_revoked', sessions };
  }
  return null;
}

function revokedSessionNote(value: Record<string, unknown>): RevokedSessionNote | null {
  const { sessionId, version } = value;
  if (typeof sessionId !== 'string' || !Number.isSafeInteger(version)) return null;
  return { sessionId, version: version as number };
}
