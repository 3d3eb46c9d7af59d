// The `webhooks` and `webhook_delivery` keys of the config file: what is accepted, the endpoint ids
// every node derives alike, and one clear line for each mistake.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { auditEventTypes } from '../../src/core/journal.js';
import { defaultWebhookDelivererSettings } from '../../src/core/webhook-deliverer.js';
import { cleanupDirs, dataDir } from '../cli/harness.js';
import { runInProcess } from '../cli/in-process.js';

afterAll(() => cleanupDirs());

const secret = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

function problemsOf(input: unknown): string {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('webhooks in the config file', () => {
  it('parses endpoints with ids derived from their URLs, the same on every parse', () => {
    const input = {
      webhooks: [
        { url: 'https://app.example/hooks/tessera', events: ['session.revoked', 'session.reuse_detected'], secret: secret(32) },
        { url: 'http://10.0.0.5:8080/all', events: ['*'], secret: secret(24) },
      ],
    };
    const config = parseConfig(input);
    expect(config.webhooks.map((endpoint) => endpoint.id)).toEqual(parseConfig(structuredClone(input)).webhooks.map((endpoint) => endpoint.id));
    expect(config.webhooks[0]).toEqual({ ...input.webhooks[0], id: expect.stringMatching(/^wh_[0-9a-f]{16}$/) });
    expect(config.webhooks[1]!.events).toEqual([...auditEventTypes]);
    expect(config.webhooks[0]!.id).not.toBe(config.webhooks[1]!.id);
    expect(config.webhookDelivery).toEqual(defaultWebhookDelivererSettings);
    expect(parseConfig({}).webhooks).toEqual([]);
  });

  it('takes delivery settings in seconds', () => {
    expect(parseConfig({ webhook_delivery: { timeout: 1.5, lease: 4, poll_interval: 0.25, concurrency: 2 } }).webhookDelivery).toEqual({
      timeoutMs: 1_500,
      leaseMs: 4_000,
      pollIntervalMs: 250,
      concurrency: 2,
    });
  });

  it('refuses each mistake with a line that names it', () => {
    const good = { url: 'https://app.example/hooks', events: ['session.revoked'], secret: secret(32) };
    const cases: [unknown, RegExp][] = [
      [{ webhooks: [{ ...good, url: 'not a url' }] }, /webhooks\.0\.url: not a url is not an absolute URL/],
      [{ webhooks: [{ ...good, url: 'ftp://app.example/x' }] }, /webhooks\.0\.url: must be an http\(s\) URL/],
      [{ webhooks: [{ ...good, url: 'https://user:pw@app.example/x' }] }, /webhooks\.0\.url: must have no user name or password/],
      [
        { webhooks: [{ ...good, events: ['session.created', 'session.ended'] }] },
        /webhooks\.0\.events\.1: session\.ended is not an event type; use session\.created, .* or \*/,
      ],
      [{ webhooks: [{ ...good, events: [] }] }, /webhooks\.0\.events: /],
      [{ webhooks: [{ ...good, secret: 'hunter2' }] }, /webhooks\.0\.secret: must be whsec_ and the base64 of 24 to 64 random bytes/],
      [{ webhooks: [{ ...good, secret: secret(16) }] }, /webhooks\.0\.secret: .*it holds 16 bytes/],
      [{ webhooks: [{ ...good, secret: secret(65) }] }, /webhooks\.0\.secret: .*it holds 65 bytes/],
      [{ webhooks: [{ ...good, secret: 'whsec_!!!!' }] }, /webhooks\.0\.secret: must be whsec_/],
      [{ webhooks: [good, { ...good, events: ['*'] }] }, /webhooks\.1\.url: https:\/\/app\.example\/hooks is listed twice/],
      [{ webhooks: [{ ...good, extra: 1 }] }, /webhooks\.0\.extra: unknown key/],
      [{ webhook_delivery: { timeout: 10, lease: 10 } }, /webhook_delivery\.lease: must be longer than webhook_delivery\.timeout \(10 s\)/],
      [{ webhook_delivery: { concurrency: 0 } }, /webhook_delivery\.concurrency: /],
    ];
    for (const [input, expected] of cases) expect(problemsOf(input), JSON.stringify(input)).toMatch(expected);
  });

  it('accepts the README example as it is written', () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Webhooks'));
    const example = /```json\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parseConfig(JSON.parse(example));
    expect(config.webhooks).toHaveLength(1);
    expect(config.webhooks[0]!.events).toEqual(['session.revoked', 'session.reuse_detected']);
  });

  it('stops `tessera serve` with exit 2 and the line that names the key, before anything listens', async () => {
    const data = dataDir();
    const path = join(data, 'config.json');
    writeFileSync(path, JSON.stringify({ webhooks: [{ url: 'https://app.example/hooks', events: ['session.revoked'], secret: 'whsec_c2hvcnQ=' }] }));
    const result = await runInProcess(['serve', '--port', '0', '--host', '127.0.0.1', '--data', data, '--config', path]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).not.toContain('Tessera is listening');
    expect(result.stderr).toContain('webhooks.0.secret: must be whsec_ and the base64 of 24 to 64 random bytes');
    expect(result.stderr).toContain('it holds 5 bytes');
    expect(result.stderr).not.toMatch(/\n\s+at |node:internal/);
  });
});
