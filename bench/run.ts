/**
 * `npm run bench`: the raw limits of this machine (SQLite rotation, jose ES256/EdDSA, bare Fastify),
 * then Tessera over HTTP on loopback (refresh, whoami, create), and each Tessera figure as a share
 * of the limit it is built on. Load comes from autocannon in a separate child process.
 *
 *   npm run bench                       full run (about 75 s)
 *   npm run bench -- --quick            shorter phases
 *   npm run bench -- --json out.json    also write the results as JSON
 *   npm run bench -- --connections 32   concurrent keep-alive connections per HTTP phase
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CpuWindow, type CpuShares } from './cpu.js';
import { LoadGenerator, type LoadJob, type LoadResult } from './protocol.js';
import { joseRates, rotateTxPerSecond } from './raw.js';
import { benchApiKey, createSessions, startBareFastify, startTessera, type Counters } from './servers.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    connections: { type: 'string', default: '32' },
  },
});

const quick = flags.quick === true;
const connections = Number.parseInt(flags.connections ?? '32', 10);
if (!Number.isInteger(connections) || connections < 1) throw new Error('--connections must be a positive integer');

/** Seconds per phase. HTTP phases run a warm-up first, measured separately and discarded. */
const durations = quick
  ? { rotate: 1, jose: 0.75, warmup: 1, http: 2 }
  : { rotate: 3, jose: 2, warmup: 1, http: 6 };
/** Promises in flight for the jose measurements: enough to keep libuv's threadpool (4 threads) busy. */
const joseConcurrency = 64;
/** Sessions in the raw rotate database, like the Tessera database during the refresh phase. */
const seedSessions = quick ? 5_000 : 20_000;
/**
 * Single-use refresh tokens (one session each). Their access tokens feed the every-request-verified
 * whoami phase, so there must be more of them than AccessTokens keeps verified (10,000, FIFO).
 */
const refreshPool = quick ? 12_000 : 20_000;
const whoamiTokens = 1_000;
const targets = { refresh: 0.4, whoami: 0.6 };

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-'));
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

console.log(`Tessera benchmark, ${startedAt.toISOString()}${quick ? ' (--quick)' : ''}`);
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
  /** Event-loop utilisation of the server's main thread during the measured run (0..1). */
  readonly serverElu: number;
  /** CPU of the server process (main thread + threadpool), percent of one core. */
  readonly serverCpuPercent: number;
  /** CPU used by processes other than the server and the load generator, percent of one core. */
  readonly othersCpuPercent: number;
  readonly server?: Counters;
}

/** A warm-up run, then the measured run, with the server's event-loop and CPU use over the latter. */
async function httpPhase(
  gen: LoadGenerator,
  label: string,
  job: Omit<LoadJob, 'durationSec'>,
  counters?: Counters,
  rateOf?: (delta: Counters, load: LoadResult) => number,
): Promise<HttpFigure> {
  log(`${label}: warm-up`);
  await gen.run({ ...job, durationSec: durations.warmup });
  log(`${label}: measuring ${durations.http}s`);
  const before = counters ? { ...counters } : undefined;
  const elu = performance.eventLoopUtilization();
  const cpu = new CpuWindow();
  const load = await gen.run({ ...job, durationSec: durations.http });
  const cpuUsed = cpu.stop(load.cpuMs);
  const serverElu = performance.eventLoopUtilization(elu).utilization;
  const delta =
    counters && before
      ? { refreshed: counters.refreshed - before.refreshed, replayed: counters.replayed - before.replayed, created: counters.created - before.created }
      : undefined;
  if (load.errors > 0 || load.timeouts > 0) log(`${label}: ${load.errors} socket errors, ${load.timeouts} timeouts`);
  const rate = rateOf && delta ? rateOf(delta, load) : load.ok / load.durationSec;
  return {
    rate,
    p50: load.p50,
    p99: load.p99,
    load,
    serverElu,
    serverCpuPercent: cpuUsed.ownPercent,
    othersCpuPercent: cpuUsed.othersPercent,
    ...(delta ? { server: delta } : {}),
  };
}

