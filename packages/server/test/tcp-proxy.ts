import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a real server (PostgreSQL, Redis), so a test can take the
 * server away from one client without stopping it for everyone: `cut()` drops every connection and
 * refuses new ones, `freeze()` keeps connections open but passes nothing on, `restore()` heals.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #server: Server | undefined;
  #mode: 'open' | 'cut' | 'frozen' = 'open';
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<number> {
    this.#server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /** Drops every connection; new ones are refused (reset) until `restore()`. */
  cut(): void {
    this.#mode = 'cut';
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** Stops passing bytes either way; connections stay open and silent. */
  freeze(): void {
    this.#mode = 'frozen';
    for (const pair of this.#pairs) this.#stopPassing(pair);
  }

  restore(): void {
    const wasFrozen = this.#mode === 'frozen';
    this.#mode = 'open';
    if (!wasFrozen) return;
    for (const pair of this.#pairs) this.#pass(pair);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #pass(pair: { client: Socket; upstream: Socket }): void {
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  }

  // Unpiped, not just paused: a pipe resumes its source when the destination drains.
  #stopPassing(pair: { client: Socket; upstream: Socket }): void {
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
  }

  #accept(client: Socket): void {
    if (this.#mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    if (this.#mode === 'frozen') this.#stopPassing(pair);
    else this.#pass(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }
}
