import { Webhook } from 'standardwebhooks';
import type { WebhookEndpoint, WebhookMessageRecord } from '../core/journal.js';
import type { WebhookSend, WebhookSendResult } from '../core/webhook-deliverer.js';

/** What a failed answer's body may add to `last_error`: its start only. */
const bodyExcerptLength = 200;

/**
 * Sends a message as the Standard Webhooks specification says: a JSON POST with `webhook-id` (the
 * message id, the receiver's idempotency key), `webhook-timestamp` (seconds) and `webhook-signature`
 * (`v1,` and the HMAC-SHA256 of `id.timestamp.body` under the endpoint's secret), signed by the
 * `standardwebhooks` package, which receivers verify with too. Any 2xx is delivered; a redirect is
 * not followed (it is a failure, as the specification advises).
 */
export function standardWebhooksSender(options: { readonly userAgent?: string } = {}): WebhookSend {
  const signers = new Map<string, Webhook>();
  const signerOf = (endpoint: WebhookEndpoint) => {
    let signer = signers.get(endpoint.secret);
    if (!signer) {
      signer = new Webhook(endpoint.secret);
      signers.set(endpoint.secret, signer);
    }
    return signer;
  };
  return async (message: WebhookMessageRecord, endpoint: WebhookEndpoint, at: number, signal: AbortSignal): Promise<WebhookSendResult> => {
    const timestamp = new Date(Math.floor(at / 1000) * 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': options.userAgent ?? 'Tessera-Webhooks',
      'webhook-id': message.id,
      'webhook-timestamp': String(timestamp.getTime() / 1000),
      'webhook-signature': signerOf(endpoint).sign(message.id, timestamp, message.payload),
    };
    try {
      const response = await fetch(endpoint.url, { method: 'POST', headers, body: message.payload, redirect: 'manual', signal });
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel().catch(() => {});
        return { ok: true, status: response.status };
      }
      const excerpt = await bodyExcerpt(response);
      return { ok: false, error: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}` };
    } catch (error) {
      return { ok: false, error: failureOf(error, signal) };
    }
  };
}

/** The start of a failed answer's body, on one line; nothing if it cannot be read. */
async function bodyExcerpt(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.replace(/\s+/g, ' ').trim().slice(0, bodyExcerptLength);
  } catch {
    return '';
  }
}

/** Why a request failed, in words an operator can act on: the abort's reason, else the network error beneath fetch's "fetch failed". */
function failureOf(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason.message : 'the request was aborted';
  const cause = (error as { cause?: unknown }).cause;
  const underlying = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  if (!underlying) return String(error);
  const code = (underlying as NodeJS.ErrnoException).code;
  return code && !underlying.message.includes(code) ? `${code}: ${underlying.message}` : underlying.message;
}