const gen = new LoadGenerator();
/** Servers still listening, closed however the run ends. */
const open = new Set<() => Promise<void>>();
try {
  await gen.ready();
  // 1. Raw limits.
  log(`raw: SQLite rotate transactions (${seedSessions} seeded sessions, ${durations.rotate}s)`);
  let window = new CpuWindow();
  const rotate = { ...rotateTxPerSecond(dir, durations.rotate, seedSessions), cpu: window.stop() };
  log(`raw: jose ES256 / EdDSA sign and verify (${joseConcurrency} in flight, ${durations.jose}s each)`);
  window = new CpuWindow();
  const es256 = { ...(await joseRates('ES256', durations.jose, joseConcurrency)), cpu: window.stop() };
  window = new CpuWindow();
  const eddsa = { ...(await joseRates('EdDSA', durations.jose, joseConcurrency)), cpu: window.stop() };

  const bare = await startBareFastify();
  open.add(bare.close);
  const fastify = await httpPhase(gen, 'raw: bare fastify GET /json', { url: `${bare.url}/json`, method: 'GET', connections });
  open.delete(bare.close);
  await bare.close();

  // 2. Tessera over HTTP.
  const server = await startTessera(dir);
  open.add(server.close);
  const refreshLimit = Math.min(rotate.opsPerSec, es256.signPerSec);
  log(`tessera: creating ${refreshPool} + ${whoamiTokens} sessions through the core`);
  const createStart = performance.now();
  const forRefresh = await createSessions(server.tessera, refreshPool, joseConcurrency, 'bench-refresh');
  const forWhoami = await createSessions(server.tessera, whoamiTokens, joseConcurrency, 'bench-whoami');
  const setupRate = (refreshPool + whoamiTokens) / ((performance.now() - createStart) / 1000);
  log(`tessera: ${n0(setupRate)} sessions/s through the core (no HTTP)`);
  const poolsFile = join(dir, 'pools.json');
  writeFileSync(
    poolsFile,
    JSON.stringify({ refresh: forRefresh.refreshTokens, whoami: forWhoami.accessTokens, cold: forRefresh.accessTokens }),
  );
  await gen.loadPools(poolsFile);

  const refresh = await httpPhase(
    gen,
    'tessera: POST /v1/token/refresh',
    {
      url: `${server.url}/v1/token/refresh`,
      method: 'POST',
      connections,
      headers: { 'content-type': 'application/json' },
      dynamic: { kind: 'refresh', pool: 'refresh' },
    },
    server.counters,
    // Only first uses of a token count. The server's count excludes grace-window replays (autocannon's 2xx would not)
    // but includes requests still in flight when the run stopped (autocannon's 2xx does not): take the lower.
    (delta, load) => Math.min(delta.refreshed, load.ok) / load.durationSec,
  );
  const whoamiJob = (dynamic: LoadJob['dynamic']): Omit<LoadJob, 'durationSec'> => ({
    url: `${server.url}/v1/session`,
    method: 'GET',
    connections,
    ...(dynamic ? { dynamic } : {}),
  });
  const whoami = await httpPhase(gen, `tessera: GET /v1/session, ${whoamiTokens} tokens`, whoamiJob({ kind: 'bearer', pool: 'whoami' }));
  const whoamiSingle = await httpPhase(gen, 'tessera: GET /v1/session, 1 token', whoamiJob({ kind: 'bearer', pool: 'whoami', count: 1 }));
  const whoamiCold = await httpPhase(
    gen,
    `tessera: GET /v1/session, ${refreshPool} tokens (verified-token cache misses)`,
    whoamiJob({ kind: 'bearer', pool: 'cold' }),
  );
  const create = await httpPhase(
    gen,
    'tessera: POST /v1/sessions',
    {
      url: `${server.url}/v1/sessions`,
      method: 'POST',
      connections,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${benchApiKey}` },
      dynamic: { kind: 'create' },
    },
    server.counters,
    (delta, load) => Math.min(delta.created, load.ok) / load.durationSec,
  );
  open.delete(server.close);
  await server.close();

  // 3. Report.
  const createLimit = Math.min(es256.signPerSec, fastify.rate);
  const rows = [
    { name: 'refresh/s', figure: refresh, limit: refreshLimit, limitName: 'min(rotate tx/s, ES256 sign/s)', target: targets.refresh },
    { name: `whoami/s (${whoamiTokens} tokens)`, figure: whoami, limit: es256.verifyPerSec, limitName: 'ES256 verify/s', target: targets.whoami },
    { name: 'whoami/s (1 token)', figure: whoamiSingle, limit: es256.verifyPerSec, limitName: 'ES256 verify/s' },
    {
      name: `whoami/s (${n0(refreshPool)} tokens, all verified)`,
      figure: whoamiCold,
      limit: es256.verifyPerSec,
      limitName: 'ES256 verify/s',
      target: targets.whoami,
    },
    { name: 'create/s', figure: create, limit: createLimit, limitName: 'min(ES256 sign/s, fastify req/s)' },
  ];

  console.log('Raw limits');
  console.log(table(
    ['limit', 'rate', 'other CPU', 'note'],
    [
      ['SQLite rotate tx/s', n0(rotate.opsPerSec), otherPct(rotate.cpu), `WAL, synchronous=NORMAL, BEGIN IMMEDIATE, ${seedSessions} sessions`],
      ['ES256 sign/s', n0(es256.signPerSec), otherPct(es256.cpu), `jose, ${joseConcurrency} in flight`],
      ['ES256 verify/s', n0(es256.verifyPerSec), otherPct(es256.cpu), `jose, ${joseConcurrency} in flight`],
      ['EdDSA sign/s', n0(eddsa.signPerSec), otherPct(eddsa.cpu), `jose, ${joseConcurrency} in flight (not used)`],
      ['EdDSA verify/s', n0(eddsa.verifyPerSec), otherPct(eddsa.cpu), `jose, ${joseConcurrency} in flight (not used)`],
      ['fastify req/s', n0(fastify.rate), pct(fastify.othersCpuPercent / 100), `bare GET /json, p50 ${ms(fastify.p50)}, p99 ${ms(fastify.p99)}`],
    ],
  ));
  console.log('\nTessera over HTTP (loopback)');
  console.log(table(
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
        pct(row.figure.serverElu),
        pct(row.figure.serverCpuPercent / 100),
        pct(row.figure.load.cpuPercent / 100),
        pct(row.figure.othersCpuPercent / 100),
      ];
    }),
  ));
  const refreshNotes = [
    `refreshes counted by the server (first use of a token only): ${n0(refresh.server?.refreshed ?? 0)}`,
    `grace-window replays: ${refresh.server?.replayed ?? 0}`,
    `2xx seen by the client: ${n0(refresh.load.ok)}`,
    `non-2xx: ${refresh.load.non2xx}`,
    `pool exhausted: ${refresh.load.exhausted > 0 ? `yes (${refresh.load.exhausted} requests)` : 'no'}`,
  ];
  console.log(`\nRefresh check: ${refreshNotes.join('; ')}`);
  const others = { whoami, whoamiSingle, whoamiCold, create, fastify };
  for (const [name, figure] of Object.entries(others)) {
    if (figure.load.non2xx > 0 || figure.load.errors > 0) {
      console.log(`Warning: ${name} had ${figure.load.non2xx} non-2xx responses, ${figure.load.errors} errors: ${JSON.stringify(figure.load.statusCodes)}`);
    }
  }
  console.log(`\nES256 vs EdDSA (jose/WebCrypto): sign ${n0(es256.signPerSec)} vs ${n0(eddsa.signPerSec)}/s, verify ${n0(es256.verifyPerSec)} vs ${n0(eddsa.verifyPerSec)}/s`);
  console.log(`Load average after the run: ${os.loadavg().map((value) => value.toFixed(2)).join(' ')}`);
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
      raw: { rotate, es256, eddsa, fastify, seedSessions, joseConcurrency },
      tessera: { refreshPool, whoamiTokens, setupSessionsPerSec: setupRate, refresh, whoami, whoamiSingle, whoamiCold, create },
      summary,
    };
    writeFileSync(flags.json, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${flags.json}`);
  }
} finally {
  for (const close of open) await close().catch(() => {});
  await gen.close();
  rmSync(dir, { recursive: true, force: true });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
