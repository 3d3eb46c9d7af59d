/** Messages between the bench and the peer's child process (bench/peer-oidc-provider.ts), and the parent's handle on it. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The browser client, the resource server its access tokens are for, and the scope they carry. */
export const peerClientId = 'tessera-bench-browser';
export const peerResource = 'http://127.0.0.1/api';
export const peerScope = 'api';
export const peerIssuer = 'http://127.0.0.1';

export type PeerRequest =
  /** Seed `refresh` sessions with a refresh token each, and `bearer` sessions with an opaque userinfo access token each. */
  | { readonly type: 'seed'; readonly id: number; readonly refresh: number; readonly bearer: number }
  | { readonly type: 'counters'; readonly id: number }
  | { readonly type: 'exit' };

export type PeerAnswer =
  | { readonly type: 'listening'; readonly url: string }
  | { readonly type: 'seeded'; readonly id: number; readonly refreshTokens: string[]; readonly accessTokens: string[] }
  /** Successful refresh_token grants, and token requests the provider refused (reuse, unknown token). */
  | { readonly type: 'counters'; readonly id: number; readonly refreshed: number; readonly refused: number }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

type Answered = Exclude<PeerAnswer, { type: 'listening' }>;

/** node-oidc-provider in a child process, listening on loopback. */
/** How long the peer may take to listen before it is forked again. */
const startTimeoutMs = 30_000;

export class OidcProviderPeer {
  readonly url: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (answer: Answered) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  private constructor(child: ChildProcess, url: string) {
    this.#child = child;
    this.url = url;
    this.pid = child.pid!;
    child.on('message', (message: PeerAnswer) => {
      if (message.type === 'listening') return;
      const waiting = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (!waiting) return;
      if (message.type === 'error') waiting.reject(new Error(`oidc-provider peer: ${message.message}`));
      else waiting.resolve(message);
    });
    child.on('exit', (code) => {
      for (const waiting of this.#pending.values()) waiting.reject(new Error(`oidc-provider peer exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Forks the peer and resolves once it listens. */
  /**
   * Forks the peer and waits for it to listen. It starts in about two seconds; once (2026-12-03) a
   * child printed oidc-provider's start-up warning and then sat idle for 17 minutes without
   * listening, and the bench waited with it. A child silent for `startTimeoutMs` is killed and
   * forked again, once.
   */
  static async start(): Promise<OidcProviderPeer> {
    try {
      return await OidcProviderPeer.#fork();
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}; starting it again\n`);
      return OidcProviderPeer.#fork();
    }
  }

  static async #fork(): Promise<OidcProviderPeer> {
    // Explicit execArgv: a --cpu-prof on the parent profiles Tessera, not the peer.
    const child = fork(fileURLToPath(new URL('./peer-oidc-provider.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.on('message', (message: PeerAnswer) => {
          if (message.type === 'listening') resolve(message.url);
        });
        child.once('exit', (code) => reject(new Error(`oidc-provider peer exited before listening (${code})`)));
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`oidc-provider peer did not listen within ${startTimeoutMs / 1000} s`));
        }, startTimeoutMs);
      });
      return new OidcProviderPeer(child, url);
    } finally {
      clearTimeout(timer);
    }
  }

  async seed(refresh: number, bearer: number): Promise<{ refreshTokens: string[]; accessTokens: string[] }> {
    const answer = await this.#request({ type: 'seed', id: 0, refresh, bearer });
    if (answer.type !== 'seeded') throw new Error('oidc-provider peer: unexpected answer');
    return { refreshTokens: answer.refreshTokens, accessTokens: answer.accessTokens };
  }

  async counters(): Promise<{ refreshed: number; refused: number }> {
    const answer = await this.#request({ type: 'counters', id: 0 });
    if (answer.type !== 'counters') throw new Error('oidc-provider peer: unexpected answer');
    return { refreshed: answer.refreshed, refused: answer.refused };
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ type: 'exit' } satisfies PeerRequest);
    const timer = setTimeout(() => this.#child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }

  #request(message: Extract<PeerRequest, { id: number }>): Promise<Answered> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ ...message, id });
    });
  }
}
