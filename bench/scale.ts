/**
 * `npm run bench:scale`: refresh and whoami as the SQLite store grows. The store is seeded through
 * `SessionStore.importSessions` (not HTTP) to 1,000, 100,000 and 1,000,000 sessions; at each size
 * the same Tessera node (in this process) takes the bench's refresh and whoami load (autocannon in a
 * child process). Its refreshes use the tokens of seeded sessions drawn at random from the whole
 * store, each once, as a big store meets them: a refresh comes every access-token lifetime from
 * sessions made at any time, so their rows are spread over the store's pages. The tokens are made as
 * a node makes them (they carry their session), though this node issued none of them. Whoami uses
 * 1,000 access tokens made at that size. A reference node in the same process, whose store holds
 * only its own pools (a small deployment: 80,000 seeded sessions it refreshes the same way, and the
 * whoami pool), takes the same load in turn with it, round after round: each figure is given as
 * a share of the reference's in the same round (the median over the rounds), so the machine's drift
 * over the minutes of seeding does not read as the store's size. Both stores are purged before each size. The first size holds at least
 * the refresh pool's 80,000 seeded sessions and the whoami pool, whatever the size asked.
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
import { StorePurge, storePurgeLease } from '../packages/server/src/core/store-purge.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import { LoadGenerator, type LoadJob, type LoadResult } from './protocol.js';
import { createSessions, drawAtRandom, seededUserAgent, seedSessions, startTessera } from './servers.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } } });
const quick = flags.quick === true;
const sizes = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
const seconds = quick ? { jit: 1, warmup: 0.5, measure: 1 } : { jit: 3, warmup: 0.5, measure: 2 };
/** Turns of refresh and whoami per size; the median of each is reported. */
const rounds = quick ? 3 : 5;
const connections = 32;
/** Single-use refresh tokens per size, of seeded sessions: the JIT warm-up and every round at 4,000/s (48,000 ran out at 3,000/s). */
const refreshPool = quick ? 32_000 : 80_000;
const whoamiTokens = 1_000;
const userAgent = seededUserAgent;

interface SizeFigures {
  readonly sessions: number;
  /** Sessions in the reference node's store: its pools only. */
  readonly referenceSessions: number;
  readonly refreshPerSec: number;
  readonly whoamiPerSec: number;
  readonly referenceRefreshPerSec: number;
  readonly referenceWhoamiPerSec: number;
  /** Median over the rounds of this node's rate ÷ the reference's in the same round. */
  readonly refreshOfReference: number;
  readonly whoamiOfReference: number;
  readonly refreshP99: number;
  readonly whoamiP99: number;
  readonly fileBytes: number;
  /** The write-ahead log's file, after the size's phases (part of `fileBytes`). */
  readonly walBytes: number;
  /** The purge run before the size's phases: sealed successors it cleared, and its seconds. */
  readonly purged: { readonly sealedSuccessors: number; readonly seconds: number };
}

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-scale-'));
const dbPath = join(dir, 'tessera.db');

/** A node in this process over its own SQLite store, and the bench's purge of that store. */
async function startNode(path: string): Promise<{ store: SqliteSessionStore; server: Awaited<ReturnType<typeof startTessera>>; purge: StorePurge }> {
  const store = new SqliteSessionStore(path);
  const server = await startTessera(store);
  // The bench is the node that purges: it holds the purge's lease, so the node's own purge (every 60
  // seconds) stands aside, and it purges before each size. Run on its timer, the purge fell inside
  // whichever phase it met (the 1M refresh phase, in a profile of 2026-12-03) and charged that size
  // for clearing the sealed successors of the sizes before. Its own cost is `npm run bench --
  // --growth`'s to measure; this bench reports what it cleared before each size, and how long it took.
  if (!(await store.claimLease(storePurgeLease, 'bench-scale', Date.now(), Date.now() + 3_600_000))) throw new Error('the purge lease is taken');
  const purge = new StorePurge({ store, clock: server.tessera.clock, flows: server.tessera.config.flows, retentionDays: 30, intervalMs: 3_600_000 });
  return { store, server, purge };
}

