/**
 * The load generator: a child process (forked by bench/run.ts) that drives autocannon, so the
 * client does not share the server's event loop. It takes jobs over IPC and answers with results.
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Request } from 'autocannon';
import type { LoadJob, LoadResult, ParentMessage } from './protocol.js';

/** Named token lists, loaded from files the parent wrote (the peers' lists sit beside Tessera's). */
let pools: Record<string, string[]> = {};
/** Refresh tokens are single use: the cursor survives across jobs (warm-up, then measurement). */
const cursors = new Map<string, number>();

function requestFor(job: LoadJob, stats: { exhausted: number }): Request {
  const { dynamic } = job;
  if (dynamic === undefined) return {};
  switch (dynamic.kind) {
    case 'refresh': {
      const pool = pools[dynamic.pool] ?? [];
      return {
        setupRequest(request) {
          const at = cursors.get(dynamic.pool) ?? 0;
          cursors.set(dynamic.pool, at + 1);
          const token = pool[at];
          // Never resend a spent token (that would be a grace-window replay): ask with an unknown one instead.
          if (token === undefined) stats.exhausted++;
          const refreshToken = token ?? 'rt_pool_exhausted';
          request.body = dynamic.form
            ? new URLSearchParams({ ...dynamic.form, refresh_token: refreshToken }).toString()
            : JSON.stringify({ refresh_token: refreshToken });
          return request;
        },
      };
    }
    case 'bearer': {
      const pool = pools[dynamic.pool] ?? [];
      const count = Math.min(dynamic.count ?? pool.length, pool.length);
      let at = 0;
      return {
        setupRequest(request) {
          const token = pool[at++ % count]!;
          request.headers = { ...request.headers, authorization: `Bearer ${token}` };
          return request;
        },
      };
    }
    case 'create': {
      let at = 0;
      return {
        setupRequest(request) {
          request.body = JSON.stringify({ user_id: `bench-user-${process.pid}-${at++}` });
          return request;
        },
      };
    }
  }
}

function run(job: LoadJob): Promise<LoadResult> {
  const stats = { exhausted: 0 };
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: job.url,
        method: job.method,
        connections: job.connections,
        duration: job.durationSec,
        headers: job.headers ?? {},
        ...(job.body !== undefined ? { body: job.body } : {}),
        requests: [requestFor(job, stats)],
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const cpu = process.cpuUsage(cpuBefore);
        resolve({
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          durationSec: result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          exhausted: stats.exhausted,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
          cpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - startedAt)) * 100,
          cpuMs: (cpu.user + cpu.system) / 1000,
        });
      },
    );
  });
}

process.on('message', (message: ParentMessage) => {
  const reply = (answer: unknown) => process.send?.(answer);
  if (message.type === 'pools') {
    const loaded = JSON.parse(readFileSync(message.file, 'utf8')) as Record<string, string[]>;
    pools = { ...pools, ...loaded };
    for (const name of Object.keys(loaded)) cursors.delete(name);
    reply({ type: 'ready', id: message.id });
    return;
  }
  if (message.type === 'run') {
    run(message.job).then(
      (result) => reply({ type: 'result', id: message.id, result }),
      (error: unknown) => reply({ type: 'error', id: message.id, message: String(error) }),
    );
    return;
  }
  if (message.type === 'exit') process.disconnect();
});

process.send?.({ type: 'ready', id: 0 });
