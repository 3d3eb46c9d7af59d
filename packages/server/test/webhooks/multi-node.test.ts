// Several nodes on one store deliver the same outbox: each message goes out once while leases hold,
// and a node killed mid-delivery (a real `tessera serve` child, SIGKILLed while the receiver holds its
// request open) loses nothing: another node sends the message once the lease runs out. Real time, so
// every wait polls for the outcome with generous limits.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { SessionStore } from '../../src/core/store.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { cleanupDirs, dataDir, eventually, killAll, serve } from '../cli/harness.js';
import { call } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';
import { newWebhookSecret, WebhookReceiver } from './receiver.js';

const key = 'tsk_webhook_nodes_key_0123456789abcdef';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
  await database?.drop();
});

function webhookConfig(receiver: WebhookReceiver, secret: string, delivery: Record<string, number>) {
  return { webhooks: [{ url: receiver.url, events: ['session.revoked'], secret }], webhook_delivery: delivery };
}

async function node(store: SessionStore, config: unknown, listen = true): Promise<Tessera> {
  const tessera = await createTessera({ store, config: parseConfig(config), issuer: 'http://tessera.test', listen });
  cleanups.push(() => tessera.close());
  return tessera;
}

/**
 * Two delivering nodes and a third process that only writes (a one-shot command: it delivers nothing,
 * so the two compete for every message). The receiver answers slowly and each node holds at most 2 at
 * once, so deliveries overlap and both nodes take part.
 */
async function exactlyOnceAcrossNodes(openStore: () => Promise<SessionStore>): Promise<void> {
  const secret = newWebhookSecret();
  const receiver = await WebhookReceiver.start({ secret });
  cleanups.push(() => receiver.close());
  receiver.delayMs = 30;
  const config = webhookConfig(receiver, secret, { poll_interval: 0.1, concurrency: 2, timeout: 10, lease: 30 });
  const a = await node(await openStore(), config);
  const b = await node(await openStore(), config);
  const writer = await node(await openStore(), config, false);
  const delivered = { a: 0, b: 0 };
  a.webhooks!.onDelivery(({ outcome }) => outcome === 'delivered' && delivered.a++);
  b.webhooks!.onDelivery(({ outcome }) => outcome === 'delivered' && delivered.b++);

  const n = 40;
  for (let i = 0; i < n; i++) {
    const grant = await writer.sessions.createSession({ userId: `user${i % 4}` });
    await writer.sessions.revokeSession(grant.session.id, 'admin');
  }
  await eventually(async () => receiver.deduplicated.size === n, 60_000);
  // The receiver answers before the node writes the outcome: wait for the store, then a quiet while: nothing is sent again.
  await eventually(async () => (await a.store.listWebhookMessages({ limit: 1000 })).every((message) => message.deliveredAt !== null), 30_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(receiver.received).toHaveLength(n);
  expect([...receiver.requestsById.values()].every((count) => count === 1)).toBe(true);
  expect(receiver.received.every((request) => request.verifyError === undefined)).toBe(true);
  expect(delivered.a + delivered.b).toBe(n);
  expect(delivered.a).toBeGreaterThan(0);
  expect(delivered.b).toBeGreaterThan(0);
  const messages = await a.store.listWebhookMessages({ limit: 1000 });
  expect(messages.map((message) => [message.attempts, message.deliveredAt !== null])).toEqual(Array.from({ length: n }, () => [1, true]));
}

describe('two nodes deliver each message exactly once', () => {
  it('on one PostgreSQL database', async () => {
    await exactlyOnceAcrossNodes(() => PostgresSessionStore.open({ connectionString: database.url }));
  });

  it('on one SQLite file', async () => {
    const path = join(dataDir(), 'tessera.db');
    await exactlyOnceAcrossNodes(async () => new SqliteSessionStore(path));
  });
});

describe('a node killed mid-delivery', () => {
  it('lets its lease run out; another node delivers, and the receiver ends with every message once', async () => {
    const secret = newWebhookSecret();
    const receiver = await WebhookReceiver.start({ secret });
    cleanups.push(() => receiver.close());
    receiver.mode = { kind: 'hold' };
    const dir = dataDir();
    const configPath = join(dir, 'tessera.json');
    // A lease of 12 s, longer than the 10 s timeout: the child is killed long before either ends.
    const config = webhookConfig(receiver, secret, { poll_interval: 0.2, timeout: 10, lease: 12 });
    writeFileSync(configPath, JSON.stringify(config));
    const child = await serve(
      ['--port', '0', '--host', '127.0.0.1', '--data', dir, '--config', configPath, '--api-key', key, '--log-level', 'warn'],
      {},
      45_000,
    );

    const n = 5;
    for (let i = 0; i < n; i++) expect((await call(`${child.url}/v1/sessions`, { token: key, body: { user_id: 'frank' } })).status).toBe(201);
    const revoked = await call(`${child.url}/v1/users/frank/sessions`, { method: 'DELETE', token: key });
    expect(revoked.body.revoked).toBe(n);
    await eventually(async () => receiver.heldCount === n, 30_000);
    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();

    // The dead node's claims are still in the store: no outcome written, each lease held until it runs out.
    receiver.mode = { kind: 'ok' };
    const survivor = await node(new SqliteSessionStore(join(dir, 'tessera.db')), config);
    const claimed = await survivor.store.listWebhookMessages({ limit: 100 });
    expect(claimed).toHaveLength(n);
    const deadOwner = claimed[0]!.leaseOwner;
    expect(deadOwner).toMatch(/^node_/);
    expect(deadOwner).not.toBe(survivor.webhooks!.nodeId);
    for (const message of claimed) {
      expect(message).toMatchObject({ attempts: 0, deliveredAt: null, leaseOwner: deadOwner });
      expect(message.leaseUntil).toBeGreaterThan(killedAt);
    }
    const leaseEnd = Math.max(...claimed.map((message) => message.leaseUntil!));

    await eventually(async () => receiver.deduplicated.size === n, 60_000);
    const ids = claimed.map((message) => message.id).sort();
    expect([...receiver.deduplicated.keys()].sort()).toEqual(ids);
    for (const id of ids) {
      // Twice on the wire (the held request the dead node never heard answered, then the survivor's), once after dedup.
      expect(receiver.requestsById.get(id)).toBe(2);
      const [held, delivered] = receiver.received.filter((request) => request.id === id);
      expect(held!.status).toBe(0);
      expect(delivered!.status).toBe(204);
      // Not before the lease ran out (the store's clock and this one are the same machine's).
      expect(delivered!.at).toBeGreaterThanOrEqual(leaseEnd);
    }
    await eventually(async () => (await survivor.store.listWebhookMessages({ limit: 100 })).every((message) => message.deliveredAt !== null), 30_000);
    const settled = await survivor.store.listWebhookMessages({ limit: 100 });
    expect(settled.map((message) => [message.deliveredAt !== null, message.attempts, message.leaseOwner])).toEqual(
      Array.from({ length: n }, () => [true, 1, null]),
    );
  });
});
