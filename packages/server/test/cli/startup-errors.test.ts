// The real CLI, spawned: a start that cannot work (a bad value, a damaged store, a database or role
// that is not there) says why in one line on stderr and exits 2, never with a stack trace. Each case has
// a data folder of its own, so they run side by side. A real process for each way of failing (commander's
// own refusal, a config, a store, the core); the other cases of each way run in this process
// (in-process.ts), through the same program and the same explanations.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { createTestDatabase, type TestDatabase } from '../services.js';
import { cleanupDirs, dataDir, killAll, runTessera, serve } from './harness.js';
import { runInProcess } from './in-process.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await killAll();
  cleanupDirs();
  await database?.drop();
});

const loopback = ['--port', '0', '--host', '127.0.0.1'];
/** A spawn of the CLI takes seconds on a busy machine, more with the others of this file beside it. */
const slowSpawn = 60_000;

/** Exit code 2, the reason on stderr, no stack trace, and no server. */
function expectRefusal(result: { code: number | null; stdout: string; stderr: string }, reason: RegExp | string, options: { oneLine?: boolean } = {}): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).not.toContain('Tessera is listening');
  expect(result.stderr).not.toMatch(/\n\s+at |node:internal|\.ts:\d+/);
  if (typeof reason === 'string') expect(result.stderr).toContain(reason);
  else expect(result.stderr).toMatch(reason);
  if (options.oneLine ?? true) expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
}

