/**
 * `npm run bench:logging`: what request logging costs. The same Tessera node (in this process, SQLite)
 * under the same load (autocannon in a child process), once per way of logging: no logger at all,
 * then a pino logger at `info` writing synchronously to a file (as `tessera serve` writes to its
 * stdout) with `--log-requests none`, `failures` (the default) and `all`. Each mode gets the hot-path
 * jobs a production node sees most (whoami, refresh) and one where every answer is a refusal (whoami
 * with a token that is not one), which `failures` logs.
 *
 *   npm run bench:logging               about a minute
 *   npm run bench:logging -- --quick    shorter phases
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { RequestLogging } from '../packages/server/src/http/request-log.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import { CpuWindow } from './cpu.js';
import { LoadGenerator, type LoadJob } from './protocol.js';
import { createSessions, startTessera } from './servers.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const seconds = flags.quick ? { warmup: 1, measure: 2 } : { warmup: 1, measure: 5 };
const connections = 32;
const refreshPool = flags.quick ? 12_000 : 30_000;
const userAgent = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

type Mode = 'no logger' | RequestLogging;
const modes: readonly Mode[] = ['no logger', 'none', 'failures', 'all'];

interface Figure {
  readonly rate: number;
  /** Server CPU per answered request, microseconds. */
  readonly cpuPerRequestUs: number;
  /** Log bytes written per request. */
  readonly logBytesPerRequest: number;
  readonly non2xx: number;
}

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-logging-'));
const gen = new LoadGenerator();
await gen.ready();
console.log(`Request logging cost, ${new Date().toISOString()}${flags.quick ? ' (--quick)' : ''}`);
console.log(`Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; ${connections} connections`);

const results = new Map<Mode, Record<string, Figure>>();
try {
  for (const mode of modes) {
    const modeDir = mkdtempSync(join(dir, 'node-'));
    const logFile = join(modeDir, 'tessera.log');
    const destination = pino.destination({ dest: logFile, sync: true });
    const logger = mode === 'no logger' ? undefined : pino({ level: 'info', base: { service: 'tessera' } }, destination);
    const store = new SqliteSessionStore(join(modeDir, 'tessera.db'));
    const server = await startTessera(store, logger ? { logger, requestLogging: mode as RequestLogging } : {});
    const { refreshTokens, accessTokens } = await createSessions(server.tessera, refreshPool, 64, `logging-${mode}`);
    const pools = join(modeDir, 'pools.json');
    writeFileSync(pools, JSON.stringify({ refresh: refreshTokens, whoami: accessTokens.slice(0, 1_000) }));
    await gen.loadPools(pools);
    const jobs: Record<string, Omit<LoadJob, 'connections' | 'durationSec'>> = {
      'whoami (200)': { url: `${server.url}/v1/session`, method: 'GET', dynamic: { kind: 'bearer', pool: 'whoami' } },
      'refresh (200)': {
        url: `${server.url}/v1/token/refresh`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': userAgent },
        dynamic: { kind: 'refresh', pool: 'refresh' },
      },
      'whoami, bad token (401)': { url: `${server.url}/v1/session`, method: 'GET', headers: { authorization: 'Bearer not-a-token' } },
    };
    const figures: Record<string, Figure> = {};
    for (const [name, job] of Object.entries(jobs)) {
      process.stderr.write(`${mode}: ${name}\n`);
      await gen.run({ ...job, connections, durationSec: seconds.warmup });
      destination.flushSync();
      const logBefore = statSync(logFile).size;
      const cpu = new CpuWindow();
      const load = await gen.run({ ...job, connections, durationSec: seconds.measure });
      const shares = cpu.stop(load.cpuMs);
      destination.flushSync();
      const answered = load.ok + load.non2xx;
      figures[name] = {
        rate: answered / load.durationSec,
        cpuPerRequestUs: ((shares.ownPercent / 100) * load.durationSec * 1e6) / Math.max(1, answered),
        logBytesPerRequest: (statSync(logFile).size - logBefore) / Math.max(1, answered),
        non2xx: load.non2xx,
      };
    }
    results.set(mode, figures);
    await server.close();
    destination.end();
  }
} finally {
  await gen.close();
  rmSync(dir, { recursive: true, force: true });
}

const jobNames = Object.keys(results.get('no logger') ?? {});
const rows = [['mode', ...jobNames.flatMap((job) => [`${job}/s`, 'CPU/request', 'log B/request'])]];
for (const [mode, figures] of results) {
  rows.push([
    mode === 'no logger' ? 'no logger' : `info, --log-requests ${mode}`,
    ...jobNames.flatMap((job) => {
      const figure = figures[job]!;
      return [Math.round(figure.rate).toLocaleString('en-US'), `${Math.round(figure.cpuPerRequestUs)} µs`, figure.logBytesPerRequest.toFixed(0)];
    }),
  ]);
}
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
console.log(`\n${line(rows[0]!)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows.slice(1)) console.log(line(row));
