import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { TesseraError } from '../../src/core/errors.js';
import type { SessionRecord } from '../../src/core/session.js';
import type { RefreshTokenRecord, RotateRefreshToken } from '../../src/core/store.js';
import { migrations } from '../../src/stores/migrations.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTestDatabase, onDatabase, postgresUrl, type TestDatabase, throughPort } from '../services.js';
import { TcpProxy } from '../tcp-proxy.js';
import { describeSessionStore } from './store-contract.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describeSessionStore('PostgreSQL', async () => {
  const store = await PostgresSessionStore.open({ connectionString: database.url });
  // One database for the file, emptied before each test.
  await onDatabase(database.url, (client) => client.query('TRUNCATE sessions, refresh_tokens, signing_keys, api_keys, audit_events, webhook_messages CASCADE'));
  return { store, cleanup: () => store.close() };
});

const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const session = (id: string): SessionRecord => ({
  id,
  userId: 'alice',
  flow: 'default',
  createdAt: t0,
  lastRefreshedAt: null,
  expiresAt: t0 + 3_600_000,
  idleExpiresAt: null,
  revokedAt: null,
  revokedReason: null,
  metadata: { a: 1 },
  device: null,
  refreshCount: 0,
  dpopJkt: null,
  version: 1,
});
const token = (hash: string, sessionId: string): RefreshTokenRecord => ({ hash, sessionId, issuedAt: t0, spentAt: null, sealedSuccessor: null });
const rotation = (spentHash: string, successor: string, sessionId: string): RotateRefreshToken => ({
  spentHash,
  spentAt: t0 + 1,
  sealedSuccessor: `sealed-${successor}`,
  successor: token(successor, sessionId),
  sessionId,
  lastRefreshedAt: t0 + 1,
  idleExpiresAt: null,
  device: null,
  dpopJkt: null,
});

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => null,
    (error: unknown) => error,
  );
}

