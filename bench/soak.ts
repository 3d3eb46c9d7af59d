/**
 * `npm run bench:soak`: a spawned `tessera serve` under mixed load for a few minutes (create,
 * refresh, whoami, introspect, revoke, realtime sockets coming and going) while slowloris clients,
 * slow bodies and an Upgrade flood to non-realtime paths run alongside. Reports the server's RSS
 * and open descriptors before, at peak and after (once the load has stopped and the clients have
 * gone), connections it still holds, and whether `/healthz` kept answering (and how fast).
 *
 *   npm run bench:soak                              3 minutes on SQLite
 *   npm run bench:soak -- --duration 60             seconds of load (or env SOAK_DURATION)
 *   npm run bench:soak -- --store postgres          PostgreSQL (a database of its own on
 *                                                   --database-url, default TEST_POSTGRES_URL or 127.0.0.1:5432)
 *   npm run bench:soak -- --json out.json           also write the results as JSON
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { WebSocket } from 'ws';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string' },
    json: { type: 'string' },
  },
});
const durationSeconds = Number(flags.duration ?? process.env['SOAK_DURATION'] ?? '180');
if (!Number.isFinite(durationSeconds) || durationSeconds < 5) throw new Error('--duration must be at least 5 seconds');
const store = flags.store === 'postgres' ? 'postgres' : 'sqlite';

/** How many clients of each kind run at once. */
const load = {
  /** Request loops of mixed API calls, one keep-alive connection each. */
  apiWorkers: 6,
  /** Realtime sockets held at once; each lives 2–10 s, then another opens. */
  sockets: 40,
  /** Clients that send headers one line every 5 s and never finish. */
  slowloris: 40,
  /** Clients that send whole headers, then a body one byte every 5 s. */
  slowBodies: 10,
  /** Upgrade requests to non-realtime paths per second, each given up on after 2 s. */
  upgradesPerSecond: 10,
  /** `/healthz` probes per second, each on a new connection, 2 s deadline. */
  healthProbesPerSecond: 4,
};

const apiKey = 'tsk_soak_fixed_key_not_a_secret_0123456789';
const repoRoot = new URL('..', import.meta.url).pathname;

