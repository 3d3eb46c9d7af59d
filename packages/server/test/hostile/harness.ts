/**
 * The hostile-input suite's harness: the real server as `tessera serve` starts it (in this process,
 * so `/proc/self/fd` counts its descriptors), on SQLite or on a fresh PostgreSQL database; a raw
 * HTTP client with a deadline (fetch would normalise what we want to send); the envelope check;
 * and the fixed-seed policy for fast-check.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Clock, Scheduler } from '../../src/core/clock.js';
import { errorCatalogue } from '../../src/core/error-catalogue.js';
import { type RunningServer, startServer } from '../../src/serve.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';

export type StoreKind = 'sqlite' | 'postgres';
export const storeKinds: readonly StoreKind[] = ['sqlite', 'postgres'];

/** At least 32 characters, as the contract asks of an operator's key. */
export const hostileApiKey = 'tsk_hostile_suite_key_0123456789abcdef';

/** Limits off: the fuzz comes from one address with one key, and must reach the handlers. */
export const limitsOffConfig = { rate_limits: { refresh_per_token: null, refresh_per_ip: null, management_per_key: null, sockets_per_ip: null } };

export interface HostileServer {
  readonly store: StoreKind;
  readonly running: RunningServer;
  readonly port: number;
  /** http://127.0.0.1:PORT, for fetch. */
  readonly url: string;
  readonly issuer: string;
  /** The key given, else the one generated on this start ('' when neither). */
  readonly apiKey: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** Stops the server (idempotent), then drops its data. */
  close(): Promise<void>;
}

export interface HostileServerOptions {
  /** A config-file object; rate limits off unless given. */
  readonly config?: unknown;
  /** The `--api-key`; null starts without one (the stored keys, or a generated one). */
  readonly apiKey?: string | null;
  /** Reuse a data folder / database (a restart); the caller then owns their cleanup. */
  readonly dataDir?: string;
  readonly databaseUrl?: string;
  /** The node's clock and timers; the system's unless given. */
  readonly clock?: Clock & Scheduler;
}

/** `startServer` exactly as the `serve` command calls it, on loopback, port 0. */
export async function startHostileServer(store: StoreKind, options: HostileServerOptions = {}): Promise<HostileServer> {
  const temp = options.dataDir ? undefined : tempDir();
  const dataDir = options.dataDir ?? temp!.dir;
  let database: TestDatabase | undefined;
  let databaseUrl = options.databaseUrl;
  if (store === 'postgres' && !databaseUrl) {
    database = await createTestDatabase();
    databaseUrl = database.url;
  }
  const apiKey = options.apiKey === undefined ? hostileApiKey : options.apiKey;
  let running: RunningServer;
  try {
    running = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      config: parseConfig(options.config ?? limitsOffConfig),
      ...(apiKey === null ? {} : { apiKey }),
      logLevel: 'silent',
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  } catch (error) {
    await database?.drop();
    temp?.cleanup();
    throw error;
  }
  // Every accepted connection, so a close that hangs on one (an unanswered upgrade) can be cut short.
  const accepted = new Set<Socket>();
  running.app.server.on('connection', (socket: Socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
  });
  const address = running.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closed: Promise<void> | undefined;
  return {
    store,
    running,
    port,
    url: `http://127.0.0.1:${port}`,
    issuer: running.tessera.issuer,
    apiKey: apiKey ?? running.generatedApiKey ?? '',
    dataDir,
    databaseUrl,
    close() {
      closed ??= (async () => {
        try {
          // Nothing is in flight when a suite ends: a close still waiting after 3 s waits on a stuck
          // connection, which is dropped so the suite ends (the descriptor checks report it).
          const closing = running.close();
          if ((await settledWithin(closing, 3_000)) === 'late') {
            for (const socket of accepted) socket.destroy();
            await settledWithin(closing, 15_000);
          }
          await closing;
        } finally {
          await database?.drop();
          temp?.cleanup();
        }
      })();
      return closed;
    },
  };
}

