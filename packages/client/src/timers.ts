/**
 * Where the client's timers and wall clock come from: the globals by default; a test (or an app with
 * its own scheduler) passes another, and every wait of the client follows it. The refresh schedule,
 * the tab protocol's waits and leases, request timeouts and the realtime socket's reconnect, ready
 * and wake-up timers all go through it, so a fake one fast-forwards a whole night in milliseconds.
 *
 * @example
 * ```ts
 * let now = Date.now();
 * const due = new Set<{ at: number; run: () => void }>();
 * const timers: Timers = {
 *   now: () => now,
 *   setTimeout: (run, ms) => { const timer = { at: now + ms, run }; due.add(timer); return timer; },
 *   clearTimeout: (timer) => void due.delete(timer as { at: number; run: () => void }),
 * };
 * createSessionClient({ baseUrl, timers }); // then move `now` on and run what is due, in order
 * ```
 */
export interface Timers {
  /** The wall clock, epoch milliseconds (the default device clock of the client). */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now; returns a handle for `clearTimeout` (any value but null). */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer; a handle already run or cancelled is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The globals, looked up at each call (test runners that fake them after import are followed). */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** A timer that does not keep a Node process alive on its own (a no-op in browsers and for other sources). */
export function unrefTimer(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}

/** Resolves after `ms` milliseconds of `timers`. */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => void timers.setTimeout(resolve, ms));
}

/**
 * Calls `callback` every `ms` milliseconds until the returned function is called: `setInterval` on
 * top of `setTimeout`, so a source needs only the three members above.
 */
export function repeat(timers: Timers, callback: () => void, ms: number, unref = false): () => void {
  let handle: unknown = null;
  let stopped = false;
  const arm = () => {
    handle = timers.setTimeout(() => {
      if (stopped) return;
      arm();
      callback();
    }, ms);
    if (unref) unrefTimer(handle);
  };
  arm();
  return () => {
    stopped = true;
    timers.clearTimeout(handle);
  };
}