// The node under test, whose store grows to each size, and a reference node beside it whose store
// holds only its own pools. They take turns in every round, so the machine's drift (20 % over minutes
// here) reaches both, and each figure is also given as a share of the reference's in the same round.
const big = await startNode(dbPath);
const reference = await startNode(join(dir, 'reference.db'));
const { store, server } = big;
const gen = new LoadGenerator();
await gen.ready();
console.log(`Scale benchmark, ${new Date().toISOString()}${quick ? ' (--quick)' : ''}, SQLite`);
console.log(
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; ${connections} connections, ` +
    `${rounds} rounds per size (refresh, then whoami; the node under test and the reference node in turn), ` +
    `${seconds.warmup}s warm-up + ${seconds.measure}s each, medians reported; load average ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
);

const rateOf = (result: LoadResult) => result.ok / result.durationSec;
const results: SizeFigures[] = [];
let stored = 0;
let referenceStored = 0;
let seedingSeconds = 0;
/** The refresh tokens of seeded sessions not refreshed yet: each size draws its pool from them. */
const unrefreshed: string[] = [];
try {
  for (const size of sizes) {
    // The whoami pool counts towards the size; the refresh pool is drawn from the seeded sessions.
    const toSeed = Math.max(0, size - stored - whoamiTokens, refreshPool - unrefreshed.length);
    const seedStart = performance.now();
    const now = Date.now();
    for (const token of await seedSessions(store, stored, toSeed, now)) unrefreshed.push(token);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    stored += toSeed;
    seedingSeconds += seedSeconds;
    if (toSeed > 0)
      console.error(
        `seeded ${toSeed.toLocaleString('en-US')} sessions in ${seedSeconds.toFixed(1)} s (${Math.round(toSeed / seedSeconds).toLocaleString('en-US')}/s)`,
      );
    const whoamiPool = await createSessions(server.tessera, whoamiTokens, 64, `scale-${size}`);
    // The reference refreshes seeded sessions too: the same path as the node under test, so the share
    // measures the store's size alone.
    const referenceSeeded = await seedSessions(reference.store, referenceStored, refreshPool, now);
    const referenceRefreshPool = drawAtRandom(referenceSeeded, referenceSeeded.length);
    const referenceWhoamiPool = await createSessions(reference.server.tessera, whoamiTokens, 64, `reference-${size}`);
    stored += whoamiTokens;
    referenceStored += refreshPool + whoamiTokens;
    const pools = join(dir, `pools-${size}.json`);
    writeFileSync(
      pools,
      JSON.stringify({
        refresh: drawAtRandom(unrefreshed, refreshPool),
        whoami: whoamiPool.accessTokens,
        'reference-refresh': referenceRefreshPool,
        'reference-whoami': referenceWhoamiPool.accessTokens,
      }),
    );
    await gen.loadPools(pools);
    const purgeStart = performance.now();
    const { sealedSuccessors } = await big.purge.purge();
    const purged = { sealedSuccessors, seconds: (performance.now() - purgeStart) / 1000 };
    await reference.purge.purge();
    const jobsOf = (url: string, prefix: string) =>
      ({
        refresh: {
          url: `${url}/v1/token/refresh`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': userAgent },
          dynamic: { kind: 'refresh', pool: `${prefix}refresh` },
        },
        whoami: { url: `${url}/v1/session`, method: 'GET', dynamic: { kind: 'bearer', pool: `${prefix}whoami` } },
      }) as const;
    const jobs = jobsOf(server.url, '');
    const referenceJobs = jobsOf(reference.server.url, 'reference-');
    // The first size also warms the JIT up first, or its figures would be those of cold code.
    if (results.length === 0) {
      for (const job of [jobs.refresh, referenceJobs.refresh, jobs.whoami, referenceJobs.whoami])
        await gen.run({ ...job, connections, durationSec: seconds.jit });
    }
    const phase = async (job: Omit<LoadJob, 'connections' | 'durationSec'>) => {
      await gen.run({ ...job, connections, durationSec: seconds.warmup });
      return gen.run({ ...job, connections, durationSec: seconds.measure });
    };
    const rounds_ = { refresh: [] as LoadResult[], whoami: [] as LoadResult[], referenceRefresh: [] as LoadResult[], referenceWhoami: [] as LoadResult[] };
    for (let round = 0; round < rounds; round++) {
      // Which node goes first alternates, so neither always meets the other's after-effects.
      const first = round % 2 === 0;
      for (const kind of ['refresh', 'whoami'] as const) {
        const referenceKind = kind === 'refresh' ? 'referenceRefresh' : 'referenceWhoami';
        if (first) rounds_[kind].push(await phase(jobs[kind]));
        rounds_[referenceKind].push(await phase(referenceJobs[kind]));
        if (!first) rounds_[kind].push(await phase(jobs[kind]));
      }
    }
    const refresh = medianRound(rounds_.refresh);
    const whoami = medianRound(rounds_.whoami);
    const ofReference = (own: readonly LoadResult[], theirs: readonly LoadResult[]) => median(own.map((result, i) => rateOf(result) / rateOf(theirs[i]!)));
    const roundShares = (own: readonly LoadResult[], theirs: readonly LoadResult[]) =>
      own.map((result, i) => `${((rateOf(result) / rateOf(theirs[i]!)) * 100).toFixed(0)}%`).join(' ');
    console.error(
      `size ${size}: of the reference, round by round: refresh ${roundShares(rounds_.refresh, rounds_.referenceRefresh)}, whoami ${roundShares(rounds_.whoami, rounds_.referenceWhoami)}`,
    );
    const all = Object.values(rounds_).flat();
    const non2xx = all.reduce((total, round) => total + round.non2xx, 0);
    const exhausted = all.reduce((total, round) => total + round.exhausted, 0);
    if (non2xx > 0 || exhausted > 0) console.error(`size ${size}: non-2xx ${non2xx}, refresh pool exhausted ${exhausted}`);
    results.push({
      sessions: stored,
      referenceSessions: referenceStored,
      refreshPerSec: rateOf(refresh),
      whoamiPerSec: rateOf(whoami),
      referenceRefreshPerSec: rateOf(medianRound(rounds_.referenceRefresh)),
      referenceWhoamiPerSec: rateOf(medianRound(rounds_.referenceWhoami)),
      refreshOfReference: ofReference(rounds_.refresh, rounds_.referenceRefresh),
      whoamiOfReference: ofReference(rounds_.whoami, rounds_.referenceWhoami),
      refreshP99: refresh.p99,
      whoamiP99: whoami.p99,
      fileBytes: statSync(dbPath).size + fileSizeOr0(`${dbPath}-wal`),
      walBytes: fileSizeOr0(`${dbPath}-wal`),
      purged,
    });
  }
} finally {
  await gen.close();
  await server.close();
  await reference.server.close();
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The round with the median rate: its rate and its p99 are reported. */
function medianRound(results: readonly LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.ok / a.durationSec - b.ok / b.durationSec);
  return sorted[Math.floor(sorted.length / 2)]!;
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
const pct = (value: number) => `${(value * 100).toFixed(0)}%`;
const rows = [
  [
    'sessions stored',
    'purged before',
    'refresh/s',
    'of first',
    'of reference',
    'p99',
    'whoami/s',
    'of first',
    'of reference',
    'p99',
    'store (file + WAL)',
    'bytes/session',
    'within 10% of reference',
  ],
  ...results.map((figures) => [
    n0(figures.sessions),
    `${n0(figures.purged.sealedSuccessors)} in ${figures.purged.seconds.toFixed(2)} s`,
    n0(figures.refreshPerSec),
    pct(figures.refreshPerSec / first.refreshPerSec),
    `${pct(figures.refreshOfReference)} of ${n0(figures.referenceRefreshPerSec)}`,
    `${figures.refreshP99} ms`,
    n0(figures.whoamiPerSec),
    pct(figures.whoamiPerSec / first.whoamiPerSec),
    `${pct(figures.whoamiOfReference)} of ${n0(figures.referenceWhoamiPerSec)}`,
    `${figures.whoamiP99} ms`,
    `${(figures.fileBytes / 2 ** 20).toFixed(1)} MiB (WAL ${(figures.walBytes / 2 ** 20).toFixed(1)})`,
    n0(figures.fileBytes / figures.sessions),
    figures.refreshOfReference >= 0.9 && figures.whoamiOfReference >= 0.9 ? 'PASS' : 'MISS',
  ]),
];
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
console.log(`\n${line(rows[0]!)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows.slice(1)) console.log(line(row));
console.log(`\nThe reference node's store held ${results.map((figures) => n0(figures.referenceSessions)).join(', ')} sessions (its pools) at the sizes above.`);
console.log(
  `\nSeeding through the store: ${n0(stored)} sessions (the bench's own pools included) in ${seedingSeconds.toFixed(1)} s of imports` +
    (stored >= 1_000_000 ? `; goal: a million in under a minute: ${seedingSeconds < 60 ? 'PASS' : 'MISS'}` : ''),
);
if (flags.json) writeFileSync(flags.json, JSON.stringify({ date: new Date().toISOString(), quick, results }, null, 2));
rmSync(dir, { recursive: true, force: true });
