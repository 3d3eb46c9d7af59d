/** Messages between bench/run.ts and the load-generator child (bench/loadgen.ts), and the parent's handle on it. */
import { type ChildProcess, fork } from 'node:child_process';
import type { JsonWebKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** How each request of a job differs from the last one. */
export type Dynamic =
  /**
   * POST a fresh refresh token from `pool` per request; each token is sent at most once. As JSON
   * (`{"refresh_token": …}`), or with `form` as an OAuth token request: those fields and `refresh_token`,
   * URL-encoded. With `dpop`, each request also carries a proof for POST and the job's URL.
   */
  | { readonly kind: 'refresh'; readonly pool: string; readonly form?: Record<string, string>; readonly dpop?: DpopLoad }
  /**
   * `Authorization: Bearer` cycling through the first `count` tokens of `pool`; with `dpop`,
   * `Authorization: DPoP` and a proof for GET, the job's URL and the token (`ath`).
   */
  | { readonly kind: 'bearer'; readonly pool: string; readonly count?: number; readonly dpop?: DpopLoad }
  /** POST /v1/sessions with a distinct user id per request. */
  | { readonly kind: 'create' };

/** Requests of a job carry DPoP proofs signed with this key, one per request (each its own jti). */
export interface DpopLoad {
  readonly privateJwk: JsonWebKey;
  /**
   * The rate expected: `prepare` signs rate × duration proofs before the job (each `iat` stays
   * within the server's 60 s); a request beyond them is signed inside `setupRequest`.
   */
  readonly ratePerSec: number;
}

export interface LoadJob {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly connections: number;
  readonly durationSec: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly dynamic?: Dynamic;
  /** Requests per second over all the job's connections (autocannon's `overallRate`); as fast as answered when absent. */
  readonly overallRate?: number;
}

export interface LoadResult {
  /** 2xx responses. */
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly durationSec: number;
  /** Latency percentiles, milliseconds. */
  readonly p50: number;
  readonly p99: number;
  /** Requests that found the token pool empty (sent with an unknown token instead). */
  readonly exhausted: number;
  readonly statusCodes: Record<string, number>;
  /** CPU the load generator itself used, percent of one core, and in milliseconds. */
  readonly cpuPercent: number;
  readonly cpuMs: number;
  /** DPoP jobs: proofs signed during the run because the prepared ones ran out. */
  readonly proofsSignedLive: number;
}

/** What `prepare` did: proofs signed ahead of a job, and the load generator's CPU for them. */
export interface Prepared {
  readonly proofs: number;
  readonly cpuMs: number;
}

export type ParentMessage =
  /** Token lists by name, added to those loaded before (a name loaded again is replaced and starts over). */
  | { readonly type: 'pools'; readonly id: number; readonly file: string }
  /** Work a job needs before it starts (DPoP proofs), kept apart from its measured run. */
  | { readonly type: 'prepare'; readonly id: number; readonly job: LoadJob }
  | { readonly type: 'run'; readonly id: number; readonly job: LoadJob }
  | { readonly type: 'exit' };

type ChildMessage =
  | { readonly type: 'ready'; readonly id: number }
  | { readonly type: 'result'; readonly id: number; readonly result: LoadResult }
  | { readonly type: 'prepared'; readonly id: number; readonly prepared: Prepared }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/** The forked load generator. */
export class LoadGenerator {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: ChildMessage) => void; reject: (error: Error) => void }>();
  readonly #started: Promise<void>;
  #nextId = 1;

  constructor() {
    // Explicit execArgv: a --cpu-prof on the parent profiles the server, not the load generator.
    this.#child = fork(fileURLToPath(new URL('./loadgen.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
    this.#started = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject });
    });
    this.#child.on('message', (message: ChildMessage) => {
      const waiting = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (!waiting) return;
      if (message.type === 'error') waiting.reject(new Error(`load generator: ${message.message}`));
      else waiting.resolve(message);
    });
    this.#child.on('exit', (code) => {
      for (const waiting of this.#pending.values()) waiting.reject(new Error(`load generator exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Resolves once the child has loaded autocannon, so its start-up does not overlap a measurement. */
  ready(): Promise<void> {
    return this.#started;
  }

  async loadPools(file: string): Promise<void> {
    await this.#request({ type: 'pools', id: 0, file });
  }

  /** Signs a DPoP job's proofs ahead of its `run` (the next run of the same URL uses them); nothing for other jobs. */
  async prepare(job: LoadJob): Promise<Prepared> {
    const answer = await this.#request({ type: 'prepare', id: 0, job });
    if (answer.type !== 'prepared') throw new Error('load generator: unexpected answer');
    return answer.prepared;
  }

  async run(job: LoadJob): Promise<LoadResult> {
    const answer = await this.#request({ type: 'run', id: 0, job });
    if (answer.type !== 'result') throw new Error('load generator: unexpected answer');
    return answer.result;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ type: 'exit' } satisfies ParentMessage);
    const timer = setTimeout(() => this.#child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }

  async #request(message: Extract<ParentMessage, { id: number }>): Promise<ChildMessage> {
    await this.#started;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ ...message, id });
    });
  }
}
