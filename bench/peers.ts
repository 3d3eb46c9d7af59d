/**
 * `npm run bench -- --peers`: node-oidc-provider (bench/peer-oidc-provider.ts) under the same load as
 * Tessera, phase by phase: right after Tessera's refresh phase the same autocannon child sends the
 * peer its refresh_token grants (single-use tokens from a seeded pool, 32 connections, closed loop),
 * and right after Tessera's whoami phase its userinfo requests. A busy machine so weighs on both.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OidcProviderPeer, peerClientId } from './peer-protocol.js';
import type { LoadGenerator, LoadJob, LoadResult } from './protocol.js';
import type { Counters } from './servers.js';

/** The issue's goals: Tessera's refresh rate on each store as a multiple of the peer's (memory adapter). */
export const peerGoals = { sqlite: 2.5, postgres: 1.5 } as const;

/** What run.ts measures of one HTTP phase (its HttpFigure has these and more). */
export interface MeasuredPhase {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly load: LoadResult;
  /** CPU of the server process, percent of one core. */
  readonly serverCpuPercent: number;
  readonly othersCpuPercent: number;
  readonly server?: Counters;
}

/** Where a phase sends its load (run.ts's Servers). */
export interface PhaseServers {
  readonly urls: string[];
  readonly pids: number[];
  counters(): Promise<Counters>;
}

/** run.ts's warm-up + measured run; `countsRefreshes`: the rate is first uses of a token, as the server counted them. */
export type MeasurePhase = (
  label: string,
  servers: PhaseServers,
  job: (url: string) => Omit<LoadJob, 'durationSec' | 'connections'>,
  countsRefreshes: boolean,
) => Promise<MeasuredPhase>;

/** Tessera's phases the peers are set beside. */
export type ComparedPhase = 'refresh' | 'whoami';

export interface PeerOptions {
  readonly gen: LoadGenerator;
  /** Where the token pools file goes. */
  readonly dir: string;
  /** Single-use refresh tokens to seed (as many as Tessera's refresh phase gets). */
  readonly refreshPool: number;
  /** Access tokens for the whoami phase (as many as Tessera's). */
  readonly bearerTokens: number;
  readonly measure: MeasurePhase;
  readonly log: (message: string) => void;
}

const pools = { refresh: 'peer-oidc-provider-refresh', bearer: 'peer-oidc-provider-bearer' };

/** CPU milliseconds the server spent per answered request. */
const cpuMsPerRequest = (phase: MeasuredPhase) => (phase.rate > 0 ? (phase.serverCpuPercent * 10) / phase.rate : Number.NaN);

export class PeerComparison {
  readonly #peer: OidcProviderPeer;
  readonly #options: PeerOptions;
  readonly #measured = new Map<ComparedPhase, MeasuredPhase>();

  private constructor(peer: OidcProviderPeer, options: PeerOptions) {
    this.#peer = peer;
    this.#options = options;
  }

  /** Starts the peer, seeds it and hands its token pools to the load generator (beside Tessera's). */
  static async start(options: PeerOptions): Promise<PeerComparison> {
    const { log } = options;
    log(`oidc-provider: starting, seeding ${options.refreshPool} refresh + ${options.bearerTokens} userinfo sessions through its models`);
    const peer = await OidcProviderPeer.start();
    try {
      const { refreshTokens, accessTokens } = await peer.seed(options.refreshPool, options.bearerTokens);
      const file = join(options.dir, 'peer-pools.json');
      writeFileSync(file, JSON.stringify({ [pools.refresh]: refreshTokens, [pools.bearer]: accessTokens }));
      await options.gen.loadPools(file);
    } catch (error) {
      await peer.close();
      throw error;
    }
    return new PeerComparison(peer, options);
  }