const runStart = performance.now();
function log(message: string): void {
  process.stderr.write(`[${((performance.now() - runStart) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The server: `tessera serve` from source, as an operator runs it.

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  output(): string;
}

async function startServe(dataDir: string, configPath: string, databaseUrl: string | undefined): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['PORT', 'HOST', 'LOG_LEVEL', 'TESSERA_API_KEY', 'TESSERA_ISSUER', 'DATABASE_URL', 'REDIS_URL']) delete env[name];
  if (databaseUrl) env['DATABASE_URL'] = databaseUrl;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'packages/server/src/cli/main.ts'),
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data',
      dataDir,
      '--config',
      configPath,
      '--api-key',
      apiKey,
      '--log-level',
      'error',
    ],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
  const until = Date.now() + 30_000;
  while (!/Error codes are documented at/.test(output)) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`tessera serve did not start:\n${output}`);
    await sleep(100);
  }
  return { child, pid: child.pid!, port, url: `http://127.0.0.1:${port}`, output: () => output };
}

// ---------------------------------------------------------------------------------------------
// What the server holds, read from /proc.

interface Sample {
  readonly atSeconds: number;
  readonly rssBytes: number;
  readonly fds: number;
  /** Connections accepted on the server's port, by TCP state. */
  readonly connections: Record<string, number>;
}

const tcpStates: Record<string, string> = {
  '01': 'ESTABLISHED',
  '06': 'TIME_WAIT',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

function sample(server: ServerProcess): Sample {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = readdirSync(`/proc/${server.pid}/fd`);
  const inodes = new Set<string>();
  for (const fd of fds) {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${server.pid}/fd/${fd}`))?.[1];
    if (inode) inodes.add(inode);
  }
  const connections: Record<string, number> = {};
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${server.pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
      const localPort = Number.parseInt(fields[1]!.split(':')[1] ?? '0', 16);
      const state = tcpStates[fields[3]!] ?? fields[3]!;
      if (localPort !== server.port || state === 'LISTEN') continue;
      connections[state] = (connections[state] ?? 0) + 1;
    }
  }
  return { atSeconds: (performance.now() - runStart) / 1000, rssBytes: rssKb * 1024, fds: fds.length, connections };
}

/** The target of a descriptor's link, or '' when it closed while listing. */
function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// The load.

interface Counts {
  [name: string]: number;
}
const counts: Counts = {};
const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);

let stopping = false;

/** Keep-alive connections for the API load, destroyed when it stops so "after" counts only what the server keeps. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One API call; counts it by route and status class. The parsed body when 2xx. */
function api(server: ServerProcess, method: string, path: string, init: { body?: string; form?: string; token?: string } = {}): Promise<any> {
  const headers: Record<string, string> = {};
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const payload = init.body ?? init.form;
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  const label = `${method} ${path.replace(/\/ses_[A-Za-z0-9]+|\/u-\d+/g, '/:id')}`;
  return new Promise((resolve) => {
    const request = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers, agent, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        count(`${label} ${Math.floor(status / 100)}xx`);
        if (status >= 500) count('5xx');
        let body: unknown;
        try {
          body = status < 300 && text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve(body);
      });
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => {
      count(`${label} failed`);
      resolve(undefined);
    });
    request.end(payload);
  });
}

/** One loop of mixed API calls over a pool of live sessions. */
async function apiWorker(server: ServerProcess, worker: number): Promise<void> {
  const pool: { refreshToken: string; accessToken: string }[] = [];
  let n = 0;
  while (!stopping) {
    n++;
    const roll = Math.random();
    if (pool.length < 20 || roll < 0.1) {
      const created = await api(server, 'POST', '/v1/sessions', {
        token: apiKey,
        body: JSON.stringify({ user_id: `u-${worker}-${n % 500}`, metadata: { soak: true } }),
      });
      if (created) pool.push({ refreshToken: created.refresh_token, accessToken: created.access_token });
      continue;
    }
    const index = Math.floor(Math.random() * pool.length);
    const held = pool[index]!;
    if (roll < 0.55) {
      const refreshed = await api(server, 'POST', '/v1/token/refresh', { body: JSON.stringify({ refresh_token: held.refreshToken }) });
      if (refreshed) pool[index] = { refreshToken: refreshed.refresh_token, accessToken: refreshed.access_token };
      else pool.splice(index, 1);
    } else if (roll < 0.7) {
      await api(server, 'GET', '/v1/session', { token: held.accessToken });
    } else if (roll < 0.85) {
      await api(server, 'POST', '/oauth/introspect', { token: apiKey, form: `token=${encodeURIComponent(held.accessToken)}` });
    } else {
      await api(server, 'POST', '/oauth/revoke', { form: `token=${encodeURIComponent(held.refreshToken)}` });
      pool.splice(index, 1);
    }
  }
}

/** Sockets that authenticate, live 2–10 s and close, over and over. */
async function socketChurner(server: ServerProcess): Promise<void> {
  while (!stopping) {
    const created = await api(server, 'POST', '/v1/sessions', { token: apiKey, body: JSON.stringify({ user_id: 'socket-user' }) });
    if (!created) {
      await sleep(500);
      continue;
    }
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/realtime`, { perMessageDeflate: false, handshakeTimeout: 5_000 });
      const life = setTimeout(() => ws.close(1000), 2_000 + Math.random() * 8_000);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', access_token: created.access_token })));
      ws.on('message', (raw) => {
        if (raw.toString().startsWith('{"type":"ready"')) count('socket ready');
      });
      ws.once('error', () => count('socket error'));
      ws.once('close', () => {
        clearTimeout(life);
        resolve();
      });
    });
  }
}

/** Lifetimes (ms) of connections the server closed on a slow client. */
const slowLifetimes: { slowloris: number[]; slowBody: number[] } = { slowloris: [], slowBody: [] };
const openSlowClients = new Set<Socket>();

