import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/core/session.js';
import { createMigrationsTable, migrations, recordMigration } from '../../src/stores/migrations.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { sqliteStatements, statements } from '../../src/stores/statements.js';
import { tempDir } from '../helpers.js';
import { describeSessionStore } from './store-contract.js';

describeSessionStore('SQLite (file)', async () => {
  const temp = tempDir();
  const store = new SqliteSessionStore(join(temp.dir, 'nested', 'tessera.db'));
  return {
    store,
    async cleanup() {
      await store.close();
      temp.cleanup();
    },
  };
});

describe('SqliteSessionStore on a real file', () => {
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
  const token = (hash: string, sessionId: string) => ({ hash, sessionId, issuedAt: t0, spentAt: null, sealedSuccessor: null });

  it('creates the folder and file, and keeps everything across a reopen', async () => {
    const temp = tempDir();
    try {
      const path = join(temp.dir, 'data', 'tessera.db');
      const first = new SqliteSessionStore(path);
      await first.createSession(session('ses_1'), token('h1', 'ses_1'));
      await first.putApiKey({ hash: 'api-hash', name: 'ci', origin: 'created', createdAt: t0, revokedAt: null, lastUsedAt: null });
      await first.close();
      expect(existsSync(path)).toBe(true);

      const second = new SqliteSessionStore(path);
      expect(await second.getSession('ses_1')).toEqual(session('ses_1'));
      expect((await second.findRefreshToken('h1'))?.token.sessionId).toBe('ses_1');
      expect((await second.listApiKeys()).map((key) => key.hash)).toEqual(['api-hash']);
      await second.close();
    } finally {
      temp.cleanup();
    }
  });

  it('sweeps expiries and counts active sessions through the partial indexes, never a scan of every session', async () => {
    const temp = tempDir();
    try {
      const path = join(temp.dir, 'tessera.db');
      await new SqliteSessionStore(path).close();
      const db = new Database(path);
      const plan = (sql: string) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ now: t0, limit: 10 }) as { detail: string }[]).map((row) => row.detail).join('; ');
      const count = plan(statements.countActiveSessionsByFlow);
      expect(count).toContain('sessions_unrecorded_by_expiry');
      expect(count).not.toMatch(/SCAN sessions(?! USING)/);
      const claim = plan(statements.claimExpiredSessions);
      expect(claim).toContain('SEARCH sessions USING INDEX sessions_unrecorded_by_expiry (expires_at<?)');
      expect(claim).toContain('SEARCH sessions USING INDEX sessions_unrecorded_by_idle_expiry (idle_expires_at<?)');
      expect(claim).not.toMatch(/SCAN sessions(?! USING)/);
      db.close();
    } finally {
      temp.cleanup();
    }
  });

  it('purges by index ranges (migration 10), never a scan of every session or token', async () => {
    const temp = tempDir();
    try {
      const path = join(temp.dir, 'tessera.db');
      await new SqliteSessionStore(path).close();
      const db = new Database(path);
      const plan = (sql: string) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ spent_before: t0, ended_before: t0, limit: 500 }) as { detail: string }[])
          .map((row) => row.detail)
          .join('; ');
      const clear = plan(sqliteStatements.takeSpentWithSealedSuccessor);
      expect(clear).toContain('SEARCH refresh_tokens USING INDEX refresh_tokens_sealed_by_spent_at (spent_at<?)');
      for (const sql of [statements.purgeEndedSessionTokens, statements.purgeEndedSessions, statements.countEndedSessionTokens]) {
        const ended = plan(sql);
        expect(ended).toContain('SEARCH sessions USING INDEX sessions_by_revoked_at (revoked_at<?)');
        expect(ended).toContain('SEARCH sessions USING INDEX sessions_recorded_by_end (end_recorded_at<?)');
      }
      expect(plan(statements.purgeEndedSessionTokens)).toContain('SEARCH refresh_tokens USING INDEX refresh_tokens_by_session (session_id=?)');
      for (const sql of [clear, plan(statements.purgeEndedSessionTokens), plan(statements.purgeEndedSessions)]) {
        expect(sql).not.toMatch(/SCAN (sessions|refresh_tokens)(?! USING)/);
      }
      db.close();
    } finally {
      temp.cleanup();
    }
  });

  it('keeps API keys stored before keys had names, as legacy keys with a name each', async () => {
    const temp = tempDir();
    try {
      const path = join(temp.dir, 'tessera.db');
      const old = new Database(path);
      old.exec(createMigrationsTable);
      for (const migration of migrations.filter((step) => step.version <= 2)) {
        old.exec(migration.sql);
        old.prepare(recordMigration).run({ version: migration.version, name: migration.name, applied_at: t0 });
      }
      old.prepare('INSERT INTO api_keys (hash, created_at) VALUES (?, ?)').run('hash-of-an-old-key', t0);
      old.close();

      const store = new SqliteSessionStore(path);
      expect(await store.listApiKeys()).toEqual([
        { hash: 'hash-of-an-old-key', name: 'legacy-hash-of-an-o', origin: 'legacy', createdAt: t0, revokedAt: null, lastUsedAt: null },
      ]);
      await store.close();
    } finally {
      temp.cleanup();
    }
  });

  it('rotates a token once across two connections to the same file', async () => {
    const temp = tempDir();
    const path = join(temp.dir, 'tessera.db');
    const a = new SqliteSessionStore(path);
    const b = new SqliteSessionStore(path);
    try {
      await a.createSession(session('ses_1'), token('h1', 'ses_1'));
      const rotate = (successor: string) => ({
        spentHash: 'h1',
        spentAt: t0 + 1,
        sealedSuccessor: `sealed-${successor}`,
        successor: token(successor, 'ses_1'),
        sessionId: 'ses_1',
        lastRefreshedAt: t0 + 1,
        idleExpiresAt: null,
        device: null,
        dpopJkt: null,
      });
      expect(await a.rotateRefreshToken(rotate('h2'))).not.toBeNull();
      expect(await b.rotateRefreshToken(rotate('h3'))).toBeNull();
      expect(await b.findRefreshToken('h3')).toBeNull();
      expect((await b.findRefreshToken('h1'))?.token.sealedSuccessor).toBe('sealed-h2');

      await b.revokeSession('ses_1', 'admin', t0 + 2);
      expect((await a.getSession('ses_1'))?.revokedReason).toBe('admin');
      expect(await a.revokeSession('ses_1', 'logout', t0 + 3)).toBeNull();
    } finally {
      await a.close();
      await b.close();
      temp.cleanup();
    }
  });
});
