import type { Clock, Scheduler, Timer } from './clock.js';
import { newId } from './ids.js';
import type { WebhookEndpoint, WebhookMessageRecord } from './journal.js';
import { type Log, silentLog } from './log.js';
import type { SessionStore } from './store.js';
import { nextWebhookAttemptAt, type WebhookSettlement, webhookMaxAttempts } from './webhook-outbox.js';

/** What one request to an endpoint came to: a 2xx, or why not (a status, a timeout, a network error). */
export type WebhookSendResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: string };

/**
 * Sends one signed message to its endpoint, `at` being the attempt's time (its `webhook-timestamp`).
 * The sender (`webhooks/standard-webhooks-sender.ts`) signs and speaks HTTP; aborting `signal` ends
 * the request. It never throws: every failure is a result.
 */
export type WebhookSend = (message: WebhookMessageRecord, endpoint: WebhookEndpoint, at: number, signal: AbortSignal) => Promise<WebhookSendResult>;

/** One attempt as the metrics see it. */
export interface WebhookDeliveryOutcome {
  readonly message: WebhookMessageRecord;
  /** delivered; retrying (failed, another attempt is due later); failed (given up, or its endpoint is gone). */
  readonly outcome: 'delivered' | 'retrying' | 'failed';
  /** From the event to now, in milliseconds. */
  readonly sinceEventMs: number;
}

export interface WebhookDelivererSettings {
  /** How often the node looks for due messages. Default 1 s. */
  readonly pollIntervalMs: number;
  /** Longest wait for an endpoint's answer. Default 10 s. */
  readonly timeoutMs: number;
  /** How long a claimed message is this node's alone: longer than the timeout, or two nodes could send it at once. Default 60 s. */
  readonly leaseMs: number;
  /** Deliveries in flight at once on this node. Default 8. */
  readonly concurrency: number;
}

export const defaultWebhookDelivererSettings: WebhookDelivererSettings = {
  pollIntervalMs: 1_000,
  timeoutMs: 10_000,
  leaseMs: 60_000,
  concurrency: 8,
};

export interface WebhookDelivererOptions extends Partial<WebhookDelivererSettings> {
  readonly store: SessionStore;
  readonly endpoints: readonly WebhookEndpoint[];
  readonly send: WebhookSend;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** This node's name in the leases it takes; a fresh `node_…` id by default. */
  readonly nodeId?: string;
  /** In [0, 1): the jitter of the retry waits. Default Math.random. */
  readonly random?: () => number;
  readonly log?: Log;
}

/** The longest `last_error` kept: enough for a status line and the start of a body. */
const lastErrorLength = 500;

/**
 * Delivers the webhook outbox from one node. Every `pollIntervalMs` it claims due messages with a
 * lease in the store (so exactly one node sends each at a time, and a node that dies mid-delivery
 * lets go when its lease runs out), sends them with at most `concurrency` in flight, and records
 * each outcome: delivered, or the next attempt's time by the retry schedule, or given up.
 * Delivery is at least once: a receiver deduplicates by `webhook-id` (the message id).
 */
export class WebhookDeliverer {
  readonly nodeId: string;
  readonly #store: SessionStore;
  readonly #endpoints: ReadonlyMap<string, WebhookEndpoint>;
  readonly #send: WebhookSend;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #settings: WebhookDelivererSettings;
  readonly #random: () => number;
  readonly #log: Log;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #aborts = new Set<AbortController>();
  readonly #listeners = new Set<(outcome: WebhookDeliveryOutcome) => void>();
  #poll: Promise<void> | undefined;
  /** A poll asked for while one ran: run another when it ends (a message written meanwhile). */
  #pollAgain = false;
  #timer: Timer | undefined;
  #closed = false;
  #claimsFailing = false;