describe('PostgresSessionStore', () => {
  it('migrates once when many nodes start together on an empty database', async () => {
    const fresh = await createTestDatabase();
    try {
      const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresSessionStore.open({ connectionString: fresh.url })));
      const applied = await onDatabase(fresh.url, (client) => client.query('SELECT version FROM schema_migrations ORDER BY version'));
      expect(applied.rows.map((row) => Number(row.version))).toEqual(migrations.map((migration) => migration.version));
      await stores[0]!.createSession(session('ses_m'), token('h_m', 'ses_m'));
      expect(await stores[5]!.getSession('ses_m')).toEqual(session('ses_m'));
      await Promise.all(stores.map((store) => store.close()));
      // A restart applies nothing again.
      const again = await PostgresSessionStore.open({ connectionString: fresh.url });
      await again.close();
    } finally {
      await fresh.drop();
    }
  });

  it('lets exactly one of many rotations win when they are spread over several pools (nodes), without deadlock', async () => {
    const nodes = await Promise.all(Array.from({ length: 3 }, () => PostgresSessionStore.open({ connectionString: database.url, poolSize: 8 })));
    try {
      for (let round = 0; round < 5; round++) {
        const id = `ses_race_${round}_${Date.now()}`;
        await nodes[0]!.createSession(session(id), token(`h0_${id}`, id));
        const attempts = Array.from({ length: 24 }, (_, i) => nodes[i % nodes.length]!.rotateRefreshToken(rotation(`h0_${id}`, `h1_${id}_${i}`, id)));
        const results = await Promise.all(attempts);
        const winners = results.filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.version).toBe(2);
        const spent = await nodes[1]!.findRefreshToken(`h0_${id}`);
        const winner = spent!.token.sealedSuccessor!.replace('sealed-', '');
        for (let i = 0; i < 24; i++) {
          const found = await nodes[2]!.findRefreshToken(`h1_${id}_${i}`);
          expect(found !== null).toBe(`h1_${id}_${i}` === winner);
        }
      }
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  it('records each passive expiry once when several nodes sweep at the same time', async () => {
    const fresh = await createTestDatabase();
    const nodes = await Promise.all(Array.from({ length: 3 }, () => PostgresSessionStore.open({ connectionString: fresh.url, poolSize: 4 })));
    try {
      const ids = Array.from({ length: 120 }, (_, i) => `ses_sweep_${String(i).padStart(3, '0')}`);
      for (const id of ids) await nodes[0]!.createSession(session(id), token(`h_${id}`, id));
      const now = t0 + 7_200_000;
      const record = (expired: SessionRecord[]) => ({
        events: expired.map((s) => ({
          id: `evt_${s.id}_${randomUUID()}`,
          type: 'session.expired' as const,
          at: now,
          userId: s.userId,
          sessionId: s.id,
          actor: { type: 'system' as const, id: 'tessera' },
          reason: 'absolute',
          details: {},
        })),
        messages: [],
      });
      // Sweeps of 25 from every node at once, until one finds nothing: batches are disjoint (SKIP LOCKED).
      const claimed: string[] = [];
      for (let round = 0; round < 10; round++) {
        const sweeps = await Promise.all(Array.from({ length: 6 }, (_, i) => nodes[i % 3]!.recordExpiredSessions(now, 25, record)));
        claimed.push(...sweeps.flat().map((s) => s.id));
        if (sweeps.every((sweep) => sweep.length === 0)) break;
      }
      expect(claimed.sort()).toEqual(ids);
      const events = await onDatabase(fresh.url, (client) => client.query("SELECT session_id FROM audit_events WHERE type = 'session.expired'"));
      expect(events.rows.map((row) => row.session_id).sort()).toEqual(ids);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
      await fresh.drop();
    }
  });

  it('a rotation racing a revocation either wins before it or stores nothing', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => PostgresSessionStore.open({ connectionString: database.url })));
    try {
      for (let round = 0; round < 10; round++) {
        const id = `ses_rr_${round}_${Date.now()}`;
        await a!.createSession(session(id), token(`h0_${id}`, id));
        const [rotated, revoked] = await Promise.all([a!.rotateRefreshToken(rotation(`h0_${id}`, `h1_${id}`, id)), b!.revokeSession(id, 'admin', t0 + 2)]);
        expect(revoked).not.toBeNull();
        const successor = await b!.findRefreshToken(`h1_${id}`);
        if (rotated) {
          expect(successor?.token.spentAt).toBeNull();
          expect(revoked!.version).toBe(3);
        } else {
          expect(successor).toBeNull();
          expect((await b!.findRefreshToken(`h0_${id}`))!.token.spentAt).toBeNull();
        }
      }
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  it('does not start against a database that is not there: service_unavailable, quickly', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 9 });
    const port = await proxy.start();
    proxy.cut();
    const started = Date.now();
    const error = await rejection(PostgresSessionStore.open({ connectionString: throughPort(database.url, port), connectTimeoutMs: 1_000 }));
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('service_unavailable');
    expect((error as TesseraError).retryAfter).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    await proxy.close();
  });

  it('text PostgreSQL cannot hold (a NUL) is invalid_request, whoever passes it, not a driver error', async () => {
    const store = await PostgresSessionStore.open({ connectionString: database.url });
    try {
      const errors = await Promise.all(
        [store.getSession('ses_\u0000'), store.listActiveSessions('alice\u0000', t0), store.revokeUserSessions('a\u0000', 'admin', t0)].map(rejection),
      );
      for (const error of errors) {
        expect(error).toBeInstanceOf(TesseraError);
        expect((error as TesseraError).code).toBe('invalid_request');
      }
      // The connection is still good afterwards.
      expect(await store.getSession('ses_none')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('a database that does not exist, or a role that does not, is a ConfigError that says which', async () => {
    const missingDatabase = new URL(database.url);
    missingDatabase.pathname = '/tessera_no_such_database';
    const noDatabase = await rejection(PostgresSessionStore.open({ connectionString: missingDatabase.toString() }));
    expect(noDatabase).toBeInstanceOf(ConfigError);
    expect((noDatabase as Error).message).toMatch(/database "tessera_no_such_database" does not exist/);
    const wrongRole = new URL(database.url);
    wrongRole.username = 'tessera_no_such_role';
    const noRole = await rejection(PostgresSessionStore.open({ connectionString: wrongRole.toString() }));
    expect(noRole).toBeInstanceOf(ConfigError);
    expect((noRole as Error).message).toMatch(/role "tessera_no_such_role" does not exist/);
  });

  describe('when the database goes away and comes back', () => {
    const pgTarget = { host: new URL(postgresUrl).hostname, port: Number(new URL(postgresUrl).port || 5432) };

    it('answers service_unavailable while it is cut off, and recovers by itself', async () => {
      const proxy = new TcpProxy(pgTarget);
      const port = await proxy.start();
      const store = await PostgresSessionStore.open({ connectionString: throughPort(database.url, port), connectTimeoutMs: 1_000, statementTimeoutMs: 1_000 });
      try {
        await store.createSession(session('ses_cut'), token('h_cut', 'ses_cut'));
        proxy.cut();
        const errors = await Promise.all(
          [
            store.getSession('ses_cut'),
            store.rotateRefreshToken(rotation('h_cut', 'h_cut2', 'ses_cut')),
            store.revokeSession('ses_cut', 'admin', t0),
            store.ping(),
          ].map(rejection),
        );
        for (const error of errors) {
          expect(error).toBeInstanceOf(TesseraError);
          expect((error as TesseraError).code).toBe('service_unavailable');
        }
        proxy.restore();
        expect((await store.getSession('ses_cut'))?.id).toBe('ses_cut');
        expect(await store.rotateRefreshToken(rotation('h_cut', 'h_cut2', 'ses_cut'))).not.toBeNull();
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    it('gives up on a database that stopped answering (no hang), and recovers when it answers again', async () => {
      const proxy = new TcpProxy(pgTarget);
      const port = await proxy.start();
      const store = await PostgresSessionStore.open({ connectionString: throughPort(database.url, port), connectTimeoutMs: 1_000, statementTimeoutMs: 1_000 });
      try {
        await store.createSession(session('ses_frozen'), token('h_frozen', 'ses_frozen'));
        proxy.freeze();
        const started = Date.now();
        const errors = await Promise.all([store.getSession('ses_frozen'), store.ping(), store.getSession('ses_other')].map(rejection));
        for (const error of errors) {
          expect(error).toBeInstanceOf(TesseraError);
          expect((error as TesseraError).code).toBe('service_unavailable');
        }
        // Query timeout (statement timeout + 1 s) or connect timeout, whichever applies, with room for a busy machine.
        expect(Date.now() - started).toBeLessThan(6_000);
        proxy.restore();
        const recovered = Date.now();
        for (;;) {
          const answer = await store.getSession('ses_frozen').catch(() => null);
          if (answer) break;
          expect(Date.now() - recovered).toBeLessThan(10_000);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        proxy.restore();
        await store.close();
        await proxy.close();
      }
    });
  });
});