/** Whether `promise` settled within `ms`. */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<'settled' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    late,
  ]);
  clearTimeout(timer);
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over a socket, with a deadline.

export interface RawAnswer {
  /** `answered`: a whole response; `hang`: nothing whole before the deadline; `closed`: the server closed without a whole response. */
  readonly outcome: 'answered' | 'hang' | 'closed';
  readonly status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly body: any;
  /** Whatever arrived, for failure messages. */
  readonly raw: string;
  /** Interim (1xx) statuses seen before the final one. */
  readonly interim: number[];
  /** Whether the server closed the connection before our side did (within the deadline). */
  readonly closedByServer: boolean;
  readonly elapsedMs: number;
  /** The request was HEAD, so the answer has no body to check. */
  readonly head: boolean;
}

export interface RawOptions {
  /** Give up after this long. Default 3 s. */
  readonly deadlineMs?: number;
  /** The request was HEAD: a response has no body. */
  readonly head?: boolean;
  /** After a whole response, wait this long for the server to close the connection. Default 0. */
  readonly awaitCloseMs?: number;
  /** Bytes sent later, after `afterMs`. */
  readonly later?: { readonly afterMs: number; readonly bytes: Buffer };
}

/** Sends `bytes` as they are and reads one response (1xx skipped). */
export function rawRequest(port: number, bytes: Buffer | string, options: RawOptions = {}): Promise<RawAnswer> {
  const deadlineMs = options.deadlineMs ?? 3_000;
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    let settled = false;
    let parsed: ReturnType<typeof parseResponse> | undefined;
    let closedByServer = false;
    let closeWait: NodeJS.Timeout | undefined;
    let laterTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: RawAnswer['outcome']) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(closeWait);
      clearTimeout(laterTimer);
      socket.destroy();
      const answer = parsed ?? parseResponse(received, options.head ?? false, true);
      resolve({
        outcome: outcome === 'answered' || answer.complete ? 'answered' : outcome,
        status: answer.status,
        headers: answer.headers,
        text: answer.text,
        body: answer.body,
        raw: received.toString('latin1').slice(0, 2_000),
        interim: answer.interim,
        closedByServer,
        elapsedMs: performance.now() - started,
        head: options.head ?? false,
      });
    };
    const deadline = setTimeout(() => finish(parsed ? 'answered' : 'hang'), deadlineMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parsed) return;
      const attempt = parseResponse(received, options.head ?? false, false);
      if (!attempt.complete) return;
      parsed = attempt;
      if (!options.awaitCloseMs) return finish('answered');
      closeWait = setTimeout(() => finish('answered'), options.awaitCloseMs);
    });
    socket.on('close', () => {
      closedByServer = !settled;
      finish(parsed ? 'answered' : 'closed');
    });
    socket.on('error', () => {});
    socket.write(bytes);
    if (options.later) {
      const { afterMs, bytes: more } = options.later;
      laterTimer = setTimeout(() => socket.writable && socket.write(more), afterMs);
    }
  });
}

interface ParsedResponse {
  complete: boolean;
  status: number;
  headers: Record<string, string>;
  text: string;
  body: unknown;
  interim: number[];
}

/** One HTTP/1.1 response from `buffer`; `atEnd` means the connection ended (a body without length runs to it). */
function parseResponse(buffer: Buffer, head: boolean, atEnd: boolean): ParsedResponse {
  const interim: number[] = [];
  let offset = 0;
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n', offset);
    if (end < 0) return { complete: false, status: 0, headers: {}, text: '', body: undefined, interim };
    const lines = buffer.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      interim.push(status);
      offset = bodyStart;
      continue;
    }
    const done = (bytes: Buffer): ParsedResponse => {
      const text = bytes.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { complete: true, status, headers, text, body, interim };
    };
    if (head || status === 101 || status === 204 || status === 304) return done(Buffer.alloc(0));
    const length = headers['content-length'];
    if (length !== undefined) {
      const bytes = Number(length);
      if (buffer.length - bodyStart < bytes) return { complete: false, status, headers, text: '', body: undefined, interim };
      return done(buffer.subarray(bodyStart, bodyStart + bytes));
    }
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const chunks: Buffer[] = [];
      let at = bodyStart;
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return { complete: false, status, headers, text: '', body: undefined, interim };
        const size = Number.parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) return { complete: false, status, headers, text: '', body: undefined, interim };
        if (size === 0) return done(Buffer.concat(chunks));
        if (buffer.length < lineEnd + 2 + size + 2) return { complete: false, status, headers, text: '', body: undefined, interim };
        chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    if (atEnd) return done(buffer.subarray(bodyStart));
    return { complete: false, status, headers, text: '', body: undefined, interim };
  }
}

