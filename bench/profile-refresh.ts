/**
 * `npm run bench:profile-refresh`: where a refresh's server CPU goes. Starts the bench's Tessera
 * server in this process (SQLite, or PostgreSQL with `--store postgres`), puts refresh load on it
 * from the load-generator child, records a V8 CPU profile of this process over the measured run
 * only (not the set-up), and prints self time per function and per group (JSON schema validation,
 * fastify, jose, sealing, SQLite, …), each as microseconds per refresh.
 *
 *   npm run bench:profile-refresh                     8 s of refresh load on SQLite
 *   npm run bench:profile-refresh -- --seconds 4      shorter
 *   npm run bench:profile-refresh -- --out p.cpuprofile   keep the profile (opens in Chrome DevTools)
 *   npm run bench:profile-refresh -- --no-profile     only the CPU and event-loop time per refresh, without profiler overhead
 *   npm run bench:profile-refresh -- --store postgres
 *   npm run bench:profile-refresh -- --seeded 1000000   refresh sessions drawn at random from a million
 *                                                        seeded through the store, whose tokens no node
 *                                                        in this process issued (as `bench:scale` measures them)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PostgresSessionStore } from '../packages/server/src/stores/postgres.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import { createBenchDatabase } from './postgres.js';
import { LoadGenerator } from './protocol.js';
import { createSessions, drawAtRandom, seedSessions, startTessera } from './servers.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    store: { type: 'string', default: 'sqlite' },
    out: { type: 'string' },
    top: { type: 'string', default: '30' },
    seeded: { type: 'string' },
    // CPU per refresh without the profiler's own overhead.
    'no-profile': { type: 'boolean', default: false },
  },
});
const seconds = Number(flags.seconds);
const connections = Number(flags.connections);
const browserUserAgent = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** The group a function's self time counts under, from where its code lives. First match wins. */
const groups: [name: string, test: (fn: string, url: string) => boolean][] = [
  ['(idle)', (fn) => fn === '(idle)'],
  ['(garbage collector)', (fn) => fn === '(garbage collector)'],
  ['(program: native, unattributed)', (fn) => fn === '(program)'],
  ['JSON schema validation (ajv)', (fn, url) => /ajv|fast-uri/.test(url) || /^validate/.test(fn)],
  ['JSON serialisation (fast-json-stringify)', (_fn, url) => url.includes('fast-json-stringify')],
  ['jose (JWT sign)', (_fn, url) => url.includes('/jose/')],
  ['SQLite (better-sqlite3)', (_fn, url) => url.includes('better-sqlite3') || url.includes('stores/sqlite')],
  ['PostgreSQL (pg)', (_fn, url) => /\/pg(-[a-z]+)?\//.test(url) || url.includes('stores/postgres') || url.includes('stores/dialect')],
  ['store rows', (_fn, url) => url.includes('stores/rows')],
  ['ua parsing', (_fn, url) => url.includes('ua-parser') || url.includes('http/devices')],
  ['metrics (prom-client)', (_fn, url) => url.includes('prom-client') || url.includes('http/metrics')],
  ['logging (pino)', (_fn, url) => url.includes('/pino') || url.includes('request-log')],
  ['sealing / hashing (refresh-tokens.ts)', (_fn, url) => url.includes('core/refresh-tokens')],
  ['id generation', (_fn, url) => url.includes('core/ids')],
  ['core (sessions, access-tokens, devices, …)', (_fn, url) => url.includes('/src/core/')],
  ['http edge (routes, representation, limits)', (_fn, url) => url.includes('/src/http/') || url.includes('/src/rate-limits/')],
  ['fastify (+ find-my-way, avvio, light-my-request…)', (_fn, url) => /fastify|find-my-way|avvio|secure-json-parse|proxy-addr|toad-cache/.test(url)],
  ['node:crypto', (_fn, url) => url.includes('node:crypto') || url.includes('internal/crypto')],
  [
    'node:http / net / streams',
    (_fn, url) => /node:(_http|http|net|stream|internal\/(http|streams|stream_base|net))|internal\/(http|streams|stream_base|net|timers)/.test(url),
  ],
  ['node (other internals)', (_fn, url) => url.startsWith('node:')],
  ['other', () => true],
];

function summarise(profile: CpuProfile, refreshes: number, top: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  // Native code (no script URL: a binding, a builtin) counts where its nearest JavaScript caller is.
  const callerFrame = (id: number) => {
    let at: number | undefined = id;
    while (at !== undefined) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url !== '' || frame.functionName.startsWith('(')) return frame;
      at = parentOf.get(at);
    }
    return byId.get(id)!.callFrame;
  };
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFunction = new Map<string, number>();
  const byGroup = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const caller = callerFrame(id);
    const group = groups.find(([, test]) => test(caller.functionName, caller.url))![0];
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    if (group !== '(idle)') busy += us;
    const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, '');
    const native = url === '' && !functionName.startsWith('(');
    const callerWhere = `${caller.functionName || '(anonymous)'} ${caller.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, '')}:${caller.lineNumber + 1}`;
    const key = native ? `${functionName} (native) <- ${callerWhere}` : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const perRefresh = (us: number) => (us / refreshes).toFixed(1).padStart(7);
  const share = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `Busy (non-idle) main-thread time: ${(busy / 1000).toFixed(0)} ms for ${refreshes} refreshes = ${(busy / refreshes).toFixed(0)} µs per refresh`,
    '',
  ];
  lines.push('Self time by group (µs per refresh, share of busy time):');
  for (const [group, us] of [...byGroup].sort((a, b) => b[1] - a[1])) if (group !== '(idle)') lines.push(`  ${perRefresh(us)}  ${share(us)}  ${group}`);
  lines.push('', `Top ${top} functions by self time:`);
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${perRefresh(us)}  ${share(us)}  ${key}`);
  return lines.join('\n');
}

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-profile-'));
const gen = new LoadGenerator();
const database = flags.store === 'postgres' ? await createBenchDatabase('postgres://postgres@127.0.0.1:5432/postgres', 'profile') : undefined;
try {
  await gen.ready();
  const store = database ? await PostgresSessionStore.open({ connectionString: database.url }) : new SqliteSessionStore(join(dir, 'tessera.db'));
  const server = await startTessera(store);
  try {
    const pool = Math.ceil(seconds * 6_000) + 4_000;
    const seeded = flags.seeded === undefined ? 0 : Number(flags.seeded);
    if (!Number.isInteger(seeded) || seeded < 0) throw new Error('--seeded must be a whole number of sessions');
    let refreshTokens: string[];
    if (seeded > 0) {
      process.stderr.write(`seeding ${seeded} sessions\n`);
      refreshTokens = drawAtRandom(await seedSessions(store, 0, Math.max(seeded, pool), Date.now()), pool);
    } else {
      process.stderr.write(`creating ${pool} sessions\n`);
      ({ refreshTokens } = await createSessions(server.tessera, pool, 64, 'profile'));
    }
    const poolsFile = join(dir, 'pools.json');
    writeFileSync(poolsFile, JSON.stringify({ refresh: refreshTokens }));
    await gen.loadPools(poolsFile);
    const job = {
      url: `${server.url}/v1/token/refresh`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', 'user-agent': browserUserAgent },
      dynamic: { kind: 'refresh' as const, pool: 'refresh' },
      connections,
    };
    process.stderr.write('warm-up 1 s\n');
    await gen.run({ ...job, durationSec: 1 });
    const inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    const before = server.counters.refreshed;
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    if (!flags['no-profile']) await inspector.post('Profiler.start');
    process.stderr.write(`profiling ${seconds} s of refresh load\n`);
    const load = await gen.run({ ...job, durationSec: seconds });
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const profile = flags['no-profile'] ? undefined : ((await inspector.post('Profiler.stop')) as unknown as { profile: CpuProfile }).profile;
    const refreshes = server.counters.refreshed - before;
    inspector.disconnect();
    if (flags.out && profile) writeFileSync(flags.out, JSON.stringify(profile));
    console.log(
      `${refreshes} refreshes in ${seconds} s (${Math.round(refreshes / seconds)}/s, non-2xx ${load.non2xx}, pool exhausted ${load.exhausted}); ` +
        `process CPU ${((cpu.user + cpu.system) / refreshes) | 0} µs per refresh (every thread${profile ? ', profiler overhead included' : ''}); ` +
        `event loop busy ${((elu.active * 1000) / refreshes) | 0} µs per refresh (${Math.round(elu.utilization * 100)} % of the time)`,
    );
    if (profile) console.log(summarise(profile, refreshes, Number(flags.top)));
  } finally {
    await server.close();
  }
} finally {
  await gen.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
}
