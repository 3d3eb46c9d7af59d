// Retention: the hourly purge keeps the audit trail and the settled webhook outbox bounded.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import type { AuditEventRecord, WebhookMessageRecord } from '../../src/core/journal.js';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const day = 86_400_000;
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const event = (id: string, at: number): AuditEventRecord => ({
  id,
  type: 'session.revoked',
  at,
  userId: 'old-user',
  sessionId: null,
  actor: { type: 'system', id: 'tessera' },
  reason: 'admin',
  details: {},
});

const message = (id: string, createdAt: number, settled: boolean): WebhookMessageRecord => ({
  id,
  endpointId: 'wh_1',
  eventId: `evt_${id}`,
  type: 'session.revoked',
  payload: '{}',
  createdAt,
  attempts: 1,
  nextAttemptAt: settled ? null : createdAt + 60_000,
  deliveredAt: settled ? createdAt + 1 : null,
  failedAt: null,
  lastError: null,
  leaseOwner: null,
  leaseUntil: null,
});

describe('audit retention', () => {
  it('after a year, the purge deletes what is past retention, in batches, and keeps the rest', async () => {
    const clock = new ManualClock(t0);
    const timers = new ManualClock(t0);
    server = await startServer({ clock, scheduler: timers, config: { audit: { retention_days: 30, purge_interval: 60 } } });
    const s = server;
    // A year of history: 2,500 events a day apart at most, more than two purge batches.
    const history = Array.from({ length: 2_500 }, (_, i) => event(`evt_old_${String(i).padStart(5, '0')}`, t0 + Math.floor((i * 365 * day) / 2_500)));
    for (let i = 0; i < history.length; i += 500) await s.store.appendJournal({ events: history.slice(i, i + 500), messages: [] });
    await s.store.appendJournal({
      events: [],
      messages: [message('msg_old_settled', t0, true), message('msg_old_pending', t0, false), message('msg_recent_settled', t0 + 350 * day, true)],
    });
    clock.set(t0 + 365 * day);
    const cutoff = clock.now() - 30 * day;
    const created = await call(`${s.url}/v1/sessions`, { body: { user_id: 'new-user' }, token: testApiKey });
    expect(created.status).toBe(201);

    await timers.advanceAsync(60);

    const left = await s.store.listAuditEvents({ limit: 10_000 });
    expect(left.every((e) => e.at >= cutoff)).toBe(true);
    // Everything from the cutoff on stays: the old history's last month, and today's session.
    expect(left.filter((e) => e.userId === 'old-user').map((e) => e.id)).toEqual(
      history
        .filter((e) => e.at >= cutoff)
        .map((e) => e.id)
        .reverse(),
    );
    expect(left.filter((e) => e.userId === 'new-user').map((e) => e.type)).toEqual(['session.created']);
    const db = new Database(join(s.dir, 'tessera.db'), { readonly: true });
    try {
      const messages = db.prepare('SELECT id FROM webhook_messages ORDER BY id').all() as { id: string }[];
      // A message still being delivered stays, whatever its age.
      expect(messages.map((row) => row.id)).toEqual(['msg_old_pending', 'msg_recent_settled']);
    } finally {
      db.close();
    }

    // The store stays bounded: another year of the same leaves only the last 30 days.
    clock.set(t0 + 730 * day);
    await timers.advanceAsync(60);
    expect((await s.store.listAuditEvents({ limit: 10_000 })).every((e) => e.at >= clock.now() - 30 * day)).toBe(true);
  });

  it('purges a minute after a start, whatever the interval, so nodes restarted often still purge', async () => {
    const clock = new ManualClock(t0);
    const timers = new ManualClock(t0);
    server = await startServer({ clock, scheduler: timers, config: { audit: { retention_days: 1 } } });
    await server.store.appendJournal({ events: [event('evt_old_1', t0 - 2 * day), event('evt_recent_1', t0 - day / 2)], messages: [] });
    await timers.advanceAsync(59);
    expect((await server.store.listAuditEvents({ userId: 'old-user', limit: 10 })).map((e) => e.id)).toEqual(['evt_recent_1', 'evt_old_1']);
    await timers.advanceAsync(1);
    expect((await server.store.listAuditEvents({ userId: 'old-user', limit: 10 })).map((e) => e.id)).toEqual(['evt_recent_1']);
  });

  it.each([0, 3651, 1.5, '90', null])('refuses retention_days %j', (value) => {
    expect(() => parseConfig({ audit: { retention_days: value } })).toThrow(ConfigError);
  });

  it('defaults to 90 days, a 30 s expiry sweep and an hourly purge; refuses an unknown audit setting', () => {
    expect(parseConfig({}).audit).toEqual({ retentionDays: 90, expirySweepInterval: 30, purgeInterval: 3600 });
    expect(parseConfig({ audit: { retention_days: 3650, expiry_sweep_interval: 5, purge_interval: 60 } }).audit).toEqual({
      retentionDays: 3650,
      expirySweepInterval: 5,
      purgeInterval: 60,
    });
    expect(() => parseConfig({ audit: { expiry_sweep_interval: 0 } })).toThrow(ConfigError);
    expect(() => parseConfig({ audit: { purge_interval: 59 } })).toThrow(ConfigError);
    expect(() => parseConfig({ audit: { retention: 90 } })).toThrow(ConfigError);
  });
});
