/**
 * The load generator: a child process (forked by bench/run.ts) that drives autocannon, so the
 * client does not share the server's event loop. It takes jobs over IPC and answers with results.
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Request } from 'autocannon';
import { accessTokenHash, DpopProofSigner } from './dpop-proofs.js';
import type { DpopLoad, LoadJob, LoadResult, ParentMessage, Prepared } from './protocol.js';

/** Named token lists, loaded from files the parent wrote (the peers' lists sit beside Tessera's). */
let pools: Record<string, string[]> = {};
/** Refresh tokens are single use: the cursor survives across jobs (warm-up, then measurement). */
const cursors = new Map<string, number>();
/** Proofs signed by `prepare` for the next run of a URL, in the order its requests will use them. */
const preparedProofs = new Map<string, string[]>();
/** One signer per key, so jti counters run on across a job's warm-up and measured run. */
const signers = new Map<string, DpopProofSigner>();
/** `ath` of each token a DPoP job presents. */
const tokenHashes = new Map<string, string>();

interface JobStats {
  exhausted: number;
  proofsSignedLive: number;
}

function signerOf(dpop: DpopLoad): DpopProofSigner {
  const id = dpop.privateJwk.d ?? '';
  let signer = signers.get(id);
  if (!signer) {
    signer = new DpopProofSigner(dpop.privateJwk);
    signers.set(id, signer);
  }
  return signer;
}

function hashOf(token: string): string {
  let hash = tokenHashes.get(token);
  if (hash === undefined) {
    hash = accessTokenHash(token);
    tokenHashes.set(token, hash);
  }
  return hash;
}

/** The token a bearer job presents on its `at`-th request (0-based), as `requestFor` cycles them. */
function bearerTokens(dynamic: Extract<LoadJob['dynamic'], { kind: 'bearer' }>): { pool: string[]; count: number } {
  const pool = pools[dynamic.pool] ?? [];
  return { pool, count: Math.min(dynamic.count ?? pool.length, pool.length) };
}

/** The proof for a DPoP job's `at`-th request. */
function proofFor(job: LoadJob, dpop: DpopLoad, at: number): string {
  const { dynamic } = job;
  if (dynamic?.kind === 'bearer') {
    const { pool, count } = bearerTokens(dynamic);
    return signerOf(dpop).proof({ htm: job.method, htu: job.url, ath: hashOf(pool[at % count]!) });
  }
  return signerOf(dpop).proof({ htm: job.method, htu: job.url });
}

/** Signs rate × duration proofs now, so the measured run only sends them. */
function prepare(job: LoadJob): Prepared {
  const dpop = job.dynamic?.kind === 'refresh' || job.dynamic?.kind === 'bearer' ? job.dynamic.dpop : undefined;
  if (!dpop) return { proofs: 0, cpuMs: 0 };
  const cpuBefore = process.cpuUsage();
  const count = Math.ceil(dpop.ratePerSec * job.durationSec);
  const proofs = Array.from({ length: count }, (_, at) => proofFor(job, dpop, at));
  preparedProofs.set(job.url, proofs);
  const cpu = process.cpuUsage(cpuBefore);
  return { proofs: count, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The `at`-th request's proof: a prepared one, or one signed now when they ran out. */
function takeProof(job: LoadJob, dpop: DpopLoad, prepared: string[], at: number, stats: JobStats): string {
  const proof = prepared[at];
  if (proof !== undefined) return proof;
  stats.proofsSignedLive++;
  return proofFor(job, dpop, at);
}

function requestFor(job: LoadJob, stats: JobStats): Request {
  const { dynamic } = job;
  if (dynamic === undefined) return {};
  const prepared = preparedProofs.get(job.url) ?? [];
  preparedProofs.delete(job.url);
  switch (dynamic.kind) {
    case 'refresh': {
      const pool = pools[dynamic.pool] ?? [];
      const first = cursors.get(dynamic.pool) ?? 0;
      return {
        setupRequest(request) {
          const at = cursors.get(dynamic.pool) ?? 0;
          cursors.set(dynamic.pool, at + 1);
          const token = pool[at];
          // Never resend a spent token (that would be a grace-window replay): ask with an unknown one instead.
          if (token === undefined) stats.exhausted++;
          const refreshToken = token ?? 'rt_pool_exhausted';
          if (dynamic.dpop) request.headers = { ...request.headers, dpop: takeProof(job, dynamic.dpop, prepared, at - first, stats) };
          request.body = dynamic.form
            ? new URLSearchParams({ ...dynamic.form, refresh_token: refreshToken }).toString()
            : JSON.stringify({ refresh_token: refreshToken });
          return request;
        },
      };
    }
    case 'bearer': {
      const { pool, count } = bearerTokens(dynamic);
      const { dpop } = dynamic;
      let at = 0;
      return {
        setupRequest(request) {
          const token = pool[at % count]!;
          request.headers = dpop
            ? { ...request.headers, authorization: `DPoP ${token}`, dpop: takeProof(job, dpop, prepared, at, stats) }
            : { ...request.headers, authorization: `Bearer ${token}` };
          at++;
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
  const stats: JobStats = { exhausted: 0, proofsSignedLive: 0 };
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
        ...(job.overallRate !== undefined ? { overallRate: Math.max(1, Math.round(job.overallRate)) } : {}),
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
          proofsSignedLive: stats.proofsSignedLive,
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
  if (message.type === 'prepare') {
    reply({ type: 'prepared', id: message.id, prepared: prepare(message.job) });
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
