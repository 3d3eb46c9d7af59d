// The client's timers on a `FastForwardClock`: a client and a server on one clock sleep and wake
// together, so a test that needs token lifetimes to pass jumps over them instead of waiting.
import type { FastForwardClock, Timer } from '../../server/src/core/clock.js';
import type { Timers } from '../src/timers.js';

/** `Timers` that run with the wall clock and jump when `clock.fastForward` does (each due timer fires once). */
export function fastForwardTimers(clock: FastForwardClock): Timers {
  return {
    now: () => clock.now(),
    // Unref'd as the globals are in Node for the client's own long waits: a pending timer never holds the test process.
    setTimeout: (callback, ms) => clock.setTimer(ms, callback, { unref: true }),
    clearTimeout: (handle) => (handle as Timer).cancel(),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves `clock` `seconds` on in jumps of at most `stepSeconds`. Before each jump it waits (real time,
 * up to `timeoutMs`) until `holds(at)` says what the test watches stays valid past the jump's end
 * `at` (e.g. the socket's token, which a refresh due on the way replaces): a refresh that is slow
 * under load delays the test instead of seeing its token expire under it.
 */
export async function passTime(
  clock: FastForwardClock,
  seconds: number,
  options: { stepSeconds: number; holds?: (at: number) => boolean; timeoutMs?: number },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  for (let left = seconds; left > 0; left -= options.stepSeconds) {
    const step = Math.min(left, options.stepSeconds);
    const started = Date.now();
    while (options.holds && !options.holds(clock.now() + step * 1000 + 1000)) {
      if (Date.now() - started > timeoutMs) throw new Error(`what the test watches would not hold past a ${step} s jump (waited ${timeoutMs} ms)`);
      await sleep(10);
    }
    clock.fastForward(step);
    // What the due timers started (a refresh, a frame) gets a turn before the next look.
    await sleep(10);
  }
}
