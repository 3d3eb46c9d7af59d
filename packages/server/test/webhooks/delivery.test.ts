// Signed webhooks from the outbox, to a real receiving HTTP server that verifies each request with the
// `standardwebhooks` package, on manual time: a revocation's message, a receiver down for hours, the
// retry schedule used up, a timeout, an endpoint removed, and the management routes that show it all.

import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { webhookEndpointId, webhookRetryDelaysMs } from '../../src/core/webhook-outbox.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { type Answer, call, startCore, startServer, type TestServer, tempDir, testApiKey } from '../helpers.js';
import { newWebhookSecret, WebhookReceiver } from './receiver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  server: TestServer;
  clock: ManualClock;
  receiver: WebhookReceiver;
  secret: string;
  /** Manual timers only: moves the clock `seconds` forward in `step`-second steps, letting every delivery due on the way finish. */
  run(seconds: number, step?: number): Promise<void>;
  /** Sets the clock to when the next pending message is due and lets the node deliver what is due; returns that time. */
  jumpToNextAttempt(): Promise<number>;
  messages(query?: string): Promise<any[]>;
}

/**
 * A node on manual time with one endpoint at a real receiver. With `manualTimers` its timers (polls,
 * timeouts) run on the manual clock too; without, they run on the system's while the test sets the
 * time, so a day of retries is a few jumps instead of 86,400 polls of every timer the node has.
 */
async function setUp(options: { events?: string[]; delivery?: Record<string, number>; dir?: string; manualTimers?: boolean } = {}): Promise<Setup> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
  const secret = newWebhookSecret();
  const receiver = await WebhookReceiver.start({ secret, now: () => clock.now() });
  cleanups.push(() => receiver.close());
  const config = {
    webhooks: [{ url: receiver.url, events: options.events ?? ['session.revoked'], secret }],
    ...(options.delivery ? { webhook_delivery: options.delivery } : {}),
  };
  const server = await startServer({ config, clock, ...(options.manualTimers ? { scheduler: clock } : {}), ...(options.dir ? { dir: options.dir } : {}) });
  cleanups.push(() => server.close());
  const deliverer = server.tessera.webhooks!;
  return {
    server,
    clock,
    receiver,
    secret,
    async run(seconds, step = 1) {
      await deliverer.settled();
      for (let moved = 0; moved < seconds; moved += step) {
        await clock.advanceAsync(Math.min(step, seconds - moved));
        await deliverer.settled();
      }
    },
    async jumpToNextAttempt() {
      await deliverer.settled();
      const pending = await server.store.listWebhookMessages({ status: 'pending', limit: 1000 });
      const due = Math.min(...pending.map((message) => message.nextAttemptAt!));
      expect(due).toBeGreaterThan(clock.now());
      // A millisecond early, nothing is sent.
      const attemptsBefore = (await server.store.listWebhookMessages({ limit: 1000 })).reduce((sum, message) => sum + message.attempts, 0);
      clock.set(due - 1);
      deliverer.poll();
      await deliverer.settled();
      const early = await server.store.listWebhookMessages({ limit: 1000 });
      expect(early.reduce((sum, message) => sum + message.attempts, 0)).toBe(attemptsBefore);
      clock.set(due);
      deliverer.poll();
      await deliverer.settled();
      return due;
    },
    async messages(query = '') {
      const answer = await call(`${server.url}/v1/webhooks/messages${query}`, { token: testApiKey });
      expect(answer.status, answer.text).toBe(200);
      return answer.body.messages;
    },
  };
}