  /** The peer's counterpart of the Tessera phase that just ran. */
  async after(phase: ComparedPhase): Promise<void> {
    const peer = this.#peer;
    const servers: PhaseServers = {
      urls: [peer.url],
      pids: [peer.pid],
      counters: async () => ({ refreshed: (await peer.counters()).refreshed, replayed: 0, created: 0 }),
    };
    const figure =
      phase === 'refresh'
        ? await this.#options.measure(
            'oidc-provider: POST /token (refresh_token grant)',
            servers,
            (url) => ({
              url: `${url}/token`,
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              dynamic: { kind: 'refresh', pool: pools.refresh, form: { grant_type: 'refresh_token', client_id: peerClientId } },
            }),
            true,
          )
        : await this.#options.measure(
            `oidc-provider: GET /me (userinfo), ${this.#options.bearerTokens} tokens`,
            servers,
            (url) => ({ url: `${url}/me`, method: 'GET', dynamic: { kind: 'bearer', pool: pools.bearer } }),
            false,
          );
    this.#measured.set(phase, figure);
  }

  /** The comparison table, the checks and the goal lines, for Tessera's one-node figures on `store`. */
  report(tessera: Record<ComparedPhase, MeasuredPhase>, store: 'sqlite' | 'postgres'): string {
    const refresh = this.#measured.get('refresh');
    const whoami = this.#measured.get('whoami');
    if (!refresh || !whoami) return 'Peers: not measured (the peer phases did not run).';
    const n0 = (value: number) => Math.round(value).toLocaleString('en-US');
    const times = (value: number) => `${value.toFixed(2)}x`;
    const cpu = (value: number) => `${value.toFixed(3)} ms`;
    const rows = [
      ['refresh/s', n0(tessera.refresh.rate), n0(refresh.rate), times(tessera.refresh.rate / refresh.rate)],
      [`whoami/s (${n0(this.#options.bearerTokens)} tokens)`, n0(tessera.whoami.rate), n0(whoami.rate), times(tessera.whoami.rate / whoami.rate)],
      [
        'server CPU per refresh (lower is better)',
        cpu(cpuMsPerRequest(tessera.refresh)),
        cpu(cpuMsPerRequest(refresh)),
        times(cpuMsPerRequest(tessera.refresh) / cpuMsPerRequest(refresh)),
      ],
      [
        'server CPU per whoami (lower is better)',
        cpu(cpuMsPerRequest(tessera.whoami)),
        cpu(cpuMsPerRequest(whoami)),
        times(cpuMsPerRequest(tessera.whoami) / cpuMsPerRequest(whoami)),
      ],
    ];
    const storeName = store === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    const lines = [
      `Peers (same autocannon child, same connections, phase by phase beside Tessera's; Tessera: one node on ${storeName}, in the bench process)`,
      table(['job', 'Tessera', 'oidc-provider (memory)', 'ratio (Tessera / peer)'], rows),
      '',
      'oidc-provider@9: its memory adapter and LRU store (sized above the working set), public browser client (token_endpoint_auth_method none), ' +
        'refresh_token grant with rotateRefreshToken: true, ES256 JWT access tokens (at+jwt) for one resource server; ' +
        'whoami = GET /me (userinfo) with opaque access tokens (a store lookup; it answers userinfo for no JWT), ' +
        "Tessera's = GET /v1/session with ES256 JWTs (each verified once, then kept).",
      `Latency p50/p99: refresh ${latency(tessera.refresh)} (Tessera) vs ${latency(refresh)} (peer); ` +
        `whoami ${latency(tessera.whoami)} vs ${latency(whoami)}. Other processes' CPU: refresh ${pct(refresh.othersCpuPercent)}, whoami ${pct(whoami.othersCpuPercent)} (peer phases).`,
      `Peer refresh check: rotations counted by the peer: ${n0(refresh.server?.refreshed ?? 0)}; 2xx: ${n0(refresh.load.ok)}; ` +
        `non-2xx: ${refresh.load.non2xx}; pool exhausted: ${refresh.load.exhausted > 0 ? `yes (${refresh.load.exhausted} requests)` : 'no'}`,
      ...[refresh, whoami]
        .filter((figure) => figure.load.non2xx > 0 || figure.load.errors > 0)
        .map((figure) => `Warning: a peer phase had ${figure.load.non2xx} non-2xx, ${figure.load.errors} errors: ${JSON.stringify(figure.load.statusCodes)}`),
      ...this.goals(tessera, store).map((goal) =>
        goal.ratio === undefined
          ? `Goal: refresh on ${goal.name} >= ${goal.target}x oidc-provider (memory): not measured (${goal.name === 'SQLite' ? 'run without --store' : 'run with --store postgres --peers'})`
          : `Goal: refresh on ${goal.name} >= ${goal.target}x oidc-provider (memory): ${times(goal.ratio)} ${goal.ratio >= goal.target ? 'PASS' : 'MISS'}`,
      ),
    ];
    return lines.join('\n');
  }

  /** One line per store; a ratio only for the store this run used. */
  goals(tessera: Record<ComparedPhase, MeasuredPhase>, store: 'sqlite' | 'postgres'): { name: string; target: number; ratio?: number; pass?: boolean }[] {
    const refresh = this.#measured.get('refresh');
    return (['sqlite', 'postgres'] as const).map((goalStore) => {
      const name = goalStore === 'sqlite' ? 'SQLite' : 'PostgreSQL';
      const target = peerGoals[goalStore];
      if (goalStore !== store || !refresh) return { name, target };
      const ratio = tessera.refresh.rate / refresh.rate;
      return { name, target, ratio, pass: ratio >= target };
    });
  }

  /** The peer's figures for the JSON results. */
  summary(tessera: Record<ComparedPhase, MeasuredPhase>, store: 'sqlite' | 'postgres'): unknown {
    const figures = Object.fromEntries(
      [...this.#measured].map(([phase, figure]) => [
        phase,
        {
          rate: figure.rate,
          p50Ms: figure.p50,
          p99Ms: figure.p99,
          serverCpuPercent: figure.serverCpuPercent,
          cpuMsPerRequest: cpuMsPerRequest(figure),
          load: figure.load,
        },
      ]),
    );
    return {
      name: 'oidc-provider (memory adapter)',
      whoamiEndpoint: 'GET /me (userinfo), opaque access tokens',
      refreshPool: this.#options.refreshPool,
      bearerTokens: this.#options.bearerTokens,
      ...figures,
      goals: this.goals(tessera, store),
    };
  }

  close(): Promise<void> {
    return this.#peer.close();
  }
}

const pct = (percent: number) => `${percent.toFixed(0)}%`;
/** autocannon records latency in whole milliseconds. */
const ms = (value: number) => (value < 1 ? '<1 ms' : `${Math.round(value)} ms`);
const latency = (phase: MeasuredPhase) => `${ms(phase.p50)}/${ms(phase.p99)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
