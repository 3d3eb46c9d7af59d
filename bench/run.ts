/**
 * `npm run bench`: the raw limits of this machine (SQLite rotation, jose ES256/EdDSA, bare Fastify),
 * then Tessera over HTTP on loopback (refresh, whoami, create), and each Tessera figure as a share
 * of the limit it is built on. Load comes from autocannon in a separate child process.
 *
 *   npm run bench                       full run (about 75 s)
 *   npm run bench -- --quick            shorter phases
 *   npm run bench -- --json out.json    also write the results as JSON
 *   npm run bench -- --connections 32   concurrent keep-alive connections per HTTP phase
 *   npm run bench -- --growth           only the store's growth per refresh, with and without the
 *                                       store purge (bench/store-growth.ts); --quick for a shorter run
 *   npm run bench -- --store postgres   the same on PostgreSQL (a bench database of its own on
 *                                       --database-url, default TEST_POSTGRES_URL or 127.0.0.1:5432),
 *                                       one node in this process, then two `tessera serve` nodes
 *                                       (warmed first with a few seconds of each kind of request)
 *   npm run bench -- --dpop             also refresh and whoami with DPoP (RFC 9449) proofs, each right after its
 *                                       bearer phase, bearer whoami once more held to the DPoP rate, the
 *                                       server's CPU per request both ways, and what the proof check and
 *                                       the jti insert cost on their own
 *   npm run bench -- --peers            also node-oidc-provider (memory adapter, refresh rotation, ES256
 *                                       JWT access tokens) in a child process, each of its phases right
 *                                       after Tessera's (refresh, whoami), and the ratios against the
 *                                       issue's goals (refresh on SQLite >= 2.5x, on PostgreSQL >= 1.5x)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PostgresSessionStore } from '../packages/server/src/stores/postgres.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import type { Tessera } from '../packages/server/src/tessera.js';
import { type CpuShares, CpuWindow } from './cpu.js';
import { type DpopRawCosts, dpopRawCosts } from './dpop-costs.js';
import { type DpopDeviceKey, dpopDeviceKey } from './dpop-proofs.js';
import { type ComparedPhase, PeerComparison } from './peers.js';
import {
  type BenchDatabase,
  createBenchDatabase,
  type NodeProcess,
  nodeCounters,
  postgresRawRates,
  processCpuMs,
  serverSettings,
  startNodeProcess,
} from './postgres.js';
import { type DpopLoad, LoadGenerator, type LoadJob, type LoadResult, type Prepared } from './protocol.js';
import { joseRates, rotateTxPerSecond } from './raw.js';
import { benchApiKey, benchIssuer, type Counters, createSessions, startBareFastify, startTessera } from './servers.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    connections: { type: 'string', default: '32' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string' },
    peers: { type: 'boolean', default: false },
    growth: { type: 'boolean', default: false },
    dpop: { type: 'boolean', default: false },
  },
});

const store = flags.store;
if (store !== 'sqlite' && store !== 'postgres') throw new Error('--store must be sqlite or postgres');
const postgresAdminUrl = flags['database-url'] ?? process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const quick = flags.quick === true;
const connections = Number.parseInt(flags.connections ?? '32', 10);
if (!Number.isInteger(connections) || connections < 1) throw new Error('--connections must be a positive integer');

/** A real browser's User-Agent, parsed (once, then cached) on every refresh to record the session's device. */
const browserUserAgent = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** Seconds per phase. HTTP phases run a warm-up first, measured separately and discarded. */
const durations = quick ? { rotate: 1, jose: 0.75, warmup: 1, http: 2 } : { rotate: 3, jose: 2, warmup: 1, http: 6 };
/** Promises in flight for the jose measurements: enough to keep libuv's threadpool (4 threads) busy. */
const joseConcurrency = 64;
/** Sessions in the raw rotate database, like the Tessera database during the refresh phase. */
const seedSessions = quick ? 5_000 : 20_000;
/**
 * Single-use refresh tokens (one session each). Their access tokens feed the every-request-verified
 * whoami phase, so there must be more of them than AccessTokens keeps verified (10,000, FIFO).
 */
