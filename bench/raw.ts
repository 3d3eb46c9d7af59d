/** The raw limits: what SQLite and jose/WebCrypto can do on their own, with no HTTP and no Tessera. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type CryptoKey, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { ulid } from 'ulid';
import { migrations } from '../packages/server/src/stores/migrations.js';

const hashOf = () => randomBytes(32).toString('base64url');

/**
 * One refresh rotation per transaction, the store's SQL (spend the token, renew the session with
 * RETURNING, insert the successor) in `BEGIN IMMEDIATE`, on a WAL file with synchronous=NORMAL.
 * The database is seeded with `seedSessions` sessions; each op rotates the next session's current token.
 */
export function rotateTxPerSecond(dir: string, seconds: number, seedSessions: number): { opsPerSec: number; ops: number } {
  const db = new Database(join(dir, 'raw-rotate.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  for (const migration of migrations) db.exec(migration.sql);

  const now = Date.now();
  // A sealed successor is ~850 base64url characters (an access token, a refresh token, two times, GCM framing).
  const sealed = randomBytes(640).toString('base64url');
  const insertSession = db.prepare(
    `INSERT INTO sessions (id, user_id, flow, created_at, last_refreshed_at, expires_at, idle_expires_at, revoked_at, revoked_reason, metadata, version)
     VALUES (?, ?, 'default', ?, NULL, ?, NULL, NULL, NULL, '{}', 1)`,
  );
  const insertToken = db.prepare(
    'INSERT INTO refresh_tokens (hash, session_id, issued_at, spent_at, sealed_successor) VALUES (@hash, @session_id, @issued_at, @spent_at, @sealed_successor)',
  );
  const spend = db.prepare('UPDATE refresh_tokens SET spent_at = @spent_at, sealed_successor = @sealed_successor WHERE hash = @hash AND spent_at IS NULL');
  const renew = db.prepare(
    'UPDATE sessions SET last_refreshed_at = @last_refreshed_at, idle_expires_at = @idle_expires_at, version = version + 1 WHERE id = @id AND revoked_at IS NULL RETURNING *',
  );

  const sessionIds: string[] = [];
  const current: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < seedSessions; i++) {
      const id = `ses_${ulid(now)}`;
      const hash = hashOf();
      insertSession.run(id, `user-${i}`, now, now + 1_209_600_000);
      insertToken.run({ hash, session_id: id, issued_at: now, spent_at: null, sealed_successor: null });
      sessionIds.push(id);
      current.push(hash);
    }
  }).immediate();

  const rotate = db.transaction((spentHash: string, sessionId: string, successorHash: string, at: number) => {
    const spent = spend.run({ hash: spentHash, spent_at: at, sealed_successor: sealed });
    if (spent.changes !== 1) throw new Error('raw rotate: token already spent');
    const row = renew.get({ id: sessionId, last_refreshed_at: at, idle_expires_at: null });
    if (!row) throw new Error('raw rotate: session missing');
    insertToken.run({ hash: successorHash, session_id: sessionId, issued_at: at, spent_at: null, sealed_successor: null });
  });

  const batch = 2000;
  let ops = 0;
  let elapsedNs = 0n;
  let next = 0;
  while (elapsedNs < BigInt(Math.round(seconds * 1e9))) {
    // Inputs are made outside the timed loop: only the transactions are measured.
    const successors = Array.from({ length: batch }, hashOf);
    const at = Date.now();
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) {
      const slot = next++ % seedSessions;
      rotate.immediate(current[slot]!, sessionIds[slot]!, successors[i]!, at);
      current[slot] = successors[i]!;
    }
    elapsedNs += process.hrtime.bigint() - start;
    ops += batch;
  }
  db.close();
  return { opsPerSec: ops / (Number(elapsedNs) / 1e9), ops };
}

export interface JoseFigures {
  readonly signPerSec: number;
  readonly verifyPerSec: number;
  /** CPU of this process (main thread and threadpool) per operation, microseconds. */
  readonly signCpuUs: number;
  readonly verifyCpuUs: number;
}

/**
 * jose sign and verify of a Tessera-shaped access token, `concurrency` promises at a time so the
 * WebCrypto jobs spread over libuv's threadpool, for `seconds` each.
 */
export async function joseRates(alg: 'ES256' | 'EdDSA', seconds: number, concurrency: number): Promise<JoseFigures> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = ulid();
  const issuer = 'http://127.0.0.1';
  const sign = (i: number): Promise<string> => signToken(alg, privateKey, kid, issuer, i);
  const verify = async (token: string): Promise<void> => {
    await jwtVerify(token, publicKey, {
      algorithms: [alg],
      typ: 'at+jwt',
      issuer,
      audience: 'tessera',
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'sid', 'flow'],
    });
  };

  // Warm up both paths (JIT, key handles) before timing.
  const tokens = await Promise.all(Array.from({ length: concurrency }, (_, i) => sign(i)));
  await Promise.all(tokens.map(verify));

  const signs = await opsPerSecond(seconds, concurrency, sign);
  const verifies = await opsPerSecond(seconds, concurrency, (i) => verify(tokens[i % tokens.length]!));
  return { signPerSec: signs.perSec, verifyPerSec: verifies.perSec, signCpuUs: signs.cpuUs, verifyCpuUs: verifies.cpuUs };
}

/** Ids are ULID-shaped but made from a counter: the limit is jose and WebCrypto, not id generation. */
const idOf = (i: number): string => i.toString(32).toUpperCase().padStart(26, '0');

async function signToken(alg: string, key: CryptoKey, kid: string, issuer: string, i: number): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'tessera', sid: `ses_${idOf(i)}`, flow: 'default' })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setSubject('user-1')
    .setAudience('tessera')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .setJti(idOf(i))
    .sign(key);
}

/** `op` run `concurrency` at a time for `seconds`: operations per second, and this process's CPU per operation (µs). */
export async function opsPerSecond(seconds: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<{ perSec: number; cpuUs: number }> {
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => op(done + i)));
    done += concurrency;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { perSec: done / ((performance.now() - start) / 1000), cpuUs: (cpu.user + cpu.system) / done };
}