/**
 * Every response on one connection: `bytes` now, `later` after a pause (counted from when `later.after`
 * settles, if given), read until the server closes or `deadlineMs` passes; split at each status line
 * (the bodies are JSON, never one).
 */
export function rawConversation(
  port: number,
  bytes: Buffer,
  later: { afterMs: number; bytes: Buffer; after?: Promise<unknown> },
  deadlineMs: number,
): Promise<RawAnswer[]> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const started = performance.now();
    let received = Buffer.alloc(0);
    let closedByServer = false;
    let finished = false;
    let laterTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      finished = true;
      clearTimeout(deadline);
      clearTimeout(laterTimer);
      socket.destroy();
      const text = received.toString('latin1');
      const parts = text.split(/(?=HTTP\/1\.1 \d{3} )/).filter((part) => part.length > 0);
      resolve(
        parts.map((part, index) => {
          const answer = parseResponse(Buffer.from(part, 'latin1'), false, true);
          return {
            outcome: answer.complete ? 'answered' : 'closed',
            status: answer.status,
            headers: answer.headers,
            text: answer.text,
            body: answer.body,
            raw: part.slice(0, 2_000),
            interim: answer.interim,
            closedByServer: index === parts.length - 1 && closedByServer,
            elapsedMs: performance.now() - started,
            head: false,
          } satisfies RawAnswer;
        }),
      );
    };
    const deadline = setTimeout(finish, deadlineMs);
    void Promise.resolve(later.after).then(() => {
      if (!finished) laterTimer = setTimeout(() => socket.writable && socket.write(later.bytes), later.afterMs);
    });
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
    socket.on('error', () => {});
    socket.write(bytes);
  });
}