const refreshPool = quick ? 12_000 : 30_000;
const whoamiTokens = 1_000;
const targets = { refresh: 0.4, whoami: 0.6 };

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-'));
if (flags.growth) {
  const { storeGrowthBench } = await import('./store-growth.js');
  try {
    const growth = await storeGrowthBench(dir, quick, (message) => process.stderr.write(`${message}\n`));
    if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ date: new Date().toISOString(), quick, growth }, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
const startedAt = new Date();
const runStart = performance.now();

function log(message: string): void {
  const at = ((performance.now() - runStart) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[${at}s] ${message}\n`);
}

const n0 = (value: number) => Math.round(value).toLocaleString('en-US');
const pct = (value: number) => `${(value * 100).toFixed(0)}%`;
const otherPct = (cpu: CpuShares) => pct(cpu.othersPercent / 100);
/** autocannon records latency in whole milliseconds. */
const ms = (value: number) => (value < 1 ? '<1 ms' : `${Math.round(value)} ms`);

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  threadpool: process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)',
};

console.log(`Tessera benchmark, ${startedAt.toISOString()}${quick ? ' (--quick)' : ''}, store: ${store}`);
console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}`);
const loadBefore = os.loadavg().map((value) => Number(value.toFixed(2)));
const idleCheck = new CpuWindow();
await new Promise((resolve) => setTimeout(resolve, 1000));
const busyBefore = idleCheck.stop().othersPercent;
console.log(
  `Other processes before the run: ${pct(busyBefore / 100)} of one core over 1 s (load average ${loadBefore.join(' ')})` +
    (busyBefore > 10 ? ': the machine is not idle, figures will be low and noisy' : ''),
);
console.log(
  `Load: autocannon in a child process, ${connections} keep-alive connections, loopback; ` +
    `${durations.warmup}s warm-up + ${durations.http}s per HTTP phase\n`,
);

interface HttpFigure {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly load: LoadResult;
  /** Event-loop utilisation of the server's main thread during the measured run (0..1); undefined for node processes. */
  readonly serverElu: number | undefined;
  /** CPU of the server process(es) (main thread + threadpool), percent of one core, and in milliseconds. */
  readonly serverCpuPercent: number;
  readonly serverCpuMs: number;
  /** DPoP phases: the proofs the load generator signed before the measured run. */
  readonly prepared?: Prepared;
  /** CPU used by processes other than the server(s) and the load generator, percent of one core. */
  readonly othersCpuPercent: number;
  readonly server?: Counters;
}

/** Where a phase sends its load: the server in this process, or node processes (load split evenly). */
interface Servers {
  readonly urls: string[];
  /** Server-side counts so far. */
  counters(): Promise<Counters>;
  /** Node processes' pids; none when the server runs in this process. */
  readonly pids: number[];
}

function mergeLoads(loads: LoadResult[]): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const load of loads) for (const [code, count] of Object.entries(load.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  const sum = (pick: (load: LoadResult) => number) => loads.reduce((total, load) => total + pick(load), 0);
  return {
    ok: sum((load) => load.ok),
    non2xx: sum((load) => load.non2xx),
    errors: sum((load) => load.errors),
    timeouts: sum((load) => load.timeouts),
    durationSec: Math.max(...loads.map((load) => load.durationSec)),
    // Latency over several nodes: the worst node's percentile (conservative).
    p50: Math.max(...loads.map((load) => load.p50)),
    p99: Math.max(...loads.map((load) => load.p99)),
    exhausted: sum((load) => load.exhausted),
    statusCodes,
    cpuPercent: sum((load) => load.cpuPercent),
    cpuMs: sum((load) => load.cpuMs),
    proofsSignedLive: sum((load) => load.proofsSignedLive),
  };
}

/** A warm-up run, then the measured run, with the server's event-loop and CPU use over the latter. */
async function httpPhase(
  gen: LoadGenerator,
  label: string,
  servers: Servers,
  job: (url: string) => Omit<LoadJob, 'durationSec' | 'connections'>,
  counted = false,
  rateOf?: (delta: Counters, load: LoadResult) => number,
): Promise<HttpFigure> {
  const perServer = Math.max(1, Math.floor(connections / servers.urls.length));
  const jobsOf = (durationSec: number): LoadJob[] => servers.urls.map((url) => ({ ...job(url), connections: perServer, durationSec }));
  const runAll = (jobs: LoadJob[]) => Promise.all(jobs.map((one) => gen.run(one))).then(mergeLoads);
  // DPoP proofs are signed before each run, outside the measured window.
  const prepareAll = async (jobs: LoadJob[]): Promise<Prepared | undefined> => {
    if (!jobs.some((one) => one.dynamic?.kind !== 'create' && one.dynamic?.dpop)) return undefined;
    const all = await Promise.all(jobs.map((one) => gen.prepare(one)));
    return { proofs: all.reduce((total, one) => total + one.proofs, 0), cpuMs: all.reduce((total, one) => total + one.cpuMs, 0) };
  };
  log(`${label}: warm-up`);
  const warmupJobs = jobsOf(durations.warmup);
  await prepareAll(warmupJobs);
  await runAll(warmupJobs);
  const measuredJobs = jobsOf(durations.http);
  const prepared = await prepareAll(measuredJobs);
  if (prepared) log(`${label}: ${n0(prepared.proofs)} DPoP proofs signed in ${n0(prepared.cpuMs)} ms of load-generator CPU`);
  log(`${label}: measuring ${durations.http}s`);
  const before = counted ? await servers.counters() : undefined;
  const nodesCpuBefore = servers.pids.map(processCpuMs);
  const elu = performance.eventLoopUtilization();
  const cpu = new CpuWindow();
  const wallStart = performance.now();
  const load = await runAll(measuredJobs);
  const wallMs = performance.now() - wallStart;
  const nodesCpuMs = servers.pids.reduce((total, pid, i) => total + processCpuMs(pid) - nodesCpuBefore[i]!, 0);
  const cpuUsed = cpu.stop(load.cpuMs + nodesCpuMs);
  const inProcess = servers.pids.length === 0;
  const serverElu = inProcess ? performance.eventLoopUtilization(elu).utilization : undefined;
  const after = counted ? await servers.counters() : undefined;
  const delta =
    before && after
      ? { refreshed: after.refreshed - before.refreshed, replayed: after.replayed - before.replayed, created: after.created - before.created }
      : undefined;
  if (load.errors > 0 || load.timeouts > 0) log(`${label}: ${load.errors} socket errors, ${load.timeouts} timeouts`);
  const rate = rateOf && delta ? rateOf(delta, load) : load.ok / load.durationSec;
  return {
    rate,
    p50: load.p50,
    p99: load.p99,
    load,
    serverElu,
    serverCpuPercent: inProcess ? cpuUsed.ownPercent : (nodesCpuMs / wallMs) * 100,
    serverCpuMs: inProcess ? (cpuUsed.ownPercent / 100) * wallMs : nodesCpuMs,
    othersCpuPercent: cpuUsed.othersPercent,
    ...(delta ? { server: delta } : {}),
    ...(prepared ? { prepared } : {}),
  };
}

interface TesseraFigures {
  readonly setupRate: number;
  readonly refresh: HttpFigure;
  readonly whoami: HttpFigure;
  readonly whoamiSingle: HttpFigure;
  readonly whoamiCold: HttpFigure;
  readonly create: HttpFigure;
  /** `--dpop`: the refresh and 1,000-token whoami phases again, on DPoP-bound sessions with a proof per request. */
  readonly dpop?: {
    readonly refresh: HttpFigure;
    readonly whoami: HttpFigure;
    /** Bearer whoami held to the DPoP whoami's rate (autocannon's `overallRate`). */
    readonly whoamiBearerAtRate: HttpFigure;
  };
}

/** `--dpop`: the device key every DPoP session is bound to, and a cap on the proofs signed ahead of a whoami run. */
interface DpopPhases {
  readonly key: DpopDeviceKey;
  /** DPoP whoami cannot pass one ES256 verify per request: sign no more proofs ahead than that rate needs. */
  readonly maxRatePerSec: number;
}

/** Only first uses of a token count. The server's count excludes grace-window replays (autocannon's 2xx would not)
 * but includes requests still in flight when the run stopped (autocannon's 2xx does not): take the lower. */
const firstUses = (delta: Counters, load: LoadResult) => Math.min(delta.refreshed, load.ok) / load.durationSec;
const creations = (delta: Counters, load: LoadResult) => Math.min(delta.created, load.ok) / load.durationSec;

/**
 * Puts each kind of request the phases send on freshly started node processes for a while, unmeasured,
 * on sessions of their own: the node in this process meets the phases warm (its code optimised by
 * the phases before), and a process a second old still runs much of its code unoptimised.
 */
async function warmNodes(gen: LoadGenerator, tessera: Tessera, urls: string[]): Promise<void> {
  const seconds = quick ? 3 : 5;
  log(`warming the node processes: ${seconds} s of each kind of request`);
  const sessions = await createSessions(tessera, 4_000 * seconds, joseConcurrency, 'bench-warm-up');
  const poolsFile = join(dir, 'warm-up-pools.json');
  writeFileSync(poolsFile, JSON.stringify({ 'warm-refresh': sessions.refreshTokens, 'warm-whoami': sessions.accessTokens }));
  await gen.loadPools(poolsFile);
  const jobs: [path: string, job: Omit<LoadJob, 'url' | 'connections' | 'durationSec'>][] = [
    [
      '/v1/token/refresh',
      { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': browserUserAgent }, dynamic: { kind: 'refresh', pool: 'warm-refresh' } },
    ],
    ['/v1/session', { method: 'GET', dynamic: { kind: 'bearer', pool: 'warm-whoami' } }],
    ['/v1/sessions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${benchApiKey}` }, dynamic: { kind: 'create' } }],
  ];
  const perNode = Math.max(1, Math.floor(connections / urls.length));
  for (const [path, job] of jobs) {
    await Promise.all(urls.map((url) => gen.run({ ...job, url: `${url}${path}`, connections: perNode, durationSec: seconds })));
  }
}

/** The Tessera phases against `servers`, on sessions made through `tessera` (same store) beforehand. */
async function tesseraPhases(
  gen: LoadGenerator,
  title: string,
  tessera: Tessera,
  servers: Servers,
  peers?: PeerComparison,
  dpop?: DpopPhases,
): Promise<TesseraFigures> {
  log(`${title}: creating ${refreshPool} + ${whoamiTokens} sessions through the core${dpop ? ', twice (bearer, DPoP-bound)' : ''}`);
  const createStart = performance.now();
  const forRefresh = await createSessions(tessera, refreshPool, joseConcurrency, `bench-refresh-${title}`);
  const forWhoami = await createSessions(tessera, whoamiTokens, joseConcurrency, `bench-whoami-${title}`);
  const setupRate = (refreshPool + whoamiTokens) / ((performance.now() - createStart) / 1000);
  log(`${title}: ${n0(setupRate)} sessions/s through the core (no HTTP)`);
  const dpopRefresh = dpop ? await createSessions(tessera, refreshPool, joseConcurrency, `bench-dpop-refresh-${title}`, dpop.key.jkt) : undefined;
  const dpopWhoami = dpop ? await createSessions(tessera, whoamiTokens, joseConcurrency, `bench-dpop-whoami-${title}`, dpop.key.jkt) : undefined;
  const poolsFile = join(dir, 'pools.json');
  writeFileSync(
    poolsFile,
    JSON.stringify({
      refresh: forRefresh.refreshTokens,
      whoami: forWhoami.accessTokens,
      cold: forRefresh.accessTokens,
      ...(dpopRefresh && dpopWhoami ? { 'dpop-refresh': dpopRefresh.refreshTokens, 'dpop-whoami': dpopWhoami.accessTokens } : {}),
    }),
  );
  await gen.loadPools(poolsFile);

  const refreshJob =
    (pool: string, dpopLoad?: DpopLoad) =>
    (url: string): Omit<LoadJob, 'durationSec' | 'connections'> => ({
      url: `${url}/v1/token/refresh`,
      method: 'POST',
      // As a browser sends it: each refresh records the device it comes from.
      headers: { 'content-type': 'application/json', 'user-agent': browserUserAgent },
      dynamic: { kind: 'refresh', pool, ...(dpopLoad ? { dpop: dpopLoad } : {}) },
    });
  const refresh = await httpPhase(gen, `${title}: POST /v1/token/refresh`, servers, refreshJob('refresh'), true, firstUses);
  // Right after the bearer phase, on the same server and connections: proofs are signed for a quarter more than its rate.
  const refreshDpop = dpop
    ? await httpPhase(
        gen,
        `${title}: POST /v1/token/refresh with DPoP`,
        servers,
        refreshJob('dpop-refresh', { privateJwk: dpop.key.privateJwk, ratePerSec: refresh.rate * 1.25 }),
        true,
        firstUses,
      )
    : undefined;
  await peers?.after('refresh');
  const whoamiJob =
    (dynamic: LoadJob['dynamic']) =>
    (url: string): Omit<LoadJob, 'durationSec' | 'connections'> => ({
      url: `${url}/v1/session`,
      method: 'GET',
      ...(dynamic ? { dynamic } : {}),
    });
  const whoami = await httpPhase(gen, `${title}: GET /v1/session, ${whoamiTokens} tokens`, servers, whoamiJob({ kind: 'bearer', pool: 'whoami' }));
  const whoamiDpop = dpop
    ? await httpPhase(
        gen,
        `${title}: GET /v1/session with DPoP, ${whoamiTokens} tokens`,
        servers,
        whoamiJob({
          kind: 'bearer',
          pool: 'dpop-whoami',
          dpop: { privateJwk: dpop.key.privateJwk, ratePerSec: Math.min(whoami.rate, dpop.maxRatePerSec) * 1.25 },
        }),
      )
    : undefined;
  // Bearer whoami again, held to the DPoP phase's rate: a server answering fewer requests a second
  // writes fewer answers per syscall, so CPU per request is compared at one rate.
  const whoamiAtDpopRate = whoamiDpop
    ? await httpPhase(gen, `${title}: GET /v1/session, ${whoamiTokens} tokens, at the DPoP rate`, servers, (url) => ({
        ...whoamiJob({ kind: 'bearer', pool: 'whoami' })(url),
        overallRate: whoamiDpop.rate / servers.urls.length,
      }))
    : undefined;
  await peers?.after('whoami');
  const whoamiSingle = await httpPhase(gen, `${title}: GET /v1/session, 1 token`, servers, whoamiJob({ kind: 'bearer', pool: 'whoami', count: 1 }));
  const whoamiCold = await httpPhase(
    gen,
    `${title}: GET /v1/session, ${refreshPool} tokens (verified-token cache misses)`,
    servers,
    whoamiJob({ kind: 'bearer', pool: 'cold' }),
  );
  const create = await httpPhase(
    gen,
    `${title}: POST /v1/sessions`,
    servers,
    (url) => ({
      url: `${url}/v1/sessions`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${benchApiKey}` },
      dynamic: { kind: 'create' },
    }),
    true,
    creations,
  );
  return {
    setupRate,
    refresh,
    whoami,
    whoamiSingle,
    whoamiCold,
    create,
    ...(refreshDpop && whoamiDpop && whoamiAtDpopRate ? { dpop: { refresh: refreshDpop, whoami: whoamiDpop, whoamiBearerAtRate: whoamiAtDpopRate } } : {}),
  };
}

const gen = new LoadGenerator();
/** Servers still listening, closed however the run ends. */
const open = new Set<() => Promise<void>>();
try {
  await gen.ready();
  const databases: BenchDatabase[] = [];
  open.add(async () => {
    for (const database of databases) await database.drop();
  });
  // 1. Raw limits.
  let window = new CpuWindow();
  let rotate: { opsPerSec: number; cpu: CpuShares; note: string };
  let postgresUpdate: { opsPerSec: number; cpu: CpuShares; note: string } | undefined;
  if (store === 'sqlite') {
    log(`raw: SQLite rotate transactions (${seedSessions} seeded sessions, ${durations.rotate}s)`);
    const rate = rotateTxPerSecond(dir, durations.rotate, seedSessions);
    rotate = { opsPerSec: rate.opsPerSec, cpu: window.stop(), note: `WAL, synchronous=NORMAL, BEGIN IMMEDIATE, ${seedSessions} sessions` };
  } else {
    const raw = await createBenchDatabase(postgresAdminUrl, 'raw');
    databases.push(raw);
    const settings = await serverSettings(raw.url);
    console.log(`PostgreSQL: ${settings}`);
    log(`raw: PostgreSQL single-row UPDATE and rotate transactions (${seedSessions} seeded sessions, ${durations.rotate}s each)`);
    const rates = await postgresRawRates(raw.url, durations.rotate, seedSessions);
    const cpu = window.stop();
    postgresUpdate = { opsPerSec: rates.updatePerSec, cpu, note: 'autocommit, pg pool of 10, 32 in flight, one row of the sessions table' };
    rotate = { opsPerSec: rates.rotatePerSec, cpu, note: `the store's one-statement rotation; pg pool of 10, 32 in flight, ${seedSessions} sessions` };
    await raw.drop();
    databases.splice(databases.indexOf(raw), 1);
  }
  log(`raw: jose ES256 / EdDSA sign and verify (${joseConcurrency} in flight, ${durations.jose}s each)`);
  window = new CpuWindow();
  const es256 = { ...(await joseRates('ES256', durations.jose, joseConcurrency)), cpu: window.stop() };
  window = new CpuWindow();
  const eddsa = { ...(await joseRates('EdDSA', durations.jose, joseConcurrency)), cpu: window.stop() };
  const dpopKey = flags.dpop ? dpopDeviceKey() : undefined;
  let dpopRaw: DpopRawCosts | undefined;
  if (dpopKey) {
    log(`raw: DPoP proof checks (verifier) and jti inserts (SQLite store), ${joseConcurrency} in flight, ${durations.jose}s each`);
    // An access token's length (~700 characters): only its hash (ath) is computed from it.
    dpopRaw = await dpopRawCosts(dir, dpopKey, 'eyJ'.padEnd(700, 'x'), durations.jose, joseConcurrency);
  }

  const bare = await startBareFastify();
  open.add(bare.close);
  const fastify = await httpPhase(
    gen,
    'raw: bare fastify GET /json',
    { urls: [bare.url], pids: [], counters: async () => ({ refreshed: 0, replayed: 0, created: 0 }) },
    (url) => ({
      url: `${url}/json`,
      method: 'GET',
    }),
  );
  open.delete(bare.close);
  await bare.close();

  // 2. Tessera over HTTP: one node in this process.
  let database: BenchDatabase | undefined;
  if (store === 'postgres') {
    database = await createBenchDatabase(postgresAdminUrl, 'tessera');
    databases.push(database);
  }
  const sessionStore = database ? await PostgresSessionStore.open({ connectionString: database.url }) : new SqliteSessionStore(join(dir, 'tessera.db'));
  const server = await startTessera(sessionStore);
  open.add(server.close);
  const peers = flags.peers
    ? await PeerComparison.start({
        gen,
        dir,
        refreshPool,
        bearerTokens: whoamiTokens,
        log,
        measure: (label, servers, job, countsRefreshes) => httpPhase(gen, label, servers, job, countsRefreshes, countsRefreshes ? firstUses : undefined),
      })
    : undefined;
  if (peers) open.add(() => peers.close());
  const oneNode = await tesseraPhases(
    gen,
    'tessera',
    server.tessera,
    {
      urls: [server.url],
      pids: [],
      counters: async () => ({ ...server.counters }),
    },
    peers,
    dpopKey ? { key: dpopKey, maxRatePerSec: es256.verifyPerSec } : undefined,
  );
  const comparedOneNode: Record<ComparedPhase, HttpFigure> = { refresh: oneNode.refresh, whoami: oneNode.whoami };
  if (peers) await peers.close();

  // 3. PostgreSQL only: two `tessera serve` processes on the same database, the load split between them.
  let twoNodes: TesseraFigures | undefined;
  if (database) {
    const nodes: NodeProcess[] = [];
    const stopNodes = async () => {
      for (const node of nodes) await node.stop();
    };
    open.add(stopNodes);
    log('two nodes: starting two tessera serve processes on the same database');
    for (let i = 0; i < 2; i++) nodes.push(await startNodeProcess({ databaseUrl: database.url, apiKey: benchApiKey, issuer: benchIssuer }));
    await warmNodes(
      gen,
      server.tessera,
      nodes.map((node) => node.url),
    );
    // The in-process node stays up only to make sessions through the core; it serves no load here.
    twoNodes = await tesseraPhases(gen, 'two nodes', server.tessera, {
      urls: nodes.map((node) => node.url),
      pids: nodes.map((node) => node.pid),
      counters: async () => {
        const all = await Promise.all(nodes.map((node) => nodeCounters(node.url)));
        return all.reduce((total, counts) => ({
          refreshed: total.refreshed + counts.refreshed,
          replayed: total.replayed + counts.replayed,
          created: total.created + counts.created,
        }));
      },
    });
    open.delete(stopNodes);
    await stopNodes();
  }
  open.delete(server.close);
  await server.close();

  // 4. Report.
  const createLimit = Math.min(es256.signPerSec, fastify.rate);
  // On PostgreSQL the limit of a refresh is what the database commits: its raw single-row UPDATE rate.
  const refreshLimit = Math.min(postgresUpdate ? postgresUpdate.opsPerSec : rotate.opsPerSec, es256.signPerSec);
  const refreshLimitName = postgresUpdate ? 'min(PG UPDATE/s, ES256 sign/s)' : 'min(rotate tx/s, ES256 sign/s)';
  const rowsOf = (figures: TesseraFigures, suffix: string) => [
    { name: `refresh/s${suffix}`, figure: figures.refresh, limit: refreshLimit, limitName: refreshLimitName, target: targets.refresh },
    {
      name: `whoami/s (${whoamiTokens} tokens)${suffix}`,
      figure: figures.whoami,
      limit: es256.verifyPerSec,
      limitName: 'ES256 verify/s',
      target: targets.whoami,
    },
    { name: `whoami/s (1 token)${suffix}`, figure: figures.whoamiSingle, limit: es256.verifyPerSec, limitName: 'ES256 verify/s' },
    {
      name: `whoami/s (${n0(refreshPool)} tokens, all verified)${suffix}`,
      figure: figures.whoamiCold,
      limit: es256.verifyPerSec,
      limitName: 'ES256 verify/s',
      target: targets.whoami,
    },
    { name: `create/s${suffix}`, figure: figures.create, limit: createLimit, limitName: 'min(ES256 sign/s, fastify req/s)' },
  ];
  const rows = [...rowsOf(oneNode, twoNodes ? ', 1 node' : ''), ...(twoNodes ? rowsOf(twoNodes, ', 2 nodes') : [])];
  const refresh = oneNode.refresh;
  const setupRate = oneNode.setupRate;
  const { whoami, whoamiSingle, whoamiCold, create } = oneNode;

  console.log('Raw limits');
  console.log(
    table(
      ['limit', 'rate', 'other CPU', 'note'],
      [
        ...(postgresUpdate ? [['PG single-row UPDATE/s', n0(postgresUpdate.opsPerSec), otherPct(postgresUpdate.cpu), postgresUpdate.note]] : []),
        [store === 'sqlite' ? 'SQLite rotate tx/s' : 'PG rotate tx/s', n0(rotate.opsPerSec), otherPct(rotate.cpu), rotate.note],
        ['ES256 sign/s', n0(es256.signPerSec), otherPct(es256.cpu), `jose, ${joseConcurrency} in flight`],
        ['ES256 verify/s', n0(es256.verifyPerSec), otherPct(es256.cpu), `jose, ${joseConcurrency} in flight`],
        ['EdDSA sign/s', n0(eddsa.signPerSec), otherPct(eddsa.cpu), `jose, ${joseConcurrency} in flight (not used)`],
        ['EdDSA verify/s', n0(eddsa.verifyPerSec), otherPct(eddsa.cpu), `jose, ${joseConcurrency} in flight (not used)`],
        ['fastify req/s', n0(fastify.rate), pct(fastify.othersCpuPercent / 100), `bare GET /json, p50 ${ms(fastify.p50)}, p99 ${ms(fastify.p99)}`],
      ],
    ),
  );
  console.log(`\nTessera over HTTP (loopback${twoNodes ? '; 2 nodes = two tessera serve processes, load split evenly, latency of the slower node' : ''})`);
  console.log(
    table(
      ['figure', 'rate', 'p50', 'p99', 'limit', 'of limit', 'target', 'result', 'server ELU', 'server CPU', 'loadgen CPU', 'other CPU'],
      rows.map((row) => {
        const ratio = row.figure.rate / row.limit;
        return [
          row.name,
          n0(row.figure.rate),
          ms(row.figure.p50),
          ms(row.figure.p99),
          `${n0(row.limit)} ${row.limitName}`,
          pct(ratio),
          row.target === undefined ? '-' : `>= ${pct(row.target)}`,
          row.target === undefined ? '-' : ratio >= row.target ? 'PASS' : 'MISS',
          row.figure.serverElu === undefined ? '-' : pct(row.figure.serverElu),
          pct(row.figure.serverCpuPercent / 100),
          pct(row.figure.load.cpuPercent / 100),
          pct(row.figure.othersCpuPercent / 100),
        ];
      }),
    ),
  );
  const refreshNotes = [
    `refreshes counted by the server (first use of a token only): ${n0(refresh.server?.refreshed ?? 0)}`,
    `grace-window replays: ${refresh.server?.replayed ?? 0}`,
    `2xx seen by the client: ${n0(refresh.load.ok)}`,
    `non-2xx: ${refresh.load.non2xx}`,
    `pool exhausted: ${refresh.load.exhausted > 0 ? `yes (${refresh.load.exhausted} requests)` : 'no'}`,
  ];
  console.log(`\nRefresh check: ${refreshNotes.join('; ')}`);
  if (twoNodes) {
    const two = twoNodes.refresh;
    console.log(
      `Refresh check, 2 nodes: first uses counted by the nodes: ${n0(two.server?.refreshed ?? 0)}; replays: ${two.server?.replayed ?? 0}; ` +
        `2xx: ${n0(two.load.ok)}; non-2xx: ${two.load.non2xx}; pool exhausted: ${two.load.exhausted > 0 ? 'yes' : 'no'}`,
    );
  }
  const others = {
    whoami,
    whoamiSingle,
    whoamiCold,
    create,
    fastify,
    ...(twoNodes ? { twoNodesWhoami: twoNodes.whoami, twoNodesCreate: twoNodes.create } : {}),
    ...(oneNode.dpop ? { dpopRefresh: oneNode.dpop.refresh, dpopWhoami: oneNode.dpop.whoami, whoamiBearerAtDpopRate: oneNode.dpop.whoamiBearerAtRate } : {}),
  };
  for (const [name, figure] of Object.entries(others)) {
    if (figure.load.non2xx > 0 || figure.load.errors > 0) {
      console.log(`Warning: ${name} had ${figure.load.non2xx} non-2xx responses, ${figure.load.errors} errors: ${JSON.stringify(figure.load.statusCodes)}`);
    }
  }
  const dpopReport = oneNode.dpop && dpopRaw ? dpopTable(oneNode, dpopRaw, es256.verifyCpuUs) : undefined;
  if (dpopReport) console.log(`\n${dpopReport}`);
  if (peers) console.log(`\n${peers.report(comparedOneNode, store)}`);
  console.log(
    `\nES256 vs EdDSA (jose/WebCrypto): sign ${n0(es256.signPerSec)} vs ${n0(eddsa.signPerSec)}/s, verify ${n0(es256.verifyPerSec)} vs ${n0(eddsa.verifyPerSec)}/s`,
  );
  console.log(
    `Load average after the run: ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  log(`done in ${((performance.now() - runStart) / 1000).toFixed(0)}s`);

  if (flags.json) {
    const summary = rows.map((row) => ({
      name: row.name,
      rate: row.figure.rate,
      p50Ms: row.figure.p50,
      p99Ms: row.figure.p99,
      limit: row.limit,
      limitName: row.limitName,
      ratio: row.figure.rate / row.limit,
      target: row.target ?? null,
      pass: row.target === undefined ? null : row.figure.rate / row.limit >= row.target,
    }));
    const results = {
      date: startedAt.toISOString(),
      quick,
      machine,
      loadAverageBefore: loadBefore,
      othersCpuPercentBefore: busyBefore,
      load: { generator: 'autocannon@8, child process', connections, warmupSec: durations.warmup, measureSec: durations.http },
      store,
      raw: { rotate, postgresUpdate, es256, eddsa, fastify, seedSessions, joseConcurrency, ...(dpopRaw ? { dpop: dpopRaw } : {}) },
      tessera: { refreshPool, whoamiTokens, setupSessionsPerSec: setupRate, refresh, whoami, whoamiSingle, whoamiCold, create },
      twoNodes,
      ...(peers ? { peers: peers.summary(comparedOneNode, store) } : {}),
      summary,
    };
    writeFileSync(flags.json, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${flags.json}`);
  }
} finally {
  for (const close of [...open].reverse()) await close().catch(() => {});
  await gen.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Requests the server answered in a phase. */
function answered(figure: HttpFigure): number {
  return figure.load.ok + figure.load.non2xx;
}

/** The server's CPU per answered request, microseconds. */
function serverCpuUs(figure: HttpFigure): number {
  return (figure.serverCpuMs * 1000) / answered(figure);
}

/**
 * `--dpop`: each DPoP phase beside its bearer one, the server's CPU per request both ways, and the
 * extra set against one ES256 verify and against what the proof check and the jti insert cost alone.
 */
function dpopTable(figures: TesseraFigures, raw: DpopRawCosts, verifyCpuUs: number): string {
  const dpop = figures.dpop!;
  const us = (value: number) => `${Math.round(value)} µs`;
  const signed = (value: number) => `${value >= 0 ? '+' : '−'}${us(Math.abs(value))}`;
  // The extra is taken against the last bearer row: for whoami, bearer held to the DPoP rate.
  const pairs: { name: string; bearers: [string, HttpFigure][]; dpop: HttpFigure; needs: number }[] = [
    { name: 'refresh/s', bearers: [['bearer', figures.refresh]], dpop: dpop.refresh, needs: raw.refreshProofCpuUs + raw.jtiInsertCpuUs },
    {
      name: `whoami/s (${whoamiTokens} tokens)`,
      bearers: [
        ['bearer', figures.whoami],
        ['bearer at the DPoP rate', dpop.whoamiBearerAtRate],
      ],
      dpop: dpop.whoami,
      needs: raw.tokenProofCpuUs + raw.jtiInsertCpuUs,
    },
  ];
  const rows = pairs.flatMap((pair) => {
    const extra = serverCpuUs(pair.dpop) - serverCpuUs(pair.bearers.at(-1)![1]);
    const row = (label: string, figure: HttpFigure, dpopCells: string[]) => [
      `${pair.name}, ${label}`,
      n0(figure.rate),
      ms(figure.p50),
      ms(figure.p99),
      pct(figure.serverCpuPercent / 100),
      us(serverCpuUs(figure)),
      ...dpopCells,
      us((figure.load.cpuMs * 1000) / answered(figure)),
      pct(figure.othersCpuPercent / 100),
    ];
    return [
      ...pair.bearers.map(([label, figure]) => row(label, figure, ['-', '-', '-', '-'])),
      row('DPoP', pair.dpop, [signed(extra), `${(extra / verifyCpuUs).toFixed(2)}×`, us(pair.needs), signed(extra - pair.needs)]),
    ];
  });
  const prepared = [dpop.refresh, dpop.whoami].map((figure, i) => {
    const ahead = figure.prepared ?? { proofs: 0, cpuMs: 0 };
    const perProof = ahead.proofs > 0 ? us((ahead.cpuMs * 1000) / ahead.proofs) : '-';
    return `${i === 0 ? 'refresh' : 'whoami'} ${n0(ahead.proofs)} signed ahead (${perProof} of load-generator CPU each), ${n0(figure.load.proofsSignedLive)} signed live`;
  });
  const failures = [dpop.refresh, dpop.whoami]
    .filter((figure) => figure.load.non2xx > 0)
    .map((figure) => `Warning: a DPoP phase had non-2xx answers: ${JSON.stringify(figure.load.statusCodes)}`);
  return [
    "DPoP (RFC 9449) against bearer, each DPoP phase right after its bearer one, same server and connections; whoami's extra is against bearer held to the DPoP rate",
    table(
      [
        'figure',
        'rate',
        'p50',
        'p99',
        'server CPU',
        'CPU/request',
        'extra',
        'extra ÷ verify',
        'check + jti alone',
        'extra − that',
        'loadgen CPU/req',
        'other CPU',
      ],
      rows,
    ),
    `CPU, ${joseConcurrency} in flight, no HTTP: one ES256 verify (jose) ${us(verifyCpuUs)}; the verifier's proof check ${us(raw.refreshProofCpuUs)} ` +
      `(refresh), ${us(raw.tokenProofCpuUs)} (with ath); parts of it alone: importing the proof's jwk ${us(raw.keyImportCpuUs)}, ` +
      `one SHA-256 digest ${us(raw.digestCpuUs)} (WebCrypto); one jti insert in a SQLite store of its own ${us(raw.jtiInsertCpuUs)}.`,
    `Proofs (node:crypto, ES256): ${prepared.join('; ')}.`,
    ...failures,
  ].join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
