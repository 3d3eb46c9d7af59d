import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { parseConfig } from '../src/config.js';
import type { Clock, Scheduler } from '../src/core/clock.js';
import { ManualClock } from '../src/core/clock.js';
import type { SessionRecord } from '../src/core/session.js';
import type { RefreshTokenRecord } from '../src/core/store.js';
import { buildApp } from '../src/http/app.js';
import { SqliteSessionStore } from '../src/stores/sqlite.js';
import { createTessera, type Tessera } from '../src/tessera.js';

export const testApiKey = 'tsk_test_key_for_the_suite_0123456789';

/** A fresh folder for a real SQLite file, removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A session as a store holds it: alice's, made at `createdAt`, ending an hour later, never refreshed;
 * `overrides` changes what a test needs otherwise.
 */
export function storedSession(id: string, createdAt: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    userId: 'alice',
    flow: 'default',
    createdAt,
    lastRefreshedAt: null,
    expiresAt: createdAt + 3_600_000,
    idleExpiresAt: null,
    revokedAt: null,
    revokedReason: null,
    metadata: {},
    device: null,
    refreshCount: 0,
    dpopJkt: null,
    version: 1,
    ...overrides,
  };
}

/** A live refresh token of `sessionId` issued at `issuedAt`, stored under `hash` (random unless given). */
export function liveRefreshToken(sessionId: string, issuedAt: number, hash = randomBytes(32).toString('base64url')): RefreshTokenRecord {
  return { hash, sessionId, issuedAt, spentAt: null, sealedSuccessor: null };
}

export interface TestTessera {
  tessera: Tessera;
  clock: ManualClock;
  store: SqliteSessionStore;
  dir: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** A config-file object. */
  config?: unknown;
  clock?: Clock;
  /** Where the node's timers run; the system's unless given (pass the `ManualClock` to move them with it). */
  scheduler?: Scheduler;
  dir?: string;
  /** A Redis client for the node (the test closes it). */
  redis?: Redis;
}

/** The core on a real SQLite file, with a clock the test moves. `config` is a config-file object. */
export async function startCore(options: StartOptions = {}): Promise<TestTessera> {
  const temp = options.dir ? { dir: options.dir, cleanup: () => {} } : tempDir();
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
  const store = new SqliteSessionStore(join(temp.dir, 'tessera.db'));
  const tessera = await createTessera({
    store,
    clock,
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    config: parseConfig(options.config ?? {}),
    apiKey: testApiKey,
    issuer: 'http://tessera.test',
    redis: options.redis,
  });
  return {
    tessera,
    clock,
    store,
    dir: temp.dir,
    async close() {
      await tessera.close();
      temp.cleanup();
    },
  };
}

export interface TestServer extends TestTessera {
  app: FastifyInstance;
  /** Base URL of the real listening socket, e.g. http://127.0.0.1:39211 */
  url: string;
}

/** The whole HTTP server on a real loopback socket (random port), over a real SQLite file. */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const core = await startCore(options);
  const app = await buildApp(core.tessera);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    ...core,
    app,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await core.close();
    },
  };
}

/** What a test sees of a response: status, headers, the text, and the body parsed when it is JSON. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** A raw request over real HTTP that gives up after 10 s, so a hang fails the test instead of stalling it. */
export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> } = {},
): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** JSON request helper over real HTTP: `body` is sent as JSON, `token` as a bearer credential. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  return send(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }) });
}
