import { createHash } from 'node:crypto';
import type { WebhookMessageRecord } from './journal.js';

/**
 * The webhook outbox's rules: how an endpoint is named, what a secret must be, when a failed
 * delivery is tried again, and what a store does to claim and settle a message. The journal
 * (`journal.ts`) writes the messages; the deliverer (`webhook-deliverer.ts`) sends them.
 */

/** An endpoint's id: `wh_` and the first 16 hex digits of the SHA-256 of its URL, the same on every node and every start. */
export function webhookEndpointId(url: string): string {
  return `wh_${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
}

/** Standard Webhooks secrets: `whsec_` and the base64 of 24 to 64 random bytes. */
const secretPattern = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
export const webhookSecretBytes = { min: 24, max: 64 } as const;

/** Why `secret` is not a Standard Webhooks secret Tessera accepts, or undefined when it is. */
export function webhookSecretProblem(secret: string): string | undefined {
  const match = secretPattern.exec(secret);
  const shape = `must be whsec_ and the base64 of ${webhookSecretBytes.min} to ${webhookSecretBytes.max} random bytes (e.g. whsec_$(openssl rand -base64 32))`;
  if (!match || match[1]!.length % 4 !== 0) return shape;
  const bytes = Buffer.from(match[1]!, 'base64').length;
  if (bytes < webhookSecretBytes.min || bytes > webhookSecretBytes.max) return `${shape}; it holds ${bytes} bytes`;
  return undefined;
}

/**
 * Waits before each retry, per the Standard Webhooks recommendation: the first attempt at once, then
 * after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 27.6 hours, so a
 * receiver down for a day still gets every message.
 */
export const webhookRetryDelaysMs: readonly number[] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** Attempts in all, the first included. */
export const webhookMaxAttempts = webhookRetryDelaysMs.length + 1;

/** Up to this share is added to each wait, so receivers coming back are not hit by every node's retries at once. */
export const webhookRetryJitter = 0.2;

/**
 * When to try again after the `attempts`-th attempt failed (1 for the first), or null when that was
 * the last. `random` is in [0, 1); jitter only lengthens a wait, so the whole schedule still spans a day.
 */
export function nextWebhookAttemptAt(attempts: number, failedAt: number, random: number): number | null {
  const delay = webhookRetryDelaysMs[attempts - 1];
  if (delay === undefined) return null;
  return failedAt + Math.round(delay * (1 + webhookRetryJitter * random));
}

/** Where a message is: waiting for its next attempt, delivered, or given up on. */
export type WebhookMessageStatus = 'pending' | 'delivered' | 'failed';
export const webhookMessageStatuses: readonly WebhookMessageStatus[] = ['pending', 'delivered', 'failed'];

export function webhookMessageStatus(message: WebhookMessageRecord): WebhookMessageStatus {
  if (message.deliveredAt !== null) return 'delivered';
  if (message.failedAt !== null) return 'failed';
  return 'pending';
}

/** A node claiming due messages: those due by `now` and not held by a live lease become `owner`'s until `leaseUntil`. */
export interface WebhookClaim {
  readonly owner: string;
  readonly now: number;
  readonly leaseUntil: number;
  readonly limit: number;
}

/** What one attempt came to, written only while `owner` still holds the message; the lease is let go. */
export interface WebhookSettlement {
  readonly id: string;
  readonly owner: string;
  /** Whether a request was sent (false when the endpoint is gone): counts in `attempts`. */
  readonly attempted: boolean;
  readonly deliveredAt: number | null;
  readonly failedAt: number | null;
  readonly nextAttemptAt: number | null;
  readonly lastError: string | null;
}

/** Which messages to read: newest first (by creation, then id), strictly older than `before` when given. */
export interface WebhookMessageQuery {
  readonly endpointId?: string;
  readonly status?: WebhookMessageStatus;
  readonly before?: { readonly createdAt: number; readonly id: string };
  readonly limit: number;
}
