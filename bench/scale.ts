/**
 * `npm run bench:scale`: refresh and whoami as the SQLite store grows. The store is seeded through
 * `SessionStore.importSessions` (not HTTP) to 1,000, 100,000 and 1,000,000 sessions; at each size
 * the same Tessera node (in this process) takes the bench's refresh and whoami load (autocannon in a
 * child process), on fresh single-use refresh tokens and 1,000 access tokens made at that size. The
 * figures at each size are compared with those at the first, and the store's bytes per session given.
 *
 *   npm run bench:scale                   1k, 100k, 1M (seeding about a minute)
 *   npm run bench:scale -- --quick        1k, 100k, shorter phases
 *   npm run bench:scale -- --json F       also write the figures as JSON
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { newId } from '../packages/server/src/core/ids.js';
import { generateRefreshToken, hashRefreshToken } from '../packages/server/src/core/refresh-tokens.js';
import type { SessionRecord } from '../packages/server/src/core/session.js';
import type { RefreshTokenRecord } from '../packages/server/src/core/store.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import { LoadGenerator, type LoadJob } from './protocol.js';
import { createSessions, startTessera } from './servers.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } } });
const quick = flags.quick === true;
const sizes = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
const seconds = quick ? { warmup: 1, measure: 2 } : { warmup: 1, measure: 5 };
const connections = 32;
/** Single-use refresh tokens per size: enough for the warm-up and the measured run. */
const refreshPool = quick ? 12_000 : 30_000;
const whoamiTokens = 1_000;
/** Sessions per import transaction. */
const importBatch = 10_000;
const userAgent = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const day = 86_400_000;

interface SizeFigures {
  readonly sessions: number;
  readonly refreshPerSec: number;
  readonly whoamiPerSec: number;
  readonly refreshP99: number;
  readonly whoamiP99: number;
  readonly fileBytes: number;
}

/** Background sessions as a real store holds them: many users, some with several sessions, a device each. */
function seeded(index: number, now: number): { session: SessionRecord; refreshToken: RefreshTokenRecord } {
  const createdAt = now - (index % 10_000) * 60_000;
  const session: SessionRecord = {
    id: newId('ses_', createdAt),
    userId: `user-${index % 400_000}`,
    flow: 'default',
    createdAt,
    lastRefreshedAt: null,
    expiresAt: createdAt + 14 * day,
    idleExpiresAt: null,
    revokedAt: null,
    revokedReason: null,
    metadata: {},
    device: { userAgent, browser: 'Chrome 131', os: 'macOS', ip: '203.0.113.7' },
    refreshCount: 0,
    dpopJkt: null,
    version: 1,
  };
  return {
    session,
    refreshToken: { hash: hashRefreshToken(generateRefreshToken()), sessionId: session.id, issuedAt: createdAt, spentAt: null, sealedSuccessor: null },
  };
}

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-scale-'));
const dbPath = join(dir, 'tessera.db');
const store = new SqliteSessionStore(dbPath);
const server = await startTessera(store);
const gen = new LoadGenerator();
await gen.ready();
console.log(`Scale benchmark, ${new Date().toISOString()}${quick ? ' (--quick)' : ''}, SQLite`);
console.log(
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; ${connections} connections, ` +
    `${seconds.warmup}s warm-up + ${seconds.measure}s per phase; load average ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
);

