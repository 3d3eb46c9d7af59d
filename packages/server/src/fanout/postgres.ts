import pg from 'pg';
import { type Scheduler, systemScheduler, type Timer } from '../core/clock.js';
import { type FanoutChannel, type FanoutMessage, type FanoutSubscriber, parseFanoutMessage } from '../core/fanout-channel.js';
import type { Log } from '../core/log.js';

/** The NOTIFY channel; each database is its own namespace, so nodes on other databases never hear it. */
const channelName = 'tessera_fanout';
/** A silent LISTEN connection (network cut, server frozen) is noticed within this, plus the query timeout. */
const heartbeatMs = 5_000;
const firstRetryMs = 250;
const longestRetryMs = 5_000;

export interface PostgresFanoutChannelOptions {
  readonly connectionString: string;
  readonly connectTimeoutMs: number;
  /** Sends a notification through the store's pool. */
  readonly notify: (channel: string, payload: string) => Promise<void>;
  readonly log: Log;
  /** Where the reconnect backoff and the heartbeat wait; the system's timers by default. */
  readonly scheduler?: Scheduler;
}

/**
 * Fan-out over PostgreSQL LISTEN/NOTIFY: publishes through the store's pool, listens on a connection
 * of its own that it re-opens with backoff when lost. NOTIFY is delivered only to sessions listening
 * at commit time; what is lost in a gap is caught up from the store by `Fanout`.
 */
export class PostgresFanoutChannel implements FanoutChannel {
  readonly name = 'postgres';
  readonly #options: PostgresFanoutChannelOptions;
  readonly #scheduler: Scheduler;
  #subscriber: FanoutSubscriber | undefined;
  #client: pg.Client | undefined;
  #retryMs = firstRetryMs;
  #retryTimer: Timer | undefined;
  #closed = false;

  constructor(options: PostgresFanoutChannelOptions) {
    this.#options = options;
    this.#scheduler = options.scheduler ?? systemScheduler;
  }

  publish(message: FanoutMessage): Promise<void> {
    return this.#options.notify(channelName, JSON.stringify(message));
  }

  listen(subscriber: FanoutSubscriber): void {
    this.#subscriber = subscriber;
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#retryTimer?.cancel();
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed || !this.#subscriber) return;
    const subscriber = this.#subscriber;
    const client = new pg.Client({
      connectionString: this.#options.connectionString,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      query_timeout: 3_000,
      keepAlive: true,
      application_name: 'tessera-fanout',
    });
    let heartbeat: Timer | undefined;
    let lost = false;
    const onLost = (reason: unknown) => {
      if (lost) return;
      lost = true;
      heartbeat?.cancel();
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => {});
      if (this.#closed) return;
      subscriber.disconnected(reason);
      this.#scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('LISTEN connection ended')));
    client.on('notification', (notification) => {
      if (notification.channel !== channelName || !notification.payload) return;
      const message = parseFanoutMessage(notification.payload);
      if (message) subscriber.message(message);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channelName}`);
    } catch (error) {
      onLost(error);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = firstRetryMs;
    heartbeat = this.#scheduler.setRepeating(heartbeatMs, () => void client.query('SELECT 1').catch(onLost), { unref: true });
    subscriber.connected();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    this.#retryTimer = this.#scheduler.setTimer(this.#retryMs, () => void this.#connect(), { unref: true });
    this.#retryMs = Math.min(this.#retryMs * 2, longestRetryMs);
  }
}
