// The clock and scheduler every wait in Tessera goes through: manual timers, and the system one's long delays.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FastForwardClock, ManualClock, systemScheduler } from '../src/clock.js';

describe('ManualClock as a scheduler', () => {
  it('fires due timers in order of time, each with the clock at its own time, and no others', () => {
    const clock = new ManualClock(1_000_000);
    const fired: [string, number][] = [];
    clock.setTimer(300, () => fired.push(['c', clock.now()]));
    clock.setTimer(100, () => fired.push(['a', clock.now()]));
    clock.setTimer(100, () => fired.push(['b', clock.now()]));
    clock.setTimer(1500, () => fired.push(['late', clock.now()]));
    clock.advance(1);
    expect(fired).toEqual([
      ['a', 1_000_100],
      ['b', 1_000_100],
      ['c', 1_000_300],
    ]);
    expect(clock.now()).toBe(1_001_000);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(0.5);
    expect(fired.at(-1)).toEqual(['late', 1_001_500]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires the timers set by a firing timer when they come due within the same advance', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimer(100, () => {
      fired.push(clock.now());
      clock.setTimer(100, () => fired.push(clock.now()));
      clock.setTimer(0, () => fired.push(clock.now()));
    });
    clock.advance(0.2);
    expect(fired).toEqual([100, 100, 200]);
  });

  it('a cancelled timer never fires; cancelling one that fired is harmless', () => {
    const clock = new ManualClock(0);
    const run = vi.fn();
    const timer = clock.setTimer(10, run);
    timer.cancel();
    clock.advance(1);
    expect(run).not.toHaveBeenCalled();
    const other = clock.setTimer(10, run);
    clock.advance(1);
    other.cancel();
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('a repeating timer fires once per interval until cancelled', () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    const timer = clock.setRepeating(250, () => at.push(clock.now()));
    clock.advance(1);
    expect(at).toEqual([250, 500, 750, 1000]);
    timer.cancel();
    clock.advance(1);
    expect(at).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a negative advance moves the time back and fires nothing', () => {
    const clock = new ManualClock(10_000);
    const run = vi.fn();
    clock.setTimer(0, run);
    clock.advance(-1);
    expect(clock.now()).toBe(9_000);
    expect(run).not.toHaveBeenCalled();
    clock.advance(1);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('set() moves the time without firing; the next advance fires what is overdue', () => {
    const clock = new ManualClock(0);
    const run = vi.fn();
    clock.setTimer(1000, run);
    clock.set(5000);
    expect(run).not.toHaveBeenCalled();
    clock.advance(0);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('advanceAsync follows a timer whose callback awaits before setting the next', async () => {
    const clock = new ManualClock(0);
    const steps: number[] = [];
    const step = async (left: number): Promise<void> => {
      await Promise.resolve();
      await new Promise((resolve) => setImmediate(resolve));
      steps.push(clock.now());
      if (left > 0) clock.setTimer(1000, () => void step(left - 1));
    };
    clock.setTimer(1000, () => void step(2));
    clock.advance(10);
    // The synchronous advance only starts the first step, which ends after it: the next waits for another advance.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(steps).toEqual([10_000]);
    expect(clock.pendingTimers).toBe(1);

    const second = new ManualClock(0);
    const seen: number[] = [];
    const chain = async (left: number): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      seen.push(second.now());
      if (left > 0) second.setTimer(1000, () => void chain(left - 1));
    };
    second.setTimer(1000, () => void chain(2));
    await second.advanceAsync(10);
    expect(seen).toEqual([1000, 2000, 3000]);
    expect(second.now()).toBe(10_000);
  });
});

describe('systemScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reaches a delay beyond setTimeout’s limit in steps, neither early nor late', () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    systemScheduler.setTimer(thirtyDays, run);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(thirtyDays - (2 ** 31 - 1) - 1);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('cancel stops a stepped timer between steps, and a repeating one', () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const long = systemScheduler.setTimer(2 ** 32, run);
    vi.advanceTimersByTime(2 ** 31);
    long.cancel();
    const every = systemScheduler.setRepeating(100, run, { unref: true });
    vi.advanceTimersByTime(350);
    every.cancel();
    vi.advanceTimersByTime(2 ** 32);
    expect(run).toHaveBeenCalledTimes(3);
  });
});

describe('FastForwardClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs with the wall clock and its timers fire on their own at their time', () => {
    vi.useFakeTimers({ now: 5_000_000 });
    const clock = new FastForwardClock();
    const fired: number[] = [];
    clock.setTimer(1000, () => fired.push(clock.now()));
    expect(clock.now()).toBe(5_000_000);
    vi.advanceTimersByTime(999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([5_001_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('jumps ahead of the wall clock, firing what came due once, in order, and moving the rest', () => {
    vi.useFakeTimers({ now: 0 });
    const clock = new FastForwardClock();
    const fired: string[] = [];
    clock.setTimer(3000, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(1000, () => fired.push(`a@${clock.now()}`));
    clock.setRepeating(500, () => fired.push(`tick@${clock.now()}`));
    clock.setTimer(20_000, () => fired.push(`late@${clock.now()}`));
    clock.fastForward(10);
    // Each once, with the clock already at the end of the sleep, as a laptop that wakes sees it.
    expect(fired).toEqual(['tick@10000', 'a@10000', 'b@10000']);
    expect(clock.offset).toBe(10_000);
    fired.length = 0;
    // The repeating timer goes on from the new time; the late one waits its remaining 10 s of wall time.
    vi.advanceTimersByTime(500);
    expect(fired).toEqual(['tick@10500']);
    vi.advanceTimersByTime(9500);
    expect(fired).toContain('late@20000');
  });

  it('a timer cancelled by one that fires during the jump does not fire; a jump back does nothing', () => {
    vi.useFakeTimers({ now: 0 });
    const clock = new FastForwardClock();
    const second = vi.fn();
    const first = vi.fn(() => later.cancel());
    clock.setTimer(100, first);
    const later = clock.setTimer(200, second);
    clock.fastForward(-5);
    expect(clock.now()).toBe(0);
    clock.fastForward(1);
    expect(first).toHaveBeenCalledOnce();
    expect(second).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10_000);
    expect(second).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });
});
