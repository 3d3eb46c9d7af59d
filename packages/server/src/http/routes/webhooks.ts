import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { ApiKeys } from '../../core/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { TesseraError } from '../../core/errors.js';
import type { WebhookEndpoint, WebhookMessageRecord } from '../../core/journal.js';
import { isoTime, optionalIsoTime } from '../../core/session-json.js';
import type { SessionStore } from '../../core/store.js';
import { webhookMessageStatus } from '../../core/webhook-outbox.js';
import { WebhookEndpointsAnswer, WebhookMessagesAnswer, WebhookRetryAnswer } from '../answer-schemas.js';
import { requireApiKey } from '../auth.js';
import type { RouteDocs } from '../openapi.js';
import { type RequestRateLimits, secretSubject } from '../rate-limits.js';
import { WebhookMessageIdParams, WebhookMessagesQuery } from '../schemas.js';

export interface WebhookRouteOptions {
  readonly endpoints: readonly WebhookEndpoint[];
  readonly store: Pick<SessionStore, 'listWebhookMessages' | 'getWebhookMessage' | 'retryWebhookMessage'>;
  readonly clock: Clock;
  readonly apiKeys: Pick<ApiKeys, 'nameOf'>;
  readonly limits: RequestRateLimits;
  /** Looks for due messages at once (this node's deliverer), so a retried message goes now, not at the next poll. */
  readonly deliverNow?: () => void;
}

const defaultPageSize = 50;

/**
 * The webhook outbox as operators see it: the configured endpoints (never their secrets), the
 * messages with their attempts and last error, and a retry of one that failed. API key only.
 */
export const webhookRoutes: FastifyPluginAsync<WebhookRouteOptions> = async (app, { endpoints, store, clock, apiKeys, limits, deliverNow }) => {
  app.addHook('onRequest', async (request) => limits.enforce('management_per_key', secretSubject(await requireApiKey(apiKeys, request, limits))));

  app.get('/v1/webhooks/endpoints', { config: { docs: docs.endpoints } }, async () => ({
    endpoints: endpoints.map((endpoint) => ({ id: endpoint.id, url: endpoint.url, events: [...endpoint.events] })),
  }));

  app.get<{ Querystring: Static<typeof WebhookMessagesQuery> }>(
    '/v1/webhooks/messages',
    { schema: { querystring: WebhookMessagesQuery }, config: { docs: docs.messages } },
    async (request) => {
      const { endpoint_id, status, cursor } = request.query;
      const limit = request.query.limit === undefined ? defaultPageSize : Number(request.query.limit);
      const before = cursor === undefined ? undefined : parseMessageCursor(cursor);
      // One more than asked: whether there is a next page, without a count.
      const found = await store.listWebhookMessages({
        limit: limit + 1,
        ...(endpoint_id === undefined ? {} : { endpointId: endpoint_id }),
        ...(status === undefined ? {} : { status }),
        ...(before ? { before } : {}),
      });
      const page = found.slice(0, limit);
      const last = page.at(-1);
      return {
        messages: page.map(webhookMessageJson),
        next_cursor: found.length > limit && last ? formatMessageCursor(last) : null,
      };
    },
  );

  app.post<{ Params: Static<typeof WebhookMessageIdParams> }>(
    '/v1/webhooks/messages/:id/retry',
    { schema: { params: WebhookMessageIdParams }, config: { docs: docs.retry } },
    async (request) => {
      const { id } = request.params;
      const retried = await store.retryWebhookMessage(id, clock.now());
      if (!retried) {
        const message = await store.getWebhookMessage(id);
        if (!message) throw new TesseraError('not_found', { message: 'No webhook message with this id.' });
        throw new TesseraError('invalid_request', { details: [{ field: 'id', message: 'was delivered already: there is nothing to retry' }] });
      }
      deliverNow?.();
      return { message: webhookMessageJson(retried) };
    },
  );
};

/** A message as the API shows it. */
export function webhookMessageJson(message: WebhookMessageRecord) {
  return {
    id: message.id,
    endpoint_id: message.endpointId,
    event_id: message.eventId,
    type: message.type,
    status: webhookMessageStatus(message),
    attempts: message.attempts,
    last_error: message.lastError,
    created_at: isoTime(message.createdAt),
    next_attempt_at: optionalIsoTime(message.nextAttemptAt),
    delivered_at: optionalIsoTime(message.deliveredAt),
    failed_at: optionalIsoTime(message.failedAt),
    payload: JSON.parse(message.payload) as Record<string, unknown>,
  };
}

/** The cursor after `message`: opaque to callers, its creation time and id inside. */
function formatMessageCursor(message: WebhookMessageRecord): string {
  return Buffer.from(`${message.createdAt}.${message.id}`, 'utf8').toString('base64url');
}

function parseMessageCursor(cursor: string): { createdAt: number; id: string } {
  const match = /^([0-9]{1,16})\.(msg_[A-Za-z0-9_-]{1,100})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new TesseraError('invalid_request', { details: [{ field: 'cursor', message: 'must be a next_cursor from an earlier answer' }] });
  return { createdAt: Number(match[1]), id: match[2]! };
}

const docs = {
  endpoints: {
    summary: 'List the webhook endpoints',
    description: 'The endpoints of the config file (`webhooks`), with the event types each hears. Secrets are never shown.',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'The configured endpoints.', schema: WebhookEndpointsAnswer },
  },
  messages: {
    summary: 'List webhook messages',
    description:
      'The outbox, newest first: each message with its status (`pending`, `delivered`, `failed`), attempts, last error and next attempt. Filter by `endpoint_id` and `status`; page with `limit` (1–200, default 50) and `cursor` (the previous answer’s `next_cursor`).',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'A page of messages.', schema: WebhookMessagesAnswer },
  },
  retry: {
    summary: 'Retry a webhook message now',
    description:
      'Makes a failed (or pending) message due at once; one more failed attempt after the schedule is used up fails it again. A delivered message is `invalid_request`.',
    tag: 'Management',
    auth: 'api_key',
    answer: { status: 200, description: 'The message, due now.', schema: WebhookRetryAnswer },
    errors: ['not_found'],
  },
} satisfies Record<string, RouteDocs>;
