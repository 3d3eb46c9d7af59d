// The contract between a node and the channel it shares with the other nodes of one store: what a
// channel carries and how it reports. Kept apart from `fanout.ts` (which needs the session service)
// so that the store interface, the stores and the channels can name it without importing the core's
// services: `store.ts` → `fanout.ts` → `sessions.ts` → `store.ts` was a cycle.

/** What one node tells the others. Small on purpose: receivers read the rest from the store. */
export type FanoutMessage = { readonly type: 'session_revoked'; readonly sessionId: string; readonly version: number } | { readonly type: 'keys_rotated' };

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
  if (message['type'] === 'session_revoked' && typeof message['sessionId'] === 'string' && Number.isSafeInteger(message['version'])) {
    return { type: 'session_revoked', sessionId: message['sessionId'], version: message['version'] as number };
  }
  return null;
}