/** A client that opens, sends a little every 5 s and never finishes; reconnects when dropped. */
async function slowClient(server: ServerProcess, kind: 'slowloris' | 'slowBody'): Promise<void> {
  while (!stopping) {
    await new Promise<void>((resolve) => {
      const socket = connect({ port: server.port, host: '127.0.0.1' });
      openSlowClients.add(socket);
      const opened = performance.now();
      let line = 0;
      socket.on('error', () => {});
      socket.on('data', () => {});
      socket.once('connect', () => {
        if (kind === 'slowloris') socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        else
          socket.write(
            `POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
          );
      });
      const trickle = setInterval(() => {
        if (stopping) return socket.destroy();
        socket.write(kind === 'slowloris' ? `X-Slow-${line++}: a\r\n` : ' ');
      }, 5_000);
      socket.once('close', () => {
        clearInterval(trickle);
        openSlowClients.delete(socket);
        if (!stopping) slowLifetimes[kind].push(performance.now() - opened);
        resolve();
      });
    });
  }
}

const upgrades = { sent: 0, answered: 0, unanswered: 0, statuses: {} as Record<string, number> };

/** Upgrade requests to paths other than /v1/realtime, given up on (closed by us) after 2 s. */
async function upgradeFlood(server: ServerProcess): Promise<void> {
  const requests = [
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  ];
  while (!stopping) {
    const batch = Array.from(
      { length: load.upgradesPerSecond },
      (_, i) =>
        new Promise<void>((resolve) => {
          upgrades.sent++;
          const socket = connect({ port: server.port, host: '127.0.0.1' });
          let answered = false;
          const giveUp = setTimeout(() => socket.destroy(), 2_000);
          socket.on('error', () => {});
          socket.once('data', (chunk: Buffer) => {
            answered = true;
            const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? '?';
            upgrades.statuses[status] = (upgrades.statuses[status] ?? 0) + 1;
            socket.destroy();
          });
          socket.once('close', () => {
            clearTimeout(giveUp);
            if (answered) upgrades.answered++;
            else upgrades.unanswered++;
            resolve();
          });
          socket.write(requests[i % requests.length]!);
        }),
    );
    await Promise.all([Promise.all(batch), sleep(1_000)]);
  }
}

const health = { probes: 0, answered: 0, failed: 0, latenciesMs: [] as number[] };

/** `/healthz` on a new connection each time, as a load balancer probes. */
async function healthProber(server: ServerProcess): Promise<void> {
  while (!stopping) {
    const started = performance.now();
    health.probes++;
    const status = await probeOnce(server.port);
    if (status === 200) {
      health.answered++;
      health.latenciesMs.push(performance.now() - started);
    } else {
      health.failed++;
    }
    await sleep(Math.max(0, 1_000 / load.healthProbesPerSecond - (performance.now() - started)));
  }
}

/** GET /healthz on a new connection; the status, or 0 when nothing came within 2 s. */
function probeOnce(port: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = '';
    const giveUp = setTimeout(() => socket.destroy(), 2_000);
    socket.on('error', () => {});
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0));
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  });
}

function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = flags['database-url'] ?? process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `tessera_soak_${Date.now().toString(36)}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tessera-soak-'));
  const configPath = join(dataDir, 'soak-config.json');
  // Per-address and per-key limits off: the load comes from one address with one key. The socket cap stays.
  writeFileSync(configPath, JSON.stringify({ rate_limits: { refresh_per_token: null, refresh_per_ip: null, management_per_key: null, revoke_per_ip: null } }));
  const database = store === 'postgres' ? await createDatabase() : undefined;
  const server = await startServe(join(dataDir, 'store'), configPath, database?.url);
  log(`tessera serve (pid ${server.pid}) on ${server.url}, ${store}; ${durationSeconds} s of load`);
  try {
    // Warm-up: every route once, so lazily loaded code and pooled connections are in "before".
    for (let i = 0; i < 50; i++) await api(server, 'POST', '/v1/sessions', { token: apiKey, body: JSON.stringify({ user_id: `warm-${i}` }) });
    await api(server, 'GET', '/healthz');
    await sleep(2_000);
    const before = sample(server);
    for (const key of Object.keys(counts)) delete counts[key];
    log(`before: RSS ${mib(before.rssBytes)}, ${before.fds} fds, connections ${JSON.stringify(before.connections)}`);

    const samples: Sample[] = [before];
    const workers: Promise<void>[] = [];
    for (let i = 0; i < load.apiWorkers; i++) workers.push(apiWorker(server, i));
    for (let i = 0; i < load.sockets; i++) workers.push(socketChurner(server));
    for (let i = 0; i < load.slowloris; i++) workers.push(slowClient(server, 'slowloris'));
    for (let i = 0; i < load.slowBodies; i++) workers.push(slowClient(server, 'slowBody'));
    workers.push(upgradeFlood(server));
    workers.push(healthProber(server));
    const loadStart = performance.now();
    while (performance.now() - loadStart < durationSeconds * 1000) {
      await sleep(Math.min(10_000, durationSeconds * 1000 - (performance.now() - loadStart)));
      const now = sample(server);
      samples.push(now);
      const p99 = percentile(health.latenciesMs.slice(-200), 0.99);
      log(
        `RSS ${mib(now.rssBytes)}, ${now.fds} fds, conns ${JSON.stringify(now.connections)}; healthz ${health.answered}/${health.probes} (recent p99 ${p99.toFixed(1)} ms); ` +
          `upgrades unanswered ${upgrades.unanswered}/${upgrades.sent}; 5xx ${counts['5xx'] ?? 0}`,
      );
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    stopping = true;
    for (const socket of openSlowClients) socket.destroy();
    await Promise.race([Promise.all(workers), sleep(15_000)]);
    agent.destroy();
    // Settle: the clients are gone; whatever the server still holds after 10 s, it holds for good.
    await sleep(10_000);
    const after = sample(server);
    const peak = samples.reduce((max, s) => (s.rssBytes > max.rssBytes ? s : max), before);
    const peakFds = Math.max(...samples.map((s) => s.fds));
    log(`after (10 s settle): RSS ${mib(after.rssBytes)}, ${after.fds} fds, connections ${JSON.stringify(after.connections)}`);

    // Shutdown: how long SIGTERM takes with whatever is still connected.
    const termStart = performance.now();
    server.child.kill('SIGTERM');
    const exited = await Promise.race([new Promise<boolean>((resolve) => server.child.once('exit', () => resolve(true))), sleep(20_000).then(() => false)]);
    const termSeconds = (performance.now() - termStart) / 1000;
    if (!exited) server.child.kill('SIGKILL');

    const operations = Object.entries(counts).filter(([name]) => name !== '5xx');
    const results = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load average at end ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      store,
      loadSeconds: Math.round(loadSeconds),
      load,
      before: { rssBytes: before.rssBytes, fds: before.fds, connections: before.connections },
      peak: { rssBytes: peak.rssBytes, fds: peakFds },
      after: { rssBytes: after.rssBytes, fds: after.fds, connections: after.connections },
      healthz: {
        probes: health.probes,
        answered: health.answered,
        failed: health.failed,
        p50Ms: percentile(health.latenciesMs, 0.5),
        p99Ms: percentile(health.latenciesMs, 0.99),
        maxMs: Math.max(...health.latenciesMs),
      },
      upgrades,
      slowClients: {
        slowlorisDropped: slowLifetimes.slowloris.length,
        slowlorisLongestSeconds: Math.max(0, ...slowLifetimes.slowloris) / 1000,
        slowBodyDropped: slowLifetimes.slowBody.length,
        slowBodyLongestSeconds: Math.max(0, ...slowLifetimes.slowBody) / 1000,
      },
      requests: Object.fromEntries(operations.sort()),
      serverErrors5xx: counts['5xx'] ?? 0,
      sigterm: { exited, seconds: Number(termSeconds.toFixed(1)) },
    };
    printReport(results);
    if (flags.json) writeFileSync(flags.json, JSON.stringify(results, null, 2));
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await database?.drop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function printReport(r: any): void {
  const lines = [
    '',
    `Soak: ${r.loadSeconds} s on ${r.store}, ${r.date}`,
    `Machine: ${r.machine}`,
    '',
    '| | before | peak | after (load stopped, clients gone, 10 s) |',
    '|---|---|---|---|',
    `| RSS | ${mib(r.before.rssBytes)} | ${mib(r.peak.rssBytes)} | ${mib(r.after.rssBytes)} |`,
    `| open fds | ${r.before.fds} | ${r.peak.fds} | ${r.after.fds} |`,
    `| connections held on the port | ${JSON.stringify(r.before.connections)} | | ${JSON.stringify(r.after.connections)} |`,
    '',
    `/healthz: ${r.healthz.answered} of ${r.healthz.probes} answered (${r.healthz.failed} failed or over 2 s); p50 ${r.healthz.p50Ms.toFixed(1)} ms, p99 ${r.healthz.p99Ms.toFixed(1)} ms, max ${r.healthz.maxMs.toFixed(1)} ms`,
    `Upgrade flood: ${r.upgrades.sent} sent, ${r.upgrades.answered} answered ${JSON.stringify(r.upgrades.statuses)}, ${r.upgrades.unanswered} unanswered after 2 s`,
    `Slowloris: ${r.slowClients.slowlorisDropped} dropped by the server (longest ${r.slowClients.slowlorisLongestSeconds.toFixed(0)} s); slow bodies: ${r.slowClients.slowBodyDropped} dropped (longest ${r.slowClients.slowBodyLongestSeconds.toFixed(0)} s)`,
    `Requests: ${Object.entries(r.requests)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
    `5xx answers: ${r.serverErrors5xx}`,
    `SIGTERM: ${r.sigterm.exited ? `exited after ${r.sigterm.seconds} s` : `still running after ${r.sigterm.seconds} s (killed)`}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

await main();