describe('a revocation becomes a signed session.revoked webhook', () => {
  it('delivers the contract body with Standard Webhooks headers the receiver verifies', async () => {
    const { server, clock, receiver, messages } = await setUp();
    const created = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'alice', metadata: { plan: 'pro' } } });
    expect(created.status).toBe(201);
    const id = created.body.session.id;
    const revoked = await call(`${server.url}/v1/sessions/${id}`, { method: 'DELETE', token: testApiKey });
    expect(revoked.status).toBe(200);
    // The node looks for its own new message at once: no clock move needed.
    await server.tessera.webhooks!.settled();

    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request!.verifyError).toBeUndefined();
    expect(request!.status).toBe(204);
    expect(request!.id).toMatch(/^msg_/);
    expect(request!.timestamp).toBe(String(Math.floor(clock.now() / 1000)));
    expect(request!.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const body = request!.verified as any;
    expect(Object.keys(body).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(body.type).toBe('session.revoked');
    expect(body.timestamp).toBe(new Date(clock.now()).toISOString());
    expect(body.data.session).toEqual(revoked.body);
    expect(body.data.session).toMatchObject({ id, user_id: 'alice', status: 'revoked', revoked_reason: 'admin', metadata: { plan: 'pro' } });
    expect(body.data.actor).toEqual({ type: expect.stringMatching(/^(user|api_key|cli|system)$/), id: expect.any(String) });
    expect(body.data.reason).toBe('admin');
    // A signature made with another secret does not verify: the receiver really checks.
    const forged = await WebhookReceiver.start({ secret: newWebhookSecret(), now: () => clock.now() });
    cleanups.push(() => forged.close());
    await fetch(forged.url, {
      method: 'POST',
      headers: { 'webhook-id': request!.id, 'webhook-timestamp': request!.timestamp, 'webhook-signature': request!.signature },
      body: request!.body,
    });
    expect(forged.received[0]!.verifyError).toMatch(/No matching signature/);

    // Only the subscribed type: the session.created of the same session sent nothing.
    const listed = await messages();
    expect(listed).toEqual([
      expect.objectContaining({
        id: request!.id,
        endpoint_id: webhookEndpointId(receiver.url),
        type: 'session.revoked',
        status: 'delivered',
        attempts: 1,
        last_error: null,
        next_attempt_at: null,
        delivered_at: new Date(clock.now()).toISOString(),
        failed_at: null,
        payload: body,
      }),
    ]);
    const endpoints = await call(`${server.url}/v1/webhooks/endpoints`, { token: testApiKey });
    expect(endpoints.body).toEqual({ endpoints: [{ id: webhookEndpointId(receiver.url), url: receiver.url, events: ['session.revoked'] }] });
    expect(endpoints.text).not.toContain('whsec_');
  });

  it('counts deliveries by outcome and their latency in /metrics', async () => {
    const { server, receiver, run } = await setUp({ manualTimers: true });
    const created = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'alice' } });
    receiver.mode = { kind: 'status', status: 500 };
    await call(`${server.url}/v1/sessions/${created.body.session.id}`, { method: 'DELETE', token: testApiKey });
    await run(0);
    receiver.mode = { kind: 'ok' };
    await run(7);
    const metrics = (await call(`${server.url}/metrics`)).text;
    expect(metrics).toMatch(/^tessera_webhook_deliveries_total\{outcome="retrying"\} 1$/m);
    expect(metrics).toMatch(/^tessera_webhook_deliveries_total\{outcome="delivered"\} 1$/m);
    expect(metrics).toMatch(/^tessera_webhook_deliveries_total\{outcome="failed"\} 0$/m);
    expect(metrics).toMatch(/^tessera_webhook_delivery_latency_seconds_count 1$/m);
    // Delivered on the retry, 5–6 s after the event.
    expect(metrics).toMatch(/^tessera_webhook_delivery_latency_seconds_bucket\{le="5"\} 0$/m);
    expect(metrics).toMatch(/^tessera_webhook_delivery_latency_seconds_bucket\{le="10"\} 1$/m);
  });
});

