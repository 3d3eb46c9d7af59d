// The retry schedule as a pure rule: each wait, its jitter, and the end of the schedule.
import { describe, expect, it } from 'vitest';
import { nextWebhookAttemptAt, webhookMaxAttempts, webhookRetryDelaysMs, webhookSecretProblem } from '../../src/core/webhook-outbox.js';

const minute = 60_000;
const hour = 60 * minute;

describe('nextWebhookAttemptAt', () => {
  it.each([
    [1, 5_000],
    [2, 5 * minute],
    [3, 30 * minute],
    [4, 2 * hour],
    [5, 5 * hour],
    [6, 10 * hour],
    [7, 10 * hour],
  ])('after failed attempt %i waits %i ms, up to 20%% more', (attempts, wait) => {
    expect(nextWebhookAttemptAt(attempts, 1_000, 0)).toBe(1_000 + wait);
    expect(nextWebhookAttemptAt(attempts, 1_000, 0.5)).toBe(1_000 + Math.round(wait * 1.1));
    expect(nextWebhookAttemptAt(attempts, 1_000, 0.999_999)).toBeLessThanOrEqual(1_000 + wait * 1.2);
  });

  it('ends after the eighth attempt, the waits spanning more than a day', () => {
    expect(webhookMaxAttempts).toBe(8);
    expect(nextWebhookAttemptAt(8, 0, 0)).toBeNull();
    expect(webhookRetryDelaysMs.reduce((sum, wait) => sum + wait, 0)).toBeGreaterThan(24 * hour);
  });
});

describe('webhookSecretProblem', () => {
  it.each([
    ['whsec_' + Buffer.alloc(24, 1).toString('base64'), undefined],
    ['whsec_' + Buffer.alloc(64, 1).toString('base64'), undefined],
    ['whsec_' + Buffer.alloc(23, 1).toString('base64'), /holds 23 bytes/],
    // base64url (`-`, `_`) and unpadded base64 are not what standardwebhooks decodes.
    ['whsec_' + Buffer.alloc(33, 255).toString('base64url'), /must be whsec_/],
    ['whsec_' + Buffer.alloc(32, 1).toString('base64').replace(/=+$/, ''), /must be whsec_/],
    [Buffer.alloc(32, 1).toString('base64'), /must be whsec_/],
    ['', /must be whsec_/],
  ])('%s', (secret, expected) => {
    const problem = webhookSecretProblem(secret);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});
