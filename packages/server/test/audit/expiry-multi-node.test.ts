// Two nodes on one PostgreSQL database sweep for expiries at the same moments: each expiry is
// recorded once, by whichever node claims it first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { createTestDatabase, onDatabase, type TestDatabase } from '../services.js';

const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('the expiry sweeper on several nodes', () => {
  it('records each of 300 expiries exactly once while two nodes sweep together', async () => {
    const clock = new ManualClock(t0);
    // One set of timers for both nodes: their sweeps fire at the same moments and race in the database.
    const timers = new ManualClock(t0);
    const config = parseConfig({ flows: { short: { idle_timeout: 60, absolute_lifetime: 120 } }, audit: { expiry_sweep_interval: 10 } });
    const nodes: Tessera[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const store = await PostgresSessionStore.open({ connectionString: database.url, poolSize: 4 });
        nodes.push(await createTessera({ store, clock, scheduler: timers, config, issuer: 'http://tessera.test' }));
      }
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) {
        const grant = await nodes[i % 2]!.sessions.createSession({ userId: `user${i % 7}`, flow: 'short' });
        ids.push(grant.session.id);
      }
      clock.advance(600);
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const countRecorded = async () =>
        Number((await onDatabase(database.url, (client) => client.query("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'session.expired'"))).rows[0].n);
      // Sweep rounds (both nodes at each tick) until all are recorded, then a few more that must find nothing.
      for (let round = 0; round < 100 && (await countRecorded()) < ids.length; round++) {
        await timers.advanceAsync(10);
        await sleep(50);
      }
      for (let round = 0; round < 3; round++) {
        await timers.advanceAsync(10);
        await sleep(100);
      }
      const recorded = await onDatabase(database.url, (client) =>
        client.query("SELECT session_id, reason, actor_type FROM audit_events WHERE type = 'session.expired' ORDER BY session_id"),
      );
      expect(recorded.rows.map((row) => row.session_id)).toEqual([...ids].sort());
      expect(new Set(recorded.rows.map((row) => `${row.reason}/${row.actor_type}`))).toEqual(new Set(['idle/system']));
    } finally {
      for (const node of nodes) await node.close();
    }
  });
});