describe('every way a session ends reaches the receiver', () => {
  it('a logout, a revocation by the backend and a passive expiry each arrive once, signed, with their reason and actor', async () => {
    const { server, clock, receiver, run } = await setUp({ events: ['session.revoked', 'session.expired'], manualTimers: true });
    const start = (user: string) => call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: user, flow: 'verification' } });
    const [byLogout, byBackend, byTime] = await Promise.all([start('ann'), start('ben'), start('cat')]);
    const logout = await call(`${server.url}/v1/session/logout`, { method: 'POST', token: byLogout.body.access_token });
    expect(logout.status).toBe(200);
    expect((await call(`${server.url}/v1/sessions/${byBackend.body.session.id}`, { method: 'DELETE', token: testApiKey })).status).toBe(200);
    await run(1);
    // Nobody ends the third: the verification flow's 15 minutes pass, and the sweeper records the expiry.
    await run(15 * 60 + 60, 30);

    const ends = [...receiver.deduplicated.values()].map((request) => request.verified as any);
    expect(receiver.received.every((request) => request.verifyError === undefined)).toBe(true);
    const bySession = new Map(ends.map((body) => [body.data.session.id, body]));
    expect(bySession.size).toBe(3);
    expect(bySession.get(byLogout.body.session.id)).toMatchObject({
      type: 'session.revoked',
      data: { reason: 'logout', actor: { type: 'user', id: 'ann' }, session: { status: 'revoked', revoked_reason: 'logout' } },
    });
    expect(bySession.get(byBackend.body.session.id)).toMatchObject({
      type: 'session.revoked',
      data: { reason: 'admin', actor: { type: 'api_key' }, session: { status: 'revoked' } },
    });
    expect(bySession.get(byTime.body.session.id)).toMatchObject({
      type: 'session.expired',
      data: { reason: 'absolute', actor: { type: 'system' }, session: { user_id: 'cat', status: 'expired' } },
    });
    expect(Date.parse(bySession.get(byTime.body.session.id).timestamp)).toBeGreaterThanOrEqual(Date.parse(byTime.body.session.expires_at));
    expect(clock.now()).toBeGreaterThan(Date.parse(byTime.body.session.expires_at));
  });
});

