import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A fresh Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** One request as the receiver got it, and whether its signature verified. */
export interface ReceivedWebhook {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  /** The body as `Webhook.verify` returned it; undefined when verification failed. */
  readonly verified: unknown;
  readonly verifyError: string | undefined;
  /** The receiver's answer. */
  readonly status: number;
  /** The receiver's clock (`now`) when it came. */
  readonly at: number;
}

/** How the receiver answers: 204, a status of its choice, or not at all until released. */
export type ReceiverMode = { readonly kind: 'ok' } | { readonly kind: 'status'; readonly status: number } | { readonly kind: 'hold' };

export interface ReceiverOptions {
  readonly secret: string;
  /**
   * The receiver's clock. `Webhook.verify` refuses timestamps more than 5 minutes from `Date.now()`;
   * a test on manual time gives the node's clock here, as a receiver in step with the sender would be.
   */
  readonly now?: () => number;
}

/**
 * The app's backend as a webhook receiver: a real node:http server on 127.0.0.1 that verifies every
 * request with the `standardwebhooks` package and deduplicates by `webhook-id`. It can answer 500s,
 * hold requests open, or go down (connection refused) and come back on the same port.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  mode: ReceiverMode = { kind: 'ok' };
  /** Real milliseconds to wait before answering (a slow receiver keeps deliveries in flight longer). */
  delayMs = 0;
  readonly #webhook: Webhook;
  readonly #now: () => number;
  readonly #held = new Set<ServerResponse>();
  #server: Server | undefined;
  #port = 0;

  private constructor(options: ReceiverOptions) {
    this.#webhook = new Webhook(options.secret);
    this.#now = options.now ?? Date.now;
  }

  static async start(options: ReceiverOptions): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(options);
    await receiver.up();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/webhooks`;
  }

  /** Verified deliveries, one per `webhook-id`: what a deduplicating receiver acts on. */
  get deduplicated(): Map<string, ReceivedWebhook> {
    const unique = new Map<string, ReceivedWebhook>();
    for (const request of this.received)
      if (request.verified !== undefined && request.status >= 200 && request.status < 300 && !unique.has(request.id)) unique.set(request.id, request);
    return unique;
  }

  /** How many requests came with each `webhook-id`, answered or not. */
  get requestsById(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of this.received) counts.set(request.id, (counts.get(request.id) ?? 0) + 1);
    return counts;
  }

  get heldCount(): number {
    return this.#held.size;
  }

  /** Listens (again) on its port; the first time on a free one. */
  async up(): Promise<void> {
    const server = createServer((request, response) => void this.#answer(request, response));
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops every connection: requests now meet connection refused. */
  async down(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const response of this.#held) response.destroy();
    this.#held.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers the held requests with `status` (a slow receiver that finally answers). */
  release(status = 204): void {
    for (const response of this.#held) response.writeHead(status).end();
    this.#held.clear();
  }

  async close(): Promise<void> {
    await this.down();
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => String(request.headers[name] ?? '');
    const headers = { 'webhook-id': header('webhook-id'), 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') };
    let verified: unknown;
    let verifyError: string | undefined;
    const at = this.#now();
    try {
      verified = verifyAt(this.#webhook, body, headers, at);
    } catch (error) {
      verifyError = (error as Error).message;
    }
    const mode = this.mode;
    const status = verifyError ? 400 : mode.kind === 'ok' ? 204 : mode.kind === 'status' ? mode.status : 0;
    this.received.push({
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      signature: headers['webhook-signature'],
      body,
      verified,
      verifyError,
      status,
      at,
    });
    if (status === 0) {
      this.#held.add(response);
      return;
    }
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? `receiver says ${status}` : '');
  }
}

/** `Webhook.verify` with the receiver's clock as "now" (it reads `Date.now()` for the 5-minute tolerance). */
function verifyAt(webhook: Webhook, body: string, headers: Record<string, string>, at: number): unknown {
  const realNow = Date.now;
  Date.now = () => at;
  try {
    return webhook.verify(body, headers);
  } finally {
    Date.now = realNow;
  }
}
