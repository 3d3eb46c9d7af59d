import type { Clock } from './clock.js';
import { newId } from './ids.js';
import type { SessionRecord } from './session.js';
import { isoTime, sessionJson } from './session-json.js';

/**
 * The audit trail and the webhook outbox. Every change worth recording (a session created, revoked,
 * expired; a reused refresh token; a signing key rotated; an API key created or revoked) becomes an
 * audit event, and one webhook message per endpoint subscribed to its type. The store writes both in
 * the same transaction as the change, so a crash loses neither; a deliverer sends the messages later.
 */

export const auditEventTypes = [
  'session.created',
  'session.revoked',
  'session.expired',
  'session.reuse_detected',
  'signing_key.rotated',
  'api_key.created',
  'api_key.revoked',
] as const;
export type AuditEventType = (typeof auditEventTypes)[number];

/** Who made a change: the session's own user, an API key (by name), the CLI (by OS user), or Tessera itself. */
export interface Actor {
  readonly type: 'user' | 'api_key' | 'cli' | 'system';
  readonly id: string;
}

/** Changes nobody asked for: expiry, reuse detection, a node's own first key. */
export const systemActor: Actor = { type: 'system', id: 'tessera' };

/** One recorded event. Times are epoch milliseconds. */
export interface AuditEventRecord {
  /** `evt_` and a time-ordered id. */
  readonly id: string;
  readonly type: AuditEventType;
  readonly at: number;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly actor: Actor;
  readonly reason: string | null;
  readonly details: Record<string, unknown>;
}

/** One endpoint of the app's backend that hears events of some types, signed with its secret. */
export interface WebhookEndpoint {
  /** Stable across restarts and nodes: derived from the URL (`webhookEndpointId`). */
  readonly id: string;
  readonly url: string;
  readonly events: readonly AuditEventType[];
  /** `whsec_` and base64, per the Standard Webhooks specification. */
  readonly secret: string;
}

/** One message for one endpoint, in the outbox until it is delivered or given up on. */
export interface WebhookMessageRecord {
  /** `msg_` and a time-ordered id: the `webhook-id` header, the receiver's idempotency key. */
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly type: AuditEventType;
  /** The JSON body, fixed when the event happened: `{ type, timestamp, data }`. */
  readonly payload: string;
  readonly createdAt: number;
  readonly attempts: number;
  /** When the next attempt is due; null once settled (delivered or given up). */
  readonly nextAttemptAt: number | null;
  readonly deliveredAt: number | null;
  /** When delivery was given up on (retries used up, or the endpoint removed). */
  readonly failedAt: number | null;
  readonly lastError: string | null;
  /** The node delivering it now, and until when that claim holds. */
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
}

/** What a store writes beside a change, in its transaction. */
export interface JournalWrite {
  readonly events: readonly AuditEventRecord[];
  readonly messages: readonly WebhookMessageRecord[];
}

/** What to record for a change, given what the store changed; called inside the transaction, only when something changed. */
export type JournalFor<T> = (changed: T) => JournalWrite;

export const emptyJournalWrite: JournalWrite = { events: [], messages: [] };

/** An event as the core describes it; the journal adds its id, time and messages. */
export interface AuditEventDraft {
  readonly type: AuditEventType;
  readonly actor: Actor;
  readonly reason?: string | null;
  /** The session it is about, as it is after the change. */
  readonly session?: SessionRecord;
  readonly userId?: string | null;
  readonly details?: Record<string, unknown>;
}

export interface JournalOptions {
  readonly clock: Clock;
  readonly endpoints?: readonly WebhookEndpoint[];
}

/** Crockford's base 32, as the ids spell it. */
const base32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Ids that sort in the order this process made them, within one millisecond too (a ULID's monotonic
 * mode): a reuse and the revocation it caused are written in the same millisecond, and newest-first
 * reading must show them in the order they happened.
 */
class MonotonicIds {
  readonly #last = new Map<string, string>();

  next(prefix: string, at: number): string {
    const fresh = newId(prefix, at);
    const last = this.#last.get(prefix);
    const id = last !== undefined && fresh <= last ? successor(last) : fresh;
    this.#last.set(prefix, id);
    return id;
  }
}

/** The next id in base-32 order: the last character up by one, carrying left. */
function successor(id: string): string {
  const chars = [...id];
  for (let i = chars.length - 1; i >= 0; i--) {
    const digit = base32.indexOf(chars[i]!);
    if (digit < 0) break;
    if (digit < base32.length - 1) {
      chars[i] = base32[digit + 1]!;
      return chars.join('');
    }
    chars[i] = base32[0]!;
  }
  // Every character was the last digit: longer sorts after it.
  return `${id}0`;
}

/** Turns the core's events into audit records and webhook messages. Holds no state but the endpoints and the last ids. */
export class Journal {
  readonly #clock: Clock;
  readonly #endpoints: readonly WebhookEndpoint[];
  readonly #ids = new MonotonicIds();

  constructor(options: JournalOptions) {
    this.#clock = options.clock;
    this.#endpoints = options.endpoints ?? [];
  }

  get endpoints(): readonly WebhookEndpoint[] {
    return this.#endpoints;
  }

  /** The records and messages for `drafts`, all stamped now. */
  write(drafts: readonly AuditEventDraft[]): JournalWrite {
    if (drafts.length === 0) return emptyJournalWrite;
    const at = this.#clock.now();
    const events: AuditEventRecord[] = [];
    const messages: WebhookMessageRecord[] = [];
    for (const draft of drafts) {
      const event: AuditEventRecord = {
        id: this.#ids.next('evt_', at),
        type: draft.type,
        at,
        userId: draft.session?.userId ?? draft.userId ?? null,
        sessionId: draft.session?.id ?? null,
        actor: draft.actor,
        reason: draft.reason ?? null,
        details: draft.details ?? {},
      };
      events.push(event);
      const subscribed = this.#endpoints.filter((endpoint) => endpoint.events.includes(event.type));
      if (subscribed.length === 0) continue;
      const payload = JSON.stringify(webhookBody(event, draft.session, at));
      for (const endpoint of subscribed) {
        messages.push({
          id: this.#ids.next('msg_', at),
          endpointId: endpoint.id,
          eventId: event.id,
          type: event.type,
          payload,
          createdAt: at,
          attempts: 0,
          nextAttemptAt: at,
          deliveredAt: null,
          failedAt: null,
          lastError: null,
          leaseOwner: null,
          leaseUntil: null,
        });
      }
    }
    return { events, messages };
  }

  /** The same drafts for every session a change touched (a user's sessions revoked at once). */
  forSessions(sessions: readonly SessionRecord[], draft: (session: SessionRecord) => readonly AuditEventDraft[]): JournalWrite {
    return this.write(sessions.flatMap(draft));
  }
}

/** The contract's webhook body: `{ type, timestamp, data: { session, actor, reason, … } }`. */
function webhookBody(event: AuditEventRecord, session: SessionRecord | undefined, now: number) {
  return {
    type: event.type,
    timestamp: isoTime(event.at),
    data: {
      ...(session ? { session: sessionJson(session, now) } : {}),
      ...(event.userId !== null && !session ? { user_id: event.userId } : {}),
      actor: event.actor,
      reason: event.reason,
      ...(Object.keys(event.details).length > 0 ? { details: event.details } : {}),
      event_id: event.id,
    },
  };
}