describe('a receiver that is down for a while', () => {
  it('retries by the backoff schedule until it is back; each message arrives, and exactly once after dedup', async () => {
    const { server, clock, receiver, jumpToNextAttempt, messages } = await setUp();
    const deliverer = server.tessera.webhooks!;
    await receiver.down();
    for (let i = 0; i < 3; i++) await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'bob' } });
    const revoked = await call(`${server.url}/v1/users/bob/sessions`, { method: 'DELETE', token: testApiKey });
    expect(revoked.body.revoked).toBe(3);
    const eventAt = clock.now();
    await deliverer.settled();

    // First attempt: connection refused; the next is due 5–6 s later (5 s and up to 20% jitter).
    let pending = await messages();
    expect(pending).toHaveLength(3);
    for (const message of pending) {
      expect(message).toMatchObject({ status: 'pending', attempts: 1, delivered_at: null });
      expect(message.last_error).toMatch(/ECONNREFUSED/);
      const wait = Date.parse(message.next_attempt_at) - eventAt;
      expect(wait).toBeGreaterThanOrEqual(webhookRetryDelaysMs[0]!);
      expect(wait).toBeLessThanOrEqual(webhookRetryDelaysMs[0]! * 1.2);
    }

    // Each retry comes when it is due, not before (jumpToNextAttempt polls a millisecond early first).
    const attemptsAt = async (attempts: number) => {
      while ((await messages()).some((message) => message.attempts < attempts)) await jumpToNextAttempt();
      const now = await messages();
      expect(now.map((message) => message.attempts)).toEqual([attempts, attempts, attempts]);
      return now;
    };
    await attemptsAt(2);
    // Up again, but answering 500 at the 5 min and 30 min retries.
    await receiver.up();
    receiver.mode = { kind: 'status', status: 500 };
    pending = await attemptsAt(3);
    expect(pending.map((message) => message.last_error)).toEqual(Array.from({ length: 3 }, () => 'HTTP 500 Internal Server Error: receiver says 500'));
    await attemptsAt(4);
    expect(receiver.deduplicated.size).toBe(0);

    // Healthy by the 2 h retry: each message is delivered on it, and no attempt follows.
    receiver.mode = { kind: 'ok' };
    const settled = await attemptsAt(5);
    expect(settled.map((message) => message.status)).toEqual(['delivered', 'delivered', 'delivered']);
    clock.advance(2 * 86_400);
    deliverer.poll();
    await deliverer.settled();
    expect(receiver.received).toHaveLength(3 * 3);

    // Each message reached the receiver on every attempt after it came up, with one webhook-id throughout.
    const ids = settled.map((message) => message.id).sort();
    expect([...receiver.deduplicated.keys()].sort()).toEqual(ids);
    for (const id of ids) {
      expect(receiver.requestsById.get(id)).toBe(3);
      const requests = receiver.received.filter((request) => request.id === id);
      // 30 min (+ up to 20%) between the second and third, 2 h (+ up to 20%) before the fourth.
      const gaps = requests.slice(1).map((request, index) => request.at - requests[index]!.at);
      expect(gaps[0]).toBeGreaterThanOrEqual(webhookRetryDelaysMs[2]!);
      expect(gaps[0]).toBeLessThanOrEqual(webhookRetryDelaysMs[2]! * 1.2);
      expect(gaps[1]).toBeGreaterThanOrEqual(webhookRetryDelaysMs[3]!);
      expect(gaps[1]).toBeLessThanOrEqual(webhookRetryDelaysMs[3]! * 1.2);
      // Signed afresh at each attempt: the timestamp is the attempt's, and it verified each time.
      expect(new Set(requests.map((request) => request.timestamp)).size).toBe(3);
      expect(requests.every((request) => request.verifyError === undefined)).toBe(true);
    }
    // From the 5 s retry to the first 500: the 5 min wait, jitter included.
    const firstSeen = Math.min(...receiver.received.map((request) => request.at));
    expect(firstSeen - eventAt).toBeGreaterThanOrEqual(webhookRetryDelaysMs[0]! + webhookRetryDelaysMs[1]!);
    expect(firstSeen - eventAt).toBeLessThanOrEqual((webhookRetryDelaysMs[0]! + webhookRetryDelaysMs[1]!) * 1.2);
  });

  it('gives up after the last attempt, over a day after the event; a retry by hand then delivers it', async () => {
    const { server, clock, receiver, jumpToNextAttempt, messages } = await setUp();
    const created = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'carol' } });
    receiver.mode = { kind: 'status', status: 503 };
    await call(`${server.url}/v1/sessions/${created.body.session.id}`, { method: 'DELETE', token: testApiKey });
    const eventAt = clock.now();
    await server.tessera.webhooks!.settled();
    while ((await messages('?status=pending')).length > 0) await jumpToNextAttempt();
    const [failed] = await messages('?status=failed');
    expect(failed).toMatchObject({ status: 'failed', attempts: webhookRetryDelaysMs.length + 1, next_attempt_at: null, delivered_at: null });
    expect(failed.last_error).toMatch(/^HTTP 503/);
    expect(Date.parse(failed.failed_at) - eventAt).toBeGreaterThan(24 * 3_600_000);
    expect(receiver.requestsById.get(failed.id)).toBe(webhookRetryDelaysMs.length + 1);

    receiver.mode = { kind: 'ok' };
    const retried = await call(`${server.url}/v1/webhooks/messages/${failed.id}/retry`, { method: 'POST', token: testApiKey });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body.message).toMatchObject({ id: failed.id, status: 'pending', next_attempt_at: new Date(clock.now()).toISOString() });
    // The route asks the node to look at once.
    await server.tessera.webhooks!.settled();
    expect(await messages('?status=delivered')).toEqual([expect.objectContaining({ id: failed.id, attempts: webhookRetryDelaysMs.length + 2 })]);
    expect(receiver.deduplicated.has(failed.id)).toBe(true);

    // Nothing to retry once delivered; an unknown id is not_found; both the envelope.
    const again = await call(`${server.url}/v1/webhooks/messages/${failed.id}/retry`, { method: 'POST', token: testApiKey });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_request');
    const unknown = await call(`${server.url}/v1/webhooks/messages/msg_nope/retry`, { method: 'POST', token: testApiKey });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
  });

  it('a receiver that never answers times out after webhook_delivery.timeout, and is tried again', async () => {
    const { server, clock, receiver, run, messages } = await setUp({ delivery: { timeout: 3, lease: 10 }, manualTimers: true });
    const created = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'dan' } });
    receiver.mode = { kind: 'hold' };
    await call(`${server.url}/v1/sessions/${created.body.session.id}`, { method: 'DELETE', token: testApiKey });
    await expect.poll(() => receiver.heldCount, { timeout: 10_000 }).toBe(1);
    expect((await messages())[0]).toMatchObject({ status: 'pending', attempts: 0 });
    // The timeout is a timer of the node's scheduler: 2.9 s of manual time is not enough.
    await clock.advanceAsync(2.9);
    expect((await messages())[0]).toMatchObject({ attempts: 0 });
    await clock.advanceAsync(0.1);
    await server.tessera.webhooks!.settled();
    const [timedOut] = await messages();
    expect(timedOut).toMatchObject({ status: 'pending', attempts: 1, last_error: 'no answer within 3 s' });
    receiver.release();
    receiver.mode = { kind: 'ok' };
    await run(7);
    expect((await messages())[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(receiver.deduplicated.size).toBe(1);
  });
});

