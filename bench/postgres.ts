/**
 * The PostgreSQL side of `npm run bench -- --store postgres`: a bench database of its own, the raw
 * limits of that PostgreSQL (single-row UPDATE, the store's rotation transaction), and Tessera nodes
 * as real `tessera serve` processes sharing it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { positionalValues, toPositional } from '../packages/server/src/stores/dialect.js';
import { migrations } from '../packages/server/src/stores/migrations.js';
import { postgresStatements } from '../packages/server/src/stores/statements.js';
import { benchConfigFile } from './servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function onAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database on the server at `adminUrl`, dropped by `drop()`. */
export async function createBenchDatabase(adminUrl: string, label: string): Promise<BenchDatabase> {
  const name = `tessera_bench_${label}_${randomBytes(4).toString('hex')}`;
  await onAdmin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => onAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Settings that decide how fast a commit is: reported beside the figures. */
export async function serverSettings(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = ['server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'max_connections'];
    const values: string[] = [];
    // One query at a time: a pg client given a second query before the first ends is deprecated.
    for (const name of names) values.push(`${name}=${(await client.query(`SHOW ${name}`)).rows[0][name]}`);
    return values.join(', ');
  } finally {
    await client.end();
  }
}

/**
 * The raw limits of this PostgreSQL, through a `pg` pool of `poolSize` (what one Tessera node has),
 * `inFlight` queries at a time, on the Tessera schema seeded with `seedSessions` sessions:
 * - a single-row UPDATE per statement (autocommit): the most commits per second the server takes;
 * - the store's rotation statement (lock the session, spend, renew, insert the successor: one round trip).
 */
export async function postgresRawRates(
  url: string,
  seconds: number,
  seedSessions: number,
  poolSize = 10,
  inFlight = 32,
): Promise<{ updatePerSec: number; rotatePerSec: number }> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A connection dropped while idle (the database dropped under it) must not crash the bench.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      for (const migration of migrations) await client.query(migration.sql);
      const now = Date.now();
      await client.query(
        `INSERT INTO sessions (id, user_id, flow, created_at, expires_at, metadata, version)
         SELECT 'ses_' || i, 'user-' || i, 'default', $1, $2, '{}', 1 FROM generate_series(1, $3) AS i`,
        [now, now + 1_209_600_000, seedSessions],
      );
      await client.query(`INSERT INTO refresh_tokens (hash, session_id, issued_at) SELECT 'h0_' || i, 'ses_' || i, $1 FROM generate_series(1, $2) AS i`, [
        now,
        seedSessions,
      ]);
    } finally {
      client.release();
    }

    let slot = 0;
    const update = () => {
      const id = `ses_${(slot++ % seedSessions) + 1}`;
      return pool.query({ name: 'raw_update', text: 'UPDATE sessions SET version = version + 1 WHERE id = $1', values: [id] });
    };
    const updatePerSec = await ratePerSecond(seconds, inFlight, update);

    // A sealed successor is ~850 base64url characters, as in the SQLite raw figure.
    const sealed = randomBytes(640).toString('base64url');
    const current = Array.from({ length: seedSessions }, (_, i) => `h0_${i + 1}`);
    let next = 0;
    const rotation = toPositional(postgresStatements.rotateRefreshToken);
    const rotate = async () => {
      const index = next++ % seedSessions;
      const spentHash = current[index]!;
      const successor = randomBytes(32).toString('base64url');
      current[index] = successor;
      const at = Date.now();
      const result = await pool.query({
        name: 'raw_rotate',
        text: rotation.text,
        values: positionalValues(rotation, {
          session_id: `ses_${index + 1}`,
          spent_hash: spentHash,
          spent_at: at,
          sealed_successor: sealed,
          last_refreshed_at: at,
          idle_expires_at: null,
          successor_hash: successor,
          issued_at: at,
          device_user_agent: null,
          device_browser: null,
          device_os: null,
          device_ip: null,
          dpop_jkt: null,
        }),
      });
      if (result.rowCount !== 1) throw new Error('raw rotate: token already spent');
    };
    const rotatePerSec = await ratePerSecond(seconds, inFlight, rotate);
    return { updatePerSec, rotatePerSec };
  } finally {
    await pool.end();
  }
}

/** Keeps `inFlight` operations running for `seconds`; returns completed operations per second. */
async function ratePerSecond(seconds: number, inFlight: number, op: () => Promise<unknown>): Promise<number> {
  // Warm-up: connections, prepared statements.
  await Promise.all(Array.from({ length: inFlight }, op));
  let done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      await op();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - start) / 1000);
}

export interface NodeProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A `tessera serve` process from source on `databaseUrl`, listening on loopback, quiet logs. */
export async function startNodeProcess(options: { databaseUrl: string; apiKey: string; issuer: string; redisUrl?: string }): Promise<NodeProcess> {
  const args = ['--import', 'tsx', join(repoRoot, 'packages/server/src/cli/main.ts'), 'serve', '--port', '0', '--host', '127.0.0.1'];
  const configPath = join(mkdtempSync(join(tmpdir(), 'tessera-bench-node-')), 'config.json');
  writeFileSync(configPath, JSON.stringify(benchConfigFile));
  args.push('--api-key', options.apiKey, '--issuer', options.issuer, '--database-url', options.databaseUrl, '--log-level', 'warn', '--config', configPath);
  if (options.redisUrl) args.push('--redis-url', options.redisUrl);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/Tessera is listening on http:\/\/localhost:(\d+)/);
      if (match) resolveUrl(`http://127.0.0.1:${match[1]}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`tessera serve exited (${code}):\n${output}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU time a process has used so far, in milliseconds (Linux /proc; 0 elsewhere). */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Successful non-replayed refreshes and creations a node has counted, from its /metrics. */
export async function nodeCounters(url: string): Promise<{ refreshed: number; replayed: number; created: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return {
    refreshed: sum(/^tessera_refreshes_total\{replayed="false"\} (\S+)/gm),
    replayed: sum(/^tessera_refreshes_total\{replayed="true"\} (\S+)/gm),
    created: sum(/^tessera_sessions_created_total\{[^}]*\} (\S+)/gm),
  };
}