/** A request's bytes: request line, headers in order (repeats allowed), blank line, body. */
export function requestBytes(method: string, target: string, headers: readonly (readonly [string, string])[], body: Buffer | string = ''): Buffer {
  const head = [`${method} ${target} HTTP/1.1`, ...headers.map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

// ---------------------------------------------------------------------------------------------
// What every answer must be.

const envelopeKeys = ['details', 'doc_url', 'error', 'message', 'request_id', 'retry_after', 'success', 'timestamp'];
const oauthEnvelopeKeys = [...envelopeKeys, 'error_description', 'tessera_error'].sort();
const oauthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
  'unsupported_token_type',
  'temporarily_unavailable',
  'server_error',
  'invalid_dpop_proof',
  'use_dpop_nonce',
];

/** Why `answer` breaks the contract, or undefined: answered in time, no 5xx, every error the envelope. */
export function contractProblem(answer: RawAnswer, options: { allow5xx?: boolean } = {}): string | undefined {
  const shown = `\n--- received ---\n${answer.raw.slice(0, 600)}`;
  if (answer.outcome === 'hang') return `no answer within ${Math.round(answer.elapsedMs)} ms (socket still open)${shown}`;
  if (answer.outcome === 'closed') return `connection closed without an answer${shown}`;
  if (answer.status >= 500 && !options.allow5xx) return `status ${answer.status}${shown}`;
  if (answer.status < 400) return undefined;
  if (!/^application\/json/.test(answer.headers['content-type'] ?? ''))
    return `error answer is not JSON (content-type ${answer.headers['content-type'] ?? 'none'})${shown}`;
  if (answer.head) return undefined;
  const body = answer.body as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `error body is not an object${shown}`;
  const keys = Object.keys(body).sort();
  // The OAuth endpoints answer RFC 6749 §5.2: `error` is the OAuth code, `tessera_error` the catalogue's.
  const oauth = 'tessera_error' in body;
  const expectedKeys = oauth ? oauthEnvelopeKeys : envelopeKeys;
  if (keys.join() !== expectedKeys.join()) return `envelope keys are ${keys.join(',')}${shown}`;
  const code = oauth ? body['tessera_error'] : body['error'];
  const entry = typeof code === 'string' && Object.hasOwn(errorCatalogue, code) ? errorCatalogue[code as keyof typeof errorCatalogue] : undefined;
  if (!entry) return `error ${String(code)} is not in the catalogue${shown}`;
  if (oauth) {
    if (!oauthErrorCodes.includes(String(body['error']))) return `OAuth error ${String(body['error'])} is not one of RFC 6749/7009/7662${shown}`;
  } else if (entry.status !== answer.status) {
    return `error ${String(code)} sent with ${answer.status}, catalogue says ${entry.status}${shown}`;
  }
  if (body['success'] !== false) return `success is ${String(body['success'])}${shown}`;
  if (!Array.isArray(body['details'])) return `details is not an array${shown}`;
  if (typeof body['request_id'] !== 'string' || body['request_id'] !== answer.headers['x-request-id'])
    return `request_id ${String(body['request_id'])} differs from X-Request-Id ${answer.headers['x-request-id']}${shown}`;
  if (typeof body['doc_url'] !== 'string' || !body['doc_url'].endsWith(`/docs/errors/${String(code)}`)) return `doc_url ${String(body['doc_url'])}${shown}`;
  if (/\bat .+\.(ts|js):\d+|node_modules/.test(answer.text)) return `stack trace in the body${shown}`;
  return undefined;
}

/** Fails the test (and so the property) with the request that broke the contract. */
export function expectContract(answer: RawAnswer, request: Buffer | string, options: { allow5xx?: boolean } = {}): void {
  const problem = contractProblem(answer, options);
  if (problem !== undefined) {
    const sent = (typeof request === 'string' ? request : request.toString('latin1')).slice(0, 800);
    throw new Error(`${problem}\n--- sent ---\n${JSON.stringify(sent)}`);
  }
}

/** The answer is this code's envelope. */
export function expectEnvelopeCode(answer: RawAnswer, code: keyof typeof errorCatalogue, request: Buffer | string = ''): void {
  expectContract(answer, request, { allow5xx: errorCatalogue[code].status >= 500 });
  expect(answer.body?.error, answer.raw.slice(0, 400)).toBe(code);
}

// ---------------------------------------------------------------------------------------------
// Descriptors: the server's, counted from /proc, and back to baseline after a run.

interface TcpEntry {
  readonly localPort: number;
  readonly remotePort: number;
  readonly state: string;
}

const tcpStates: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

function tcpTable(pid: number | 'self'): Map<string, TcpEntry> {
  const table = new Map<string, TcpEntry>();
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = (address: string) => Number.parseInt(address.split(':')[1] ?? '0', 16);
      table.set(fields[9]!, { localPort: port(fields[1]!), remotePort: port(fields[2]!), state: tcpStates[fields[3]!] ?? fields[3]! });
    }
  }
  return table;
}

/** Ports of the services the store and fan-out talk to: their pooled connections come and go on their own. */
const servicePorts = new Set([5432, 6379]);

export interface DescriptorCount {
  /** Open descriptors, less pooled database and Redis connections. */
  readonly count: number;
  /** Connections accepted on the server's port still open, with their TCP states. */
  readonly serverSide: readonly string[];
  /** What each counted descriptor is, for a failure message. */
  readonly described: readonly string[];
}