describe('bounds on a node', () => {
  it('holds at most webhook_delivery.concurrency requests in flight; the rest wait their turn', async () => {
    const { server, receiver, run, messages } = await setUp({ delivery: { concurrency: 3 }, manualTimers: true });
    receiver.mode = { kind: 'hold' };
    for (let i = 0; i < 7; i++) await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'hank' } });
    await call(`${server.url}/v1/users/hank/sessions`, { method: 'DELETE', token: testApiKey });
    await expect.poll(() => receiver.heldCount, { timeout: 10_000 }).toBe(3);
    // More polls find no room: still 3 requests, 4 messages not even claimed.
    await server.clock.advanceAsync(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(3);
    expect((await server.store.listWebhookMessages({ limit: 10 })).filter((message) => message.leaseOwner !== null)).toHaveLength(3);
    receiver.mode = { kind: 'ok' };
    receiver.release();
    // Each freed slot is filled at once, without waiting for a poll (the manual clock stands still).
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(7);
    await run(0);
    expect((await messages('?status=delivered')).map((message) => message.attempts)).toEqual(Array.from({ length: 7 }, () => 1));
    expect(receiver.requestsById.size).toBe(7);
  });

  it('a node that closes mid-delivery records the attempt, and another node sends the message', async () => {
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const first = await setUp({ dir: temp.dir, manualTimers: true });
    first.receiver.mode = { kind: 'hold' };
    const created = await call(`${first.server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'ivy' } });
    await call(`${first.server.url}/v1/sessions/${created.body.session.id}`, { method: 'DELETE', token: testApiKey });
    await expect.poll(() => first.receiver.heldCount, { timeout: 10_000 }).toBe(1);
    await first.server.close();
    const reader = new SqliteSessionStore(join(temp.dir, 'tessera.db'));
    const [aborted] = await reader.listWebhookMessages({ limit: 10 });
    await reader.close();
    expect(aborted).toMatchObject({ attempts: 1, lastError: 'the node shut down mid-delivery', leaseOwner: null, deliveredAt: null });

    first.receiver.mode = { kind: 'ok' };
    const clock = new ManualClock(first.clock.now());
    const second = await startCore({
      dir: temp.dir,
      clock,
      scheduler: clock,
      config: { webhooks: [{ url: first.receiver.url, events: ['session.revoked'], secret: first.secret }] },
    });
    cleanups.push(() => second.close());
    await clock.advanceAsync(7);
    await second.tessera.webhooks!.settled();
    expect(first.receiver.deduplicated.has(aborted!.id)).toBe(true);
    expect(await second.store.getWebhookMessage(aborted!.id)).toMatchObject({ attempts: 2, deliveredAt: expect.any(Number) });
  });
});

describe('an endpoint removed from the config', () => {
  it('its undelivered messages are marked failed, saying why', async () => {
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const first = await setUp({ dir: temp.dir, manualTimers: true });
    await first.receiver.down();
    const created = await call(`${first.server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'erin' } });
    await call(`${first.server.url}/v1/sessions/${created.body.session.id}`, { method: 'DELETE', token: testApiKey });
    await first.run(0);
    const [pending] = await first.messages();
    expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
    await first.server.close();

    const clock = new ManualClock(first.clock.now());
    const second = await startCore({ dir: temp.dir, clock, scheduler: clock, config: {} });
    cleanups.push(() => second.close());
    await clock.advanceAsync(10);
    await second.tessera.webhooks!.settled();
    const [failed] = await second.store.listWebhookMessages({ limit: 10 });
    // Given up when it came due, without another request: attempts stay 1.
    expect(failed).toMatchObject({ id: pending.id, attempts: 1, nextAttemptAt: null, deliveredAt: null });
    expect(failed!.failedAt).toBeGreaterThanOrEqual(Date.parse(pending.next_attempt_at));
    expect(failed!.failedAt).toBeLessThanOrEqual(clock.now());
    expect(failed!.lastError).toMatch(new RegExp(`endpoint ${pending.endpoint_id} is no longer configured`));
  });
});