  constructor(options: WebhookDelivererOptions) {
    this.#store = options.store;
    this.#endpoints = new Map(options.endpoints.map((endpoint) => [endpoint.id, endpoint]));
    this.#send = options.send;
    this.#clock = options.clock;
    this.#scheduler = options.scheduler;
    this.#settings = {
      pollIntervalMs: options.pollIntervalMs ?? defaultWebhookDelivererSettings.pollIntervalMs,
      timeoutMs: options.timeoutMs ?? defaultWebhookDelivererSettings.timeoutMs,
      leaseMs: options.leaseMs ?? defaultWebhookDelivererSettings.leaseMs,
      concurrency: options.concurrency ?? defaultWebhookDelivererSettings.concurrency,
    };
    this.nodeId = options.nodeId ?? newId('node_');
    this.#random = options.random ?? Math.random;
    this.#log = options.log ?? silentLog;
  }

  get settings(): WebhookDelivererSettings {
    return this.#settings;
  }

  /** Deliveries being sent now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts polling on the scheduler. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = this.#scheduler.setRepeating(this.#settings.pollIntervalMs, () => this.poll(), { unref: true });
  }

  /** Hears every attempt's outcome (the metrics). */
  onDelivery(listener: (outcome: WebhookDeliveryOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Looks for due messages now (at most one look at a time; one asked for meanwhile follows it). */
  poll(): void {
    if (this.#closed) return;
    if (this.#poll) {
      this.#pollAgain = true;
      return;
    }
    this.#poll = this.#claimAndSend()
      .then(() => {
        if (this.#claimsFailing) this.#log.info({ node: this.nodeId }, 'webhooks: claiming due messages again');
        this.#claimsFailing = false;
      })
      .catch((error: unknown) => {
        // Once per outage, not once a second while the store is away.
        if (!this.#claimsFailing) this.#log.warn({ err: error, node: this.nodeId }, 'webhooks: could not claim due messages; retrying every poll');
        this.#claimsFailing = true;
      })
      .finally(() => {
        this.#poll = undefined;
        if (this.#pollAgain) {
          this.#pollAgain = false;
          this.poll();
        }
      });
  }

  /** Resolves once no look and no delivery is under way (tests wait on it after moving the clock). */
  async settled(): Promise<void> {
    while (this.#poll || this.#inFlight.size > 0) {
      await Promise.allSettled([this.#poll, ...this.#inFlight]);
    }
  }

  /**
   * Stops polling, ends the requests in flight (each is recorded as a failed attempt, tried again by
   * the schedule, by whichever node comes first) and waits for their outcomes to be written.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    for (const abort of this.#aborts) abort.abort(new Error('the node shut down mid-delivery'));
    await this.settled();
  }

  async #claimAndSend(): Promise<void> {
    const room = this.#settings.concurrency - this.#inFlight.size;
    if (room <= 0) return;
    const now = this.#clock.now();
    const claimed = await this.#store.claimWebhookMessages({ owner: this.nodeId, now, leaseUntil: now + this.#settings.leaseMs, limit: room });
    for (const message of claimed) {
      const delivery = this.#deliver(message).catch((error: unknown) =>
        this.#log.warn({ err: error, message_id: message.id }, 'webhooks: could not record a delivery outcome'),
      );
      this.#inFlight.add(delivery);
      void delivery.finally(() => {
        this.#inFlight.delete(delivery);
        // A full node looks again as soon as it has room, not a poll later.
        if (claimed.length === room && !this.#closed) this.poll();
      });
    }
  }

  async #deliver(message: WebhookMessageRecord): Promise<void> {
    const endpoint = this.#endpoints.get(message.endpointId);
    if (!endpoint) {
      const now = this.#clock.now();
      const error = `endpoint ${message.endpointId} is no longer configured on node ${this.nodeId}`;
      await this.#settle(message, { attempted: false, deliveredAt: null, failedAt: now, nextAttemptAt: null, lastError: error }, 'failed');
      return;
    }
    const result = await this.#attempt(message, endpoint);
    const now = this.#clock.now();
    if (result.ok) {
      await this.#settle(message, { attempted: true, deliveredAt: now, failedAt: null, nextAttemptAt: null, lastError: null }, 'delivered');
      return;
    }
    const attempts = message.attempts + 1;
    // A message retried by hand past its schedule gets that one more attempt.
    const next = attempts >= webhookMaxAttempts ? null : nextWebhookAttemptAt(attempts, now, this.#random());
    const lastError = result.error.slice(0, lastErrorLength);
    if (next === null) {
      await this.#settle(message, { attempted: true, deliveredAt: null, failedAt: now, nextAttemptAt: null, lastError }, 'failed');
    } else {
      await this.#settle(message, { attempted: true, deliveredAt: null, failedAt: null, nextAttemptAt: next, lastError }, 'retrying');
    }
  }

  /** One request, ended by the timeout (on the scheduler) or by `close`. */
  async #attempt(message: WebhookMessageRecord, endpoint: WebhookEndpoint) {
    const abort = new AbortController();
    const timeoutSeconds = this.#settings.timeoutMs / 1000;
    const timer = this.#scheduler.setTimer(this.#settings.timeoutMs, () => abort.abort(new Error(`no answer within ${timeoutSeconds} s`)), {
      unref: true,
    });
    this.#aborts.add(abort);
    try {
      return await this.#send(message, endpoint, this.#clock.now(), abort.signal);
    } catch (error) {
      // A sender that throws is a failed attempt too: the message must not sit leased and uncounted.
      return { ok: false as const, error: error instanceof Error ? error.message : String(error) };
    } finally {
      timer.cancel();
      this.#aborts.delete(abort);
    }
  }

  async #settle(message: WebhookMessageRecord, outcome: Omit<WebhookSettlement, 'id' | 'owner'>, kind: WebhookDeliveryOutcome['outcome']) {
    const settled = await this.#store.settleWebhookMessage({ id: message.id, owner: this.nodeId, ...outcome });
    if (!settled) {
      // The lease ran out and another node took the message over: its outcome is the one kept.
      this.#log.warn({ message_id: message.id, node: this.nodeId }, 'webhooks: lease lost before the outcome was written');
      return;
    }
    if (kind === 'failed') {
      this.#log.warn({ message_id: message.id, endpoint_id: message.endpointId, last_error: outcome.lastError }, 'webhooks: delivery given up');
    }
    const event: WebhookDeliveryOutcome = { message: settled, outcome: kind, sinceEventMs: this.#clock.now() - message.createdAt };
    for (const listener of this.#listeners) listener(event);
  }
}