const results: SizeFigures[] = [];
let stored = 0;
let seedingSeconds = 0;
try {
  for (const size of sizes) {
    // The measurement's own sessions count towards the size.
    const toSeed = Math.max(0, size - stored - refreshPool - whoamiTokens);
    const seedStart = performance.now();
    const now = Date.now();
    for (let done = 0; done < toSeed; done += importBatch) {
      const count = Math.min(importBatch, toSeed - done);
      await store.importSessions(Array.from({ length: count }, (_, i) => seeded(stored + done + i, now)));
    }
    const seedSeconds = (performance.now() - seedStart) / 1000;
    stored += toSeed;
    seedingSeconds += seedSeconds;
    if (toSeed > 0)
      console.error(
        `seeded ${toSeed.toLocaleString('en-US')} sessions in ${seedSeconds.toFixed(1)} s (${Math.round(toSeed / seedSeconds).toLocaleString('en-US')}/s)`,
      );
    const pool = await createSessions(server.tessera, refreshPool + whoamiTokens, 64, `scale-${size}`);
    stored += refreshPool + whoamiTokens;
    const pools = join(dir, `pools-${size}.json`);
    writeFileSync(pools, JSON.stringify({ refresh: pool.refreshTokens.slice(0, refreshPool), whoami: pool.accessTokens.slice(refreshPool) }));
    await gen.loadPools(pools);
    // The first size also warms the JIT up: a longer warm-up, or its figures are those of cold code.
    const warmup = results.length === 0 ? seconds.warmup * 3 : seconds.warmup;
    const phase = async (job: Omit<LoadJob, 'connections' | 'durationSec'>) => {
      await gen.run({ ...job, connections, durationSec: warmup });
      return gen.run({ ...job, connections, durationSec: seconds.measure });
    };
    const refresh = await phase({
      url: `${server.url}/v1/token/refresh`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      dynamic: { kind: 'refresh', pool: 'refresh' },
    });
    const whoami = await phase({ url: `${server.url}/v1/session`, method: 'GET', dynamic: { kind: 'bearer', pool: 'whoami' } });
    if (refresh.non2xx > 0 || whoami.non2xx > 0 || refresh.exhausted > 0) {
      console.error(`size ${size}: refresh non-2xx ${refresh.non2xx} (pool exhausted ${refresh.exhausted}), whoami non-2xx ${whoami.non2xx}`);
    }
    results.push({
      sessions: stored,
      refreshPerSec: refresh.ok / refresh.durationSec,
      whoamiPerSec: whoami.ok / whoami.durationSec,
      refreshP99: refresh.p99,
      whoamiP99: whoami.p99,
      fileBytes: statSync(dbPath).size + fileSizeOr0(`${dbPath}-wal`),
    });
  }
} finally {
  await gen.close();
  await server.close();
}

function fileSizeOr0(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

const first = results[0]!;
const n0 = (value: number) => Math.round(value).toLocaleString('en-US');
const ratio = (value: number, base: number) => `${((value / base) * 100).toFixed(0)}%`;
const rows = [
  ['sessions stored', 'refresh/s', 'of first', 'p99', 'whoami/s', 'of first', 'p99', 'store (file + WAL)', 'bytes/session', 'within 10%'],
  ...results.map((figures) => [
    n0(figures.sessions),
    n0(figures.refreshPerSec),
    ratio(figures.refreshPerSec, first.refreshPerSec),
    `${figures.refreshP99} ms`,
    n0(figures.whoamiPerSec),
    ratio(figures.whoamiPerSec, first.whoamiPerSec),
    `${figures.whoamiP99} ms`,
    `${(figures.fileBytes / 2 ** 20).toFixed(1)} MiB`,
    n0(figures.fileBytes / figures.sessions),
    figures.refreshPerSec >= 0.9 * first.refreshPerSec && figures.whoamiPerSec >= 0.9 * first.whoamiPerSec ? 'PASS' : 'MISS',
  ]),
];
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
console.log(`\n${line(rows[0]!)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows.slice(1)) console.log(line(row));
console.log(
  `\nSeeding through the store: ${n0(stored)} sessions (the bench's own pools included) in ${seedingSeconds.toFixed(1)} s of imports` +
    (stored >= 1_000_000 ? `; goal: a million in under a minute: ${seedingSeconds < 60 ? 'PASS' : 'MISS'}` : ''),
);
if (flags.json) writeFileSync(flags.json, JSON.stringify({ date: new Date().toISOString(), quick, results }, null, 2));
rmSync(dir, { recursive: true, force: true });