/** The descriptors of `pid` (default this process), on Linux. */
export function countDescriptors(serverPort: number, pid: number | 'self' = 'self'): DescriptorCount {
  const tcp = tcpTable(pid);
  const described: string[] = [];
  const serverSide: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while listing (readdir's own descriptor, among others)
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const entry = inode ? tcp.get(inode) : undefined;
    if (entry && servicePorts.has(entry.remotePort)) continue;
    if (entry && entry.localPort === serverPort && entry.state !== 'LISTEN') serverSide.push(`${entry.state} from :${entry.remotePort}`);
    described.push(entry ? `${fd} tcp :${entry.localPort}->:${entry.remotePort} ${entry.state}` : `${fd} ${target}`);
  }
  return { count: described.length, serverSide, described };
}

/**
 * Waits (up to `withinMs`) until the descriptors are no more than at `baseline` and no accepted
 * connection is left; otherwise fails listing what is still open.
 */
export async function expectDescriptorsBackToBaseline(
  baseline: DescriptorCount,
  serverPort: number,
  withinMs = 3_000,
  pid: number | 'self' = 'self',
): Promise<void> {
  const until = Date.now() + withinMs;
  let now = countDescriptors(serverPort, pid);
  while ((now.count > baseline.count || now.serverSide.length > 0) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    now = countDescriptors(serverPort, pid);
  }
  if (now.count > baseline.count || now.serverSide.length > 0) {
    const extra = now.described.filter((line) => !baseline.described.includes(line));
    throw new Error(
      `descriptors not back to baseline after ${withinMs} ms: ${now.count} open, baseline ${baseline.count}; ` +
        `server-side connections still open: ${now.serverSide.length} (${[...new Set(now.serverSide.map((s) => s.split(' ')[0]))].join(', ')})\n` +
        `new since baseline (first 20):\n  ${extra.slice(0, 20).join('\n  ')}`,
    );
  }
}

/** The server still answers `/healthz` (the process, and its event loop, are alive). */
export async function expectAlive(server: HostileServer): Promise<void> {
  expect(server.running.app.server.listening).toBe(true);
  const health = await rawRequest(
    server.port,
    requestBytes('GET', '/healthz', [
      ['Host', '127.0.0.1'],
      ['Connection', 'close'],
    ]),
  );
  expect(health.outcome, health.raw).toBe('answered');
  expect(health.status, health.raw).toBe(200);
}

// ---------------------------------------------------------------------------------------------
// fast-check: a fixed seed unless HOSTILE_SEED says otherwise, printed on failure.

/**
 * The seed: `HOSTILE_SEED=<integer>` to replay a failure, `HOSTILE_SEED=random` to explore; by default
 * fixed, so CI runs the same inputs every time. `HOSTILE_RUNS=<factor>` multiplies every run count.
 */
export function hostileSeed(): number {
  const chosen = process.env['HOSTILE_SEED'];
  if (chosen === 'random') return Math.floor(Math.random() * 0x7fffffff);
  if (chosen !== undefined && /^-?\d+$/.test(chosen)) return Number(chosen);
  return 20261201;
}

const runFactor = Number(process.env['HOSTILE_RUNS'] ?? '1') || 1;

/**
 * Runs `predicate` on values of `arbitrary` with the suite's seed; a failure names the seed and how
 * to replay it. Shrinking stops `shrinkBudgetMs` after the first failure: a hang costs a deadline per try.
 */
