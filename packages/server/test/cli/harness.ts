import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/**
 * The CLI as users run it: the package's bin, which runs the bundled build (dist/cli/tessera.js).
 * Starting it from source through tsx cost ~2 s of CPU per process, the unbundled build ~1.4 s, the
 * bundle ~0.5 s, and these tests start about eighty; vitest's global setup (test/global-setup.ts)
 * brings dist/ and the bundle up to date before any test runs, so they are never stale.
 */
const cliEntry = join(repoRoot, 'packages/server/bin/tessera.js');

/** Settings a developer's shell might carry that would change what the CLI does. */
const inheritedSettings = ['PORT', 'HOST', 'LOG_LEVEL', 'LOG_REQUESTS', 'TESSERA_API_KEY', 'TESSERA_ISSUER', 'DATABASE_URL', 'REDIS_URL'];

export interface TesseraProcess {
  readonly process: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Exit code and signal, once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first match of `pattern` in stdout+stderr; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  hasExited(): boolean;
}

const running = new Set<TesseraProcess>();

/** Spawns the built `tessera ARGS…`; `env` adds to (or with undefined, removes from) a clean environment. */
export function spawnTessera(args: string[], env: Record<string, string | undefined> = {}): TesseraProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of inheritedSettings) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(process.execPath, [cliEntry, ...args], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let ended = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.on('close', (code, signal) => {
      ended = true;
      notify();
      resolveExit({ code, signal });
    });
  });
  const handle: TesseraProcess = {
    process: child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => ended,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolveMatch, reject) => {
        const check = () => {
          const match = (out + err).match(pattern);
          if (match) {
            done();
            resolveMatch(match);
          } else if (ended) {
            done();
            reject(new Error(`tessera exited before printing ${pattern}:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Kills every child these tests started that is still running, and waits for them to end. */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) if (!child.hasExited()) child.process.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
}

export interface ServeHandle extends TesseraProcess {
  /** The URL as printed. */
  readonly printedUrl: string;
  /** The printed URL on 127.0.0.1, for requests. */
  readonly url: string;
  /** The key printed on first start, if any. */
  readonly generatedKey: string | undefined;
}

/** Runs `tessera serve ARGS…` and waits (up to `timeoutMs`) until it has printed its welcome. */
export async function serve(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<ServeHandle> {
  const child = spawnTessera(['serve', ...args], env);
  const [, printedUrl] = (await child.waitFor(/Tessera is listening on (http:\/\/\S+)/, timeoutMs)) as unknown as [string, string];
  await child.waitFor(/Error codes are documented at/, timeoutMs);
  const key = child.stdout().match(/^\s+(tsk_[A-Za-z0-9_-]+)\s*$/m)?.[1];
  return Object.assign(child, {
    printedUrl,
    url: printedUrl.replace('//localhost:', '//127.0.0.1:'),
    generatedKey: key,
  });
}

/** Stops a process with SIGTERM, as a supervisor would, and waits until it has exited. */
export async function stop(child: TesseraProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!child.hasExited()) child.process.kill('SIGTERM');
  return child.exited;
}

/** Runs a one-shot `tessera ARGS…` to completion. */
export async function runTessera(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTessera(args, env);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** A fresh data folder; `cleanupDirs` removes them all. */
const dirs: string[] = [];
export function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  dirs.push(dir);
  return dir;
}
export function cleanupDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The payload of a JWT, unverified. */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The protected header of a JWT. */
export function jwtHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Retries `attempt` until it returns true or `timeoutMs` passes; returns the elapsed time or throws. */
export async function eventually(attempt: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await attempt()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolveWait) => setTimeout(resolveWait, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));
