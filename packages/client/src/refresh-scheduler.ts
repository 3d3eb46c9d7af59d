import { systemTimers, type Timers, unrefTimer } from './timers.js';

/** Why the scheduler asks the client to look at its token now. */
export type WakeCause = 'timer' | 'late-timer' | 'visible' | 'focus' | 'online' | 'pageshow';

/** The part of `EventTarget` the scheduler uses. */
export interface EventSourceLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Where wake-up events come from: `window` and `document` in a page, `self` in a worker, nothing in Node. */
export interface PageEnvironment {
  /** Receives `focus`, `online` and `pageshow`. */
  readonly target: EventSourceLike | null;
  /** Receives `visibilitychange` and tells whether the page is hidden. */
  readonly document: (EventSourceLike & { readonly visibilityState: string }) | null;
}

/** The environment of the running script, found by feature detection. */
export function detectPageEnvironment(): PageEnvironment {
  const scope = globalThis as { addEventListener?: unknown; document?: unknown };
  const target = typeof scope.addEventListener === 'function' ? (globalThis as unknown as EventSourceLike) : null;
  const doc = scope.document as { addEventListener?: unknown; visibilityState?: unknown } | undefined;
  const document =
    doc && typeof doc.addEventListener === 'function' && typeof doc.visibilityState === 'string'
      ? (doc as EventSourceLike & { readonly visibilityState: string })
      : null;
  return { target, document };
}

export interface RefreshSchedulerOptions {
  /** Device time in epoch milliseconds. */
  readonly deviceNow: () => number;
  /** Called when the client should look at its token: a due time passed or the page woke up. */
  readonly onWake: (cause: WakeCause) => void;
  readonly environment: PageEnvironment;
  /** Where the timers come from. Default: the globals. */
  readonly timers?: Timers;
  /** A timer this late (ms) means the device slept or the tab was frozen. Default 5000. */
  readonly lateThreshold?: number;
  /** Longest single timer (ms); due times are re-checked against the wall clock at least this often. Default 30000. */
  readonly maxStep?: number;
}

const windowEvents = ['focus', 'online', 'pageshow'] as const;

/**
 * Runs the client's check at a due time without trusting timers: browsers throttle them in
 * background tabs and pause them while the device sleeps. A due time is approached in steps of at
 * most `maxStep` against the wall clock; a step that fires late by more than `lateThreshold`, the
 * page becoming visible, focus, coming back online and `pageshow` (back/forward cache) all wake the
 * client at once.
 */
export class RefreshScheduler {
  readonly #options: Required<RefreshSchedulerOptions>;
  #dueAt: number | null = null;
  #expectedAt = 0;
  #timer: unknown = null;
  #listening = false;
  readonly #onVisibilityChange = () => {
    if (!this.hidden) this.#options.onWake('visible');
  };
  readonly #windowListeners = windowEvents.map((type) => ({ type, listener: () => this.#options.onWake(type) }));

  constructor(options: RefreshSchedulerOptions) {
    this.#options = { lateThreshold: 5000, maxStep: 30_000, timers: systemTimers, ...options };
  }

  /** Whether the page is hidden (never, outside a page). */
  get hidden(): boolean {
    return this.#options.environment.document?.visibilityState === 'hidden';
  }

  /** The device time of the next check, or null. */
  get dueAt(): number | null {
    return this.#dueAt;
  }

  /** Starts listening for wake-up events. */
  start(): void {
    if (this.#listening) return;
    this.#listening = true;
    const { target, document } = this.#options.environment;
    document?.addEventListener('visibilitychange', this.#onVisibilityChange);
    for (const { type, listener } of this.#windowListeners) target?.addEventListener(type, listener);
  }

  /** Runs `onWake('timer')` at device time `at`; null cancels. Replaces any earlier due time. */
  scheduleAt(at: number | null): void {
    this.#dueAt = at;
    this.#arm();
  }

  /** Cancels the timer and stops listening. */
  stop(): void {
    this.scheduleAt(null);
    if (!this.#listening) return;
    this.#listening = false;
    const { target, document } = this.#options.environment;
    document?.removeEventListener('visibilitychange', this.#onVisibilityChange);
    for (const { type, listener } of this.#windowListeners) target?.removeEventListener(type, listener);
  }

  #arm(): void {
    if (this.#timer !== null) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#dueAt === null) return;
    const now = this.#options.deviceNow();
    const wait = Math.min(Math.max(0, this.#dueAt - now), this.#options.maxStep);
    this.#expectedAt = now + wait;
    this.#timer = this.#options.timers.setTimeout(() => this.#onTimer(), wait);
    // In Node a pending refresh must not keep the process alive.
    unrefTimer(this.#timer);
  }

  #onTimer(): void {
    this.#timer = null;
    const now = this.#options.deviceNow();
    // Late by more than the threshold: the device slept or the tab was frozen; look at once.
    const late = now - this.#expectedAt > this.#options.lateThreshold;
    if (late || (this.#dueAt !== null && now >= this.#dueAt)) {
      this.#dueAt = null;
      this.#options.onWake(late ? 'late-timer' : 'timer');
      return;
    }
    this.#arm();
  }
}