export async function checkProperty<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  numRuns: number,
  shrinkBudgetMs = 8_000,
): Promise<void> {
  const seed = hostileSeed();
  let firstFailure: number | undefined;
  const property = fc.asyncProperty(arbitrary, async (value) => {
    // Past the budget every further shrink counts as passing, so the smallest failure so far is reported.
    if (firstFailure !== undefined && Date.now() - firstFailure > shrinkBudgetMs) return;
    try {
      await predicate(value);
    } catch (error) {
      firstFailure ??= Date.now();
      throw error;
    }
  });
  const details = await fc.check(property, { seed, numRuns: Math.max(1, Math.round(numRuns * runFactor)) });
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `property "${name}" failed after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s); seed ${details.seed}, ` +
        `replay with HOSTILE_SEED=${details.seed}\ncounterexample: ${fc.stringify(details.counterexample).slice(0, 1_500)}\n${error}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// One server per store and test file, with a session to hold tokens and a descriptor baseline.

export interface HostileFixture {
  readonly server: HostileServer;
  /** A genuine session's tokens, as `POST /v1/sessions` answered. */
  readonly session: { id: string; accessToken: string; refreshToken: string };
  /** Descriptors once the server had answered its first requests on every store path. */
  readonly baseline: DescriptorCount;
}

/** POST /v1/sessions over the raw client; the answer's body. */
export async function createSessionRaw(server: HostileServer, userId = 'hostile-user'): Promise<any> {
  const body = JSON.stringify({ user_id: userId });
  const answer = await rawRequest(
    server.port,
    requestBytes(
      'POST',
      '/v1/sessions',
      [
        ['Host', '127.0.0.1'],
        ['Authorization', `Bearer ${server.apiKey}`],
        ['Content-Type', 'application/json'],
        ['Content-Length', String(Buffer.byteLength(body))],
      ],
      body,
    ),
  );
  if (answer.status !== 201) throw new Error(`could not create a session: ${answer.raw}`);
  return answer.body;
}

/** Starts the fixture for a `describe` on `store`: beforeAll starts it (and warms it up), afterAll stops it. */
export function hostileFixture(
  store: StoreKind,
  beforeAllHook: (fn: () => Promise<void>, timeout?: number) => void,
  afterAllHook: (fn: () => Promise<void>, timeout?: number) => void,
  options: HostileServerOptions = {},
): () => HostileFixture {
  let fixture: HostileFixture | undefined;
  beforeAllHook(async () => {
    const server = await startHostileServer(store, options);
    const created = await createSessionRaw(server);
    // Warm-up: every store path once, so lazily opened files and pooled connections are in the baseline.
    const refresh = JSON.stringify({ refresh_token: created.refresh_token });
    const refreshed = await rawRequest(
      server.port,
      requestBytes(
        'POST',
        '/v1/token/refresh',
        [
          ['Host', '127.0.0.1'],
          ['Content-Type', 'application/json'],
          ['Content-Length', String(Buffer.byteLength(refresh))],
        ],
        refresh,
      ),
    );
    await rawRequest(
      server.port,
      requestBytes('GET', `/v1/users/hostile-user/sessions`, [
        ['Host', '127.0.0.1'],
        ['Authorization', `Bearer ${server.apiKey}`],
      ]),
    );
    await rawRequest(server.port, requestBytes('GET', '/docs/errors/not_found', [['Host', '127.0.0.1']]));
    await rawRequest(server.port, requestBytes('GET', '/admin', [['Host', '127.0.0.1']]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    fixture = {
      server,
      session: { id: created.session.id, accessToken: refreshed.body.access_token, refreshToken: refreshed.body.refresh_token },
      baseline: countDescriptors(server.port),
    };
  }, 30_000);
  afterAllHook(async () => {
    await fixture?.server.close();
  }, 30_000);
  return () => {
    if (!fixture) throw new Error('the hostile server did not start');
    return fixture;
  };
}

/**
 * The last test of a hostile `describe`: the process still answers and its descriptors are back to
 * the fixture's baseline (no connection left half-closed).
 */
export function itLeavesNothingBehind(fixture: () => HostileFixture, itHook: (name: string, fn: () => Promise<void>, timeout?: number) => void): void {
  itHook(
    'afterwards: the process answers and its descriptors are back to baseline (no CLOSE_WAIT left)',
    async () => {
      const { server, baseline } = fixture();
      await expectAlive(server);
      await expectDescriptorsBackToBaseline(baseline, server.port);
    },
    20_000,
  );
}
