import { describe, expect, it } from 'vitest';
import { ServerClock } from '../src/index.js';

describe('ServerClock', () => {
  it('corrects a reading by half the round trip', () => {
    let device = 1_000_000;
    const clock = new ServerClock(() => device);
    // The request left at 1000 s, came back 400 ms later; the server read 1600.2 s (10 minutes ahead).
    clock.observe({ serverTime: 1_600_200, sentAt: 1_000_000, receivedAt: 1_000_400 });
    expect(clock.skew).toBe(-600_000);
    device = 2_000_000;
    expect(clock.now()).toBe(2_600_000);
    expect(clock.toDeviceTime(2_600_000)).toBe(2_000_000);
  });

  it('prefers a tighter reading and gives way to a contradicting one', () => {
    const clock = new ServerClock(() => 0);
    clock.observe({ serverTime: 5_000, sentAt: 0, receivedAt: 100 });
    expect(clock.skew).toBe(-4_950);
    // A looser reading that agrees within both bounds does not move the offset.
    clock.observe({ serverTime: 6_100, sentAt: 1_000, receivedAt: 1_400 });
    expect(clock.skew).toBe(-4_950);
    // A reading that cannot be reconciled (the device clock was set) wins.
    clock.observe({ serverTime: 100_000, sentAt: 2_000, receivedAt: 2_400 });
    expect(clock.skew).toBe(-97_800);
  });

  it('a request that spanned a sleep does not undo a tight reading; a tight one later follows the drift', () => {
    const clock = new ServerClock(() => 0);
    // Device and server agree; the answer came in 10 ms.
    clock.observe({ serverTime: 1_000_005, sentAt: 1_000_000, receivedAt: 1_000_010 });
    expect(clock.skew).toBe(0);
    // A refresh left, the laptop slept 8 hours, the answer was read on waking: the server answered
    // just before the sleep. Taken alone, this reading puts the server 4 hours ahead.
    const sleep = 8 * 3_600_000;
    clock.observe({ serverTime: 1_060_020, sentAt: 1_060_000, receivedAt: 1_060_000 + sleep });
    expect(Math.abs(clock.skew)).toBeLessThan(3_000);
    // Later, a quick reading 600 ms off: the device clock drifted, and the offset follows it.
    clock.observe({ serverTime: 2_000_000 + sleep + 600, sentAt: 2_000_000 + sleep - 10, receivedAt: 2_000_000 + sleep + 10 });
    expect(clock.skew).toBe(-600);
  });

  it('uses a JWT iat at second precision', () => {
    const clock = new ServerClock(() => 0);
    clock.observe({ serverTime: 10_000, sentAt: 0, receivedAt: 0, resolution: 1000 });
    expect(clock.skew).toBe(-10_500);
  });

  it('restores a stored skew only until a live reading comes', () => {
    const clock = new ServerClock(() => 0);
    clock.restore(3_000);
    expect(clock.skew).toBe(3_000);
    clock.observe({ serverTime: 0, sentAt: 0, receivedAt: 0 });
    clock.restore(9_000);
    expect(clock.skew).toBe(0);
  });
});
