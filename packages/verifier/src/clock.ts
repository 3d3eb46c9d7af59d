/** Where the core gets the time from; tests pass a clock they move by hand. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A timer set with a `Scheduler`. */
export interface Timer {
  /** Stops it; nothing happens if it has fired already. */
  cancel(): void;
}

export interface TimerOptions {
  /** Let the process exit while only this timer is pending (Node's `unref`). Default false. */
  readonly unref?: boolean;
}

/**
 * Where the core waits: every timer it sets goes through one of these, so a test that passes a
 * `ManualClock` (which is one) moves the timers with the time instead of waiting on the wall clock.
 */
export interface Scheduler {
  /** Calls `run` once, `delayMs` from now (at once for 0 or less). */
  setTimer(delayMs: number, run: () => void, options?: TimerOptions): Timer;
  /** Calls `run` every `intervalMs` (at least 1 ms) until cancelled. */
  setRepeating(intervalMs: number, run: () => void, options?: TimerOptions): Timer;
}

/** setTimeout's longest delay; later deadlines are reached in steps. */
const longestTimer = 2 ** 31 - 1;

/** The runtime's own timers, with no limit on the delay (setTimeout's ~24.8 days are stepped over). */
export const systemScheduler: Scheduler = {
  setTimer(delayMs, run, options = {}) {
    let handle: ReturnType<typeof setTimeout> | undefined;
    const arm = (left: number) => {
      handle = setTimeout(() => (left > longestTimer ? arm(left - longestTimer) : run()), Math.min(left, longestTimer));
      if (options.unref) unref(handle);
    };
    arm(Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
  setRepeating(intervalMs, run, options = {}) {
    const handle = setInterval(run, Math.min(Math.max(1, intervalMs), longestTimer));
    if (options.unref) unref(handle);
    return { cancel: () => clearInterval(handle) };
  },
};

/** Node's handles have `unref`; other runtimes' timers (numbers) never keep anything alive. */
function unref(handle: unknown): void {
  (handle as { unref?: () => void }).unref?.();
}

interface ManualTimer {
  readonly id: number;
  at: number;
  readonly every: number | null;
  readonly run: () => void;
}

/**
 * A clock that moves only when told to: "left open overnight" runs in milliseconds. It is also a
 * `Scheduler`: its timers fire, in order and each at its own time, while `advance` moves it past them.
 */
export class ManualClock implements Clock, Scheduler {
  #now: number;
  /** Pending timers; fired in order of time, then of setting. */
  readonly #timers = new Map<number, ManualTimer>();
  #nextId = 1;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  /** Timers set and not yet fired or cancelled (a repeating one counts until cancelled). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves the time forward by `seconds`, firing every timer that comes due on the way, in order,
   * with the clock set to each one's time as it fires (those that the fired ones set included).
   * Work a timer starts asynchronously has not run when this returns: see `advanceAsync`. A
   * negative `seconds` moves the time back and fires nothing.
   */
  advance(seconds: number): void {
    const until = this.#now + seconds * 1000;
    if (seconds >= 0) for (let timer = this.#due(until); timer; timer = this.#due(until)) this.#fire(timer);
    this.#now = until;
  }

  /**
   * `advance`, giving the event loop a turn (promise callbacks, I/O that is ready) after each timer
   * fires and before the next is looked for, like @sinonjs/fake-timers' `tickAsync`: a timer whose
   * callback awaits something, then sets the next timer, is followed through in one call.
   */
  async advanceAsync(seconds: number): Promise<void> {
    const until = this.#now + seconds * 1000;
    await turn();
    for (let timer = seconds >= 0 ? this.#due(until) : undefined; timer; timer = this.#due(until)) {
      this.#fire(timer);
      await turn();
    }
    this.#now = until;
  }

  /** Sets the time without firing timers; the next `advance` fires those that are due by then. */
  set(at: number | Date): void {
    this.#now = typeof at === 'number' ? at : at.getTime();
  }

  setTimer(delayMs: number, run: () => void): Timer {
    return this.#add(Math.max(0, delayMs), null, run);
  }

  setRepeating(intervalMs: number, run: () => void): Timer {
    const every = Math.max(1, intervalMs);
    return this.#add(every, every, run);
  }

  #add(delayMs: number, every: number | null, run: () => void): Timer {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + delayMs, every, run });
    return { cancel: () => void this.#timers.delete(id) };
  }

  /** The earliest timer due by `until`, if any. */
  #due(until: number): ManualTimer | undefined {
    let first: ManualTimer | undefined;
    for (const timer of this.#timers.values()) if (timer.at <= until && (!first || timer.at < first.at)) first = timer;
    return first;
  }

  #fire(timer: ManualTimer): void {
    this.#now = Math.max(this.#now, timer.at);
    if (timer.every === null) this.#timers.delete(timer.id);
    else timer.at += timer.every;
    timer.run();
  }
}

interface JumpingTimer {
  at: number;
  readonly every: number | null;
  readonly run: () => void;
  readonly unref: boolean;
  /** The runtime timer that fires it when its time comes by itself. */
  waiting: Timer;
}

/**
 * The wall clock, which a test can move forward at once: time runs as it does, and `fastForward`
 * jumps it ahead as a laptop that slept would see it, firing each timer that came due on the way
 * once (a repeating one once, then on from the new time). Paired with Playwright's
 * `clock.fastForward`, a browser and a server go through the same sleep together, and a journey
 * that waits for tokens of realistic lifetimes runs in seconds.
 */
export class FastForwardClock implements Clock, Scheduler {
  #offset = 0;
  readonly #timers = new Map<number, JumpingTimer>();
  #nextId = 1;

  now(): number {
    return Date.now() + this.#offset;
  }

  /** Milliseconds this clock is ahead of the wall clock. */
  get offset(): number {
    return this.#offset;
  }

  /** Timers set and not yet fired or cancelled (a repeating one counts until cancelled). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Jumps the time `seconds` forward (not back: 0 or less does nothing), firing the timers that came due, each once, in order of time. */
  fastForward(seconds: number): void {
    if (!(seconds > 0)) return;
    this.#offset += seconds * 1000;
    const now = this.now();
    const due = [...this.#timers.entries()].filter(([, timer]) => timer.at <= now).sort(([, a], [, b]) => a.at - b.at);
    for (const [id, timer] of due) {
      // A timer an earlier one cancelled stays cancelled.
      if (this.#timers.get(id) !== timer) continue;
      timer.waiting.cancel();
      this.#fire(id, timer);
    }
    // Those still pending wait for their time on the moved clock.
    for (const [id, timer] of this.#timers) {
      if (due.some(([dueId]) => dueId === id)) continue;
      timer.waiting.cancel();
      this.#arm(id, timer);
    }
  }

  setTimer(delayMs: number, run: () => void, options: TimerOptions = {}): Timer {
    return this.#add(Math.max(0, delayMs), null, run, options);
  }

  setRepeating(intervalMs: number, run: () => void, options: TimerOptions = {}): Timer {
    const every = Math.max(1, intervalMs);
    return this.#add(every, every, run, options);
  }

  #add(delayMs: number, every: number | null, run: () => void, options: TimerOptions): Timer {
    const id = this.#nextId++;
    const timer: JumpingTimer = { at: this.now() + delayMs, every, run, unref: options.unref ?? false, waiting: { cancel() {} } };
    this.#timers.set(id, timer);
    this.#arm(id, timer);
    return {
      cancel: () => {
        timer.waiting.cancel();
        if (this.#timers.get(id) === timer) this.#timers.delete(id);
      },
    };
  }

  #arm(id: number, timer: JumpingTimer): void {
    timer.waiting = systemScheduler.setTimer(timer.at - this.now(), () => this.#fire(id, timer), { unref: timer.unref });
  }

  #fire(id: number, timer: JumpingTimer): void {
    if (timer.every === null) {
      this.#timers.delete(id);
    } else {
      // After a jump that passed several periods, the next one counts from the new time.
      timer.at = timer.at + timer.every > this.now() ? timer.at + timer.every : this.now() + timer.every;
      this.#arm(id, timer);
    }
    timer.run();
  }
}

/** One turn of the event loop, on the runtime's own timers. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