describe('GET /v1/webhooks/messages', () => {
  it('pages newest first with a cursor, filters by status and endpoint, and refuses bad input with the envelope', async () => {
    const { server, run, messages } = await setUp({ events: ['session.created'], manualTimers: true });
    for (let i = 0; i < 5; i++) await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: `user${i}` } });
    await run(1);
    const all = await messages('?limit=200');
    expect(all).toHaveLength(5);
    expect(all.every((message: any) => message.type === 'session.created' && message.status === 'delivered')).toBe(true);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = await call(`${server.url}/v1/webhooks/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: testApiKey });
      expect(answer.status, answer.text).toBe(200);
      seen.push(...answer.body.messages.map((message: any) => message.id));
      cursor = answer.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((message: any) => message.id));
    expect(seen).toEqual([...seen].sort().reverse());
    expect(await messages('?status=failed')).toEqual([]);
    expect(await messages(`?endpoint_id=${all[0].endpoint_id}&status=delivered`)).toHaveLength(5);
    expect(await messages('?endpoint_id=wh_other')).toEqual([]);

    for (const query of ['?limit=0', '?limit=201', '?status=lost', '?cursor=bm9wZQ', '?extra=1']) {
      const refused = await call(`${server.url}/v1/webhooks/messages${query}`, { token: testApiKey });
      expect(refused.status, query).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
    }
    const unauthenticated = await call(`${server.url}/v1/webhooks/messages`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body.error).toBe('api_key_invalid');
  });
});

describe('the webhook routes in /openapi.json', () => {
  it('describe what the routes answer, successes and errors alike', async () => {
    const { server, receiver, messages } = await setUp({ events: ['*'] });
    const document = (await call(`${server.url}/openapi.json`)).body;
    const expectDescribed = (method: string, path: string, got: Answer) => {
      const response = document.paths[path]?.[method]?.responses?.[String(got.status)];
      expect(response, `${method} ${path} documents ${got.status}: ${got.text}`).toBeDefined();
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validate = ajv.compile({ components: document.components, allOf: [response.content['application/json'].schema] });
      expect(validate(got.body), `${method} ${path} ${got.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
    };
    receiver.mode = { kind: 'status', status: 500 };
    await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'gina' } });
    await server.tessera.webhooks!.settled();
    const [message] = await messages();
    const get = (path: string) => call(`${server.url}${path}`, { token: testApiKey });
    const post = (path: string) => call(`${server.url}${path}`, { method: 'POST', token: testApiKey });
    expectDescribed('get', '/v1/webhooks/endpoints', await get('/v1/webhooks/endpoints'));
    expectDescribed('get', '/v1/webhooks/messages', await get('/v1/webhooks/messages?limit=1'));
    expectDescribed('get', '/v1/webhooks/messages', await get('/v1/webhooks/messages?status=nope'));
    expectDescribed('get', '/v1/webhooks/messages', await call(`${server.url}/v1/webhooks/messages`));
    expectDescribed('post', '/v1/webhooks/messages/{id}/retry', await post(`/v1/webhooks/messages/${message.id}/retry`));
    expectDescribed('post', '/v1/webhooks/messages/{id}/retry', await post('/v1/webhooks/messages/msg_none/retry'));
    receiver.mode = { kind: 'ok' };
    await server.tessera.webhooks!.settled();
    expectDescribed('post', '/v1/webhooks/messages/{id}/retry', await post(`/v1/webhooks/messages/${message.id}/retry`));
  });
});