async function serveWithConfig(config: unknown) {
  const data = dataDir();
  const path = join(data, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return runInProcess(['serve', ...loopback, '--data', data, '--config', path]);
}

describe.concurrent('a config that cannot work stops the start: exit 2, the key named', () => {
  it.each([
    ['trust_proxy: ["not-an-ip"]', { trust_proxy: ['not-an-ip'] }, 'trust_proxy.0: not-an-ip is not an IP address'],
    ['issuer: javascript:alert(1)', { issuer: 'javascript:alert(1)' }, 'issuer: must be an http(s) URL'],
    ['cors.max_age: 1e300', { cors: { origins: [], max_age: 1e300 } }, 'cors.max_age: must be at most 86400 (1 day)'],
    [
      'absolute_lifetime: 8.7e12',
      { flows: { default: { absolute_lifetime: 8.7e12 } } },
      'flows.default.absolute_lifetime: must be at most 315360000 (10 years)',
    ],
    ['reuse_interval: 1e12', { flows: { default: { reuse_interval: 1e12 } } }, 'flows.default.reuse_interval: must be at most 3600 (1 hour)'],
  ])('%s', async (_name, config, reason) => {
    expectRefusal(await serveWithConfig(config), reason, { oneLine: false });
  });
});

describe.concurrent('flags and environment that cannot work: one line, exit 2', () => {
  it(
    '--issuer and TESSERA_ISSUER must be absolute http(s) URLs',
    async () => {
      expectRefusal(await runTessera(['serve', ...loopback, '--data', dataDir(), '--issuer', 'javascript:alert(1)']), /--issuer.*must be an http\(s\) URL/);
      expectRefusal(
        await runInProcess(['serve', ...loopback, '--data', dataDir()], { TESSERA_ISSUER: 'https://auth.example/?x=1' }),
        /issuer.*must have no query or fragment/,
      );
    },
    slowSpawn,
  );

  it(
    '--log-level and LOG_LEVEL must be a level, --log-requests and LOG_REQUESTS a mode',
    async () => {
      expectRefusal(await runInProcess(['serve', ...loopback, '--data', dataDir(), '--log-level', 'loud']), /loud.*not a log level.*info/);
      expectRefusal(await runInProcess(['serve', ...loopback, '--data', dataDir()], { LOG_LEVEL: 'LOUD' }), /LOUD.*not a log level/);
      expectRefusal(
        await runInProcess(['serve', ...loopback, '--data', dataDir(), '--log-requests', 'some']),
        /some.*not a request logging mode.*all, failures, none/,
      );
      expectRefusal(await runInProcess(['serve', ...loopback, '--data', dataDir()], { LOG_REQUESTS: 'ALL' }), /ALL.*not a request logging mode/);
    },
    slowSpawn,
  );

  it('a valid --issuer and --log-level still start', async () => {
    const server = await serve([...loopback, '--data', dataDir(), '--issuer', 'https://auth.example.test/tenant', '--log-level', 'warn']);
    expect(server.hasExited()).toBe(false);
  });
});

describe.concurrent('stores that cannot be opened: one line, exit 2', () => {
  it(
    'a damaged SQLite file, for serve and for the one-shot commands',
    async () => {
      const data = dataDir();
      writeFileSync(join(data, 'tessera.db'), 'this is not a database, just some text that was written over it '.repeat(100));
      const served = await runTessera(['serve', ...loopback, '--data', data]);
      expectRefusal(served, /tessera\.db.*(not a database|damaged)/);
      expectRefusal(await runInProcess(['sessions', 'list', '--user', 'alice', '--data', data]), /tessera\.db.*(not a database|damaged)/);
    },
    slowSpawn,
  );

  it('a PostgreSQL database that does not exist', async () => {
    const url = new URL(database.url);
    url.pathname = '/tessera_cli_no_such_database';
    expectRefusal(
      await runTessera(['serve', ...loopback, '--data', dataDir(), '--database-url', url.toString()]),
      /database "tessera_cli_no_such_database" does not exist/,
    );
  });

  it('a PostgreSQL role that does not exist', async () => {
    const url = new URL(database.url);
    url.username = 'tessera_cli_no_such_role';
    expectRefusal(
      await runInProcess(['sessions', 'list', '--user', 'alice', '--data', dataDir(), '--database-url', url.toString()]),
      /role "tessera_cli_no_such_role" does not exist/,
    );
  });
});

describe.concurrent('a --data folder that holds no store', () => {
  it.each([
    ['sessions', 'list', '--user', 'alice'],
    ['sessions', 'revoke', '--user', 'alice'],
    ['keys', 'rotate'],
    ['api-keys', 'list'],
    ['api-keys', 'create', '--name', 'backend'],
    ['audit'],
    ['purge'],
  ])('%s %s: refused, and no store is made there', async (...command) => {
    const data = join(dataDir(), 'mistyped');
    expectRefusal(await runInProcess([...command, '--data', data]), `${data} holds no Tessera store`);
    expect(existsSync(data)).toBe(false);
  });

  it(
    'refused by the real process too, exit 2',
    async () => {
      const data = join(dataDir(), 'mistyped');
      expectRefusal(await runTessera(['sessions', 'list', '--user', 'alice', '--data', data]), 'holds no Tessera store');
      expect(existsSync(data)).toBe(false);
    },
    slowSpawn,
  );
});

describe('--version', () => {
  it(
    "prints @tessera/server's version and exits 0",
    async () => {
      const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      expect(version).toMatch(/^\d+\.\d+\.\d+/);
      const result = await runTessera(['--version']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(version);
      expect((await runInProcess(['-V'])).stdout.trim()).toBe(version);
    },
    slowSpawn,
  );
});

describe.concurrent('values the core refuses, from the one-shot commands: one line, exit 2', () => {
  it(
    'a user id that is not one',
    async () => {
      const data = dataDir();
      // The store made here: the one-shot commands may refuse a folder without one.
      await new SqliteSessionStore(join(data, 'tessera.db')).close();
      expectRefusal(await runTessera(['sessions', 'list', '--user', '..', '--data', data]), /user id must not be "\." or "\.\."/);
      expectRefusal(await runInProcess(['sessions', 'revoke', '--user', 'x'.repeat(257), '--data', data]), /user id must be at most 256 characters/);
    },
    slowSpawn,
  );
});
