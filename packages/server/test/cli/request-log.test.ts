// The request log never holds a credential a client put in the query string.
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, killAll, serve } from './harness.js';

afterAll(async () => {
  await killAll();
  cleanupDirs();
});

describe('the request log', () => {
  it('redacts an API key (or any token) sent in the query string, which is refused', async () => {
    const key = 'tsk_query_string_key_that_must_not_be_logged';
    const server = await serve(['--port', '0', '--host', '127.0.0.1', '--data', dataDir(), '--api-key', key, '--log-level', 'info']);
    const refused = await call(`${server.url}/v1/users/alice/sessions?api_key=${key}&access_token=eyJsecret.part.sig&status=all`);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('api_key_invalid');
    await server.waitFor(/"msg":"request completed"/);
    const log = server.stdout() + server.stderr();
    expect(log).toContain('/v1/users/alice/sessions?');
    expect(log).not.toContain(key);
    expect(log).not.toContain('eyJsecret');
    // What is not a credential stays readable.
    expect(log).toContain('status=all');
    expect(log).toContain('api_key=[redacted]');
  }, 30_000);
});
