import type { Redis } from 'ioredis';
import { type FanoutChannel, type FanoutMessage, type FanoutSubscriber, parseFanoutMessage } from '../core/fanout-channel.js';
import type { Log } from '../core/log.js';

/** A publish that Redis has not acknowledged by then is given up on (and logged by `Fanout`). */
const publishTimeoutMs = 2_000;

/**
 * Fan-out over Redis pub/sub. The channel is named after the client's `keyPrefix` (ioredis does not
 * prefix channels itself), so deployments sharing a Redis keep apart. Subscribes on a duplicate
 * connection, and again after every reconnect; what is lost in a gap is caught up from the store.
 */
export class RedisFanoutChannel implements FanoutChannel {
  readonly name = 'redis';
  readonly #redis: Redis;
  readonly #log: Log;
  readonly #channel: string;
  #listener: Redis | undefined;
  #closed = false;

  constructor(redis: Redis, log: Log) {
    this.#redis = redis;
    this.#log = log;
    this.#channel = `${redis.options.keyPrefix ?? ''}fanout`;
  }

  async publish(message: FanoutMessage): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`redis publish not acknowledged within ${publishTimeoutMs} ms`)), publishTimeoutMs);
    });
    try {
      await Promise.race([this.#redis.publish(this.#channel, JSON.stringify(message)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  listen(subscriber: FanoutSubscriber): void {
    const listener = this.#redis.duplicate({ lazyConnect: false, autoResubscribe: false, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.#listener = listener;
    let subscribed = false;
    listener.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      const message = parseFanoutMessage(text);
      if (message) subscriber.message(message);
    });
    listener.on('ready', () => {
      listener.subscribe(this.#channel).then(
        () => {
          if (this.#closed) return;
          subscribed = true;
          subscriber.connected();
        },
        (error: unknown) => this.#log.warn({ err: error }, 'redis: cannot subscribe; retrying on reconnect'),
      );
    });
    listener.on('close', () => {
      if (!subscribed || this.#closed) return;
      subscribed = false;
      subscriber.disconnected(new Error('redis connection closed'));
    });
    // ioredis reconnects by itself; `Fanout` logs the state changes, this only keeps errors from going unhandled.
    listener.on('error', () => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listener?.disconnect();
  }
}
