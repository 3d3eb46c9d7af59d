import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';

describe('Backoff', () => {
  it('doubles up to the maximum, with jitter between half and all of each step', () => {
    const low = new Backoff({ initialDelay: 1, maxDelay: 8 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => low.nextDelay())).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    const high = new Backoff({ initialDelay: 1, maxDelay: 8 }, () => 0.999999);
    expect([1, 2, 3, 4, 5].map(() => high.nextDelay())).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('never waits less than retry_after, and starts over after reset', () => {
    const backoff = new Backoff({ initialDelay: 1 }, () => 0.5);
    expect(backoff.nextDelay(30)).toBe(30_000);
    expect(backoff.failures).toBe(1);
    backoff.reset();
    expect(backoff.nextDelay()).toBe(750);
  });
});
