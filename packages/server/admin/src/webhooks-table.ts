import { element } from './dom.js';
import type { WebhookEndpoint, WebhookMessage } from './management-api.js';
import { localTime, relativeTime } from './times.js';

/** What is next for a message: when it is tried again, or when it settled. */
function outcome(message: WebhookMessage, now: number): string {
  if (message.status === 'delivered' && message.delivered_at) return `Delivered ${relativeTime(message.delivered_at, now)}`;
  if (message.status === 'failed' && message.failed_at) return `Given up ${relativeTime(message.failed_at, now)}`;
  if (message.next_attempt_at) return `Next attempt ${relativeTime(message.next_attempt_at, now)}`;
  return message.status;
}

/** Rows for the outbox: each message's event, endpoint, status, attempts and last error; failed or pending ones can be retried. */
export function webhookRows(
  messages: readonly WebhookMessage[],
  endpoints: readonly WebhookEndpoint[],
  now: number,
  onRetry: (message: WebhookMessage, button: HTMLButtonElement) => void,
): HTMLTableRowElement[] {
  const urls = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint.url]));
  return messages.map((message) => {
    const action = element('td', { class: 'action', 'data-field': 'actions' });
    if (message.status !== 'delivered') {
      const retry = element('button', { type: 'button', class: 'quiet', 'data-testid': 'webhook-retry' }, 'Retry now');
      retry.addEventListener('click', () => onRetry(message, retry));
      action.append(retry);
    }
    return element(
      'tr',
      { 'data-testid': 'webhook-row', 'data-message-id': message.id, 'data-status': message.status },
      element(
        'td',
        { 'data-field': 'event', 'data-label': 'Event' },
        element('strong', {}, message.type),
        element('span', { class: 'relative' }, `${localTime(message.created_at)} (${relativeTime(message.created_at, now)})`),
      ),
      element(
        'td',
        { 'data-field': 'endpoint', 'data-label': 'Endpoint' },
        element('span', { class: 'raw' }, urls.get(message.endpoint_id) ?? message.endpoint_id),
      ),
      element(
        'td',
        { 'data-field': 'status', 'data-label': 'Status' },
        element('span', { class: `status status-${message.status}`, 'data-field': 'status-label' }, message.status),
        element('span', { class: 'relative', 'data-field': 'outcome' }, outcome(message, now)),
      ),
      element('td', { 'data-field': 'attempts', 'data-label': 'Attempts' }, String(message.attempts)),
      element('td', { 'data-field': 'last_error', 'data-label': 'Last error', class: message.last_error ? 'raw' : 'none' }, message.last_error ?? '—'),
      action,
    );
  });
}
