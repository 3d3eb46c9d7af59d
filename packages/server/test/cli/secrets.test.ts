import { randomBytes } from 'node:crypto';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, killAll, runTessera, serve, stop } from './harness.js';
import { runInProcess } from './in-process.js';

// The tests have data folders of their own and run side by side.
afterAll(async () => {
  await killAll();
  cleanupDirs();
});

const key = 'tsk_secrets_key_0123456789abcdefghijklm';
// One issuer across restarts, so a token from before a restart still verifies.
const serveArgs = (data: string) => ['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key, '--issuer', 'http://tessera.secrets.test'];
const modeOf = (path: string) => statSync(path).mode & 0o777;

describe.concurrent('secrets on disk', () => {
  it('makes a new data folder 0700 and tessera.db, -wal and -shm 0600; narrows a world-readable tessera.db from before to 0600', async () => {
    const data = join(dataDir(), 'new-folder');
    const node = await serve(serveArgs(data));
    expect((await call(`${node.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key })).status).toBe(201);
    expect(modeOf(data)).toBe(0o700);
    for (const file of ['tessera.db', 'tessera.db-wal', 'tessera.db-shm']) expect([file, modeOf(join(data, file))]).toEqual([file, 0o600]);
    await stop(node);

    chmodSync(join(data, 'tessera.db'), 0o644);
    await stop(await serve(serveArgs(data)));
    expect(modeOf(join(data, 'tessera.db'))).toBe(0o600);
  });

  it('TESSERA_KEK seals them; a start without it or with another says so in one line, exit 2; reencrypt moves to a new KEK', async () => {
    const data = dataDir();
    const oldKek = randomBytes(32).toString('base64');
    const newKekFile = join(data, 'new.kek');
    writeFileSync(newKekFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });

    const sealed = await serve(serveArgs(data), { TESSERA_KEK: oldKek });
    const created = await call(`${sealed.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key });
    expect(created.status).toBe(201);
    await stop(sealed);

    // One real process for the refusal; the other keys, and the one-shot commands, in this process (in-process.ts).
    const refusals = [
      [runTessera, {}, /encrypted at rest; give its key-encryption key with TESSERA_KEK or --kek-file/],
      [runInProcess, { TESSERA_KEK: randomBytes(32).toString('base64') }, /does not hold/],
      [runInProcess, { TESSERA_KEK: 'hunter2' }, /TESSERA_KEK must hold 32 random bytes/],
    ] as const;
    for (const [run, env, message] of refusals) {
      const refused = await run(['serve', ...serveArgs(data)], env);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(message);
    }

    // A one-shot command that would add a key refuses too: never a plain key beside sealed ones.
    const rotated = await runInProcess(['keys', 'rotate', '--data', data]);
    expect(rotated.code, rotated.stderr).toBe(2);
    expect(rotated.stderr).toMatch(/^tessera: .*encrypted at rest/);
    // One that never signs does not need the KEK.
    expect((await runInProcess(['sessions', 'list', '--user', 'alice', '--data', data])).code).toBe(0);

    const reencrypted = await runTessera(['keys', 'reencrypt', '--data', data, '--kek-file', newKekFile], { TESSERA_PREVIOUS_KEK: oldKek });
    expect(reencrypted.code, reencrypted.stderr).toBe(0);
    expect(reencrypted.stdout).toContain('Sealed 1 signing key(s)');
    const renewed = await serve([...serveArgs(data), '--kek-file', newKekFile]);
    expect((await call(`${renewed.url}/v1/session`, { token: created.body.access_token })).status).toBe(200);
    expect((await call(`${renewed.url}/v1/sessions`, { body: { user_id: 'bob' }, token: key })).status).toBe(201);
  }, 90_000);
});
