/** Messages between bench/realtime.ts and its server child (bench/realtime-server.ts). */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export type RealtimeServerCommand =
  | { readonly type: 'sessions'; readonly id: number; readonly count: number; readonly userId: string }
  | { readonly type: 'memory'; readonly id: number }
  | { readonly type: 'fanout'; readonly id: number }
  | { readonly type: 'cpu'; readonly id: number }
  | { readonly type: 'stop'; readonly id: number };

export type RealtimeServerReply =
  | { readonly type: 'listening'; readonly id: 0; readonly url: string; readonly apiKey: string; readonly gc: boolean }
  | { readonly type: 'sessions'; readonly id: number; readonly tokens: string[] }
  | { readonly type: 'memory'; readonly id: number; readonly memory: MemorySample; readonly sockets: number }
  | { readonly type: 'fanout'; readonly id: number; readonly events: number; readonly ms: number }
  | { readonly type: 'cpu'; readonly id: number; readonly cpuMs: number }
  | { readonly type: 'stopped'; readonly id: number }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** The forked server, spoken to by request/answer. */
export class RealtimeServerChild {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: RealtimeServerReply) => void>();
  readonly listening: Promise<Extract<RealtimeServerReply, { type: 'listening' }>>;
  #nextId = 1;

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./realtime-server.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_CPU_PROF']] : [])],
    });
    this.listening = new Promise((resolve, reject) => {
      this.#pending.set(0, (reply) => (reply.type === 'listening' ? resolve(reply) : reject(new Error('server did not start'))));
      this.#child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    this.#child.on('message', (reply: RealtimeServerReply) => {
      const waiting = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      waiting?.(reply);
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  async ask<T extends RealtimeServerReply['type']>(command: Without<RealtimeServerCommand, 'id'>): Promise<Extract<RealtimeServerReply, { type: T }>> {
    const id = this.#nextId++;
    const reply = await new Promise<RealtimeServerReply>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ ...command, id });
    });
    if (reply.type === 'error') throw new Error(`realtime server: ${reply.message}`);
    return reply as Extract<RealtimeServerReply, { type: T }>;
  }
}
