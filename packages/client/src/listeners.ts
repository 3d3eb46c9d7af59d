/**
 * Calls `call`; an exception it throws (an app's listener or handler) must not break the SDK nor
 * stop the other listeners, nor vanish: it is thrown again in a microtask, where the runtime
 * reports it (`window.onerror`, `unhandledrejection`-style logging, Node's `uncaughtException`).
 */
export function callSafely(call: () => void): void {
  try {
    call();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** The listeners of one kind of event: added and removed at any time, each called safely. */
export class Listeners<T> {
  readonly #listeners = new Set<(value: T) => void>();

  /** Adds `listener`; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls every listener with `value`; one added or removed meanwhile does not change this round. */
  emit(value: T): void {
    for (const listener of [...this.#listeners]) callSafely(() => listener(value));
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** Calls the callback `name` of `handler`, if the app gave one, with `args`, safely. */
export function callHandler<H extends object>(handler: H, name: keyof H, args: readonly unknown[]): void {
  const callback = handler[name] as ((...callbackArgs: unknown[]) => void) | undefined;
  if (typeof callback !== 'function') return;
  callSafely(() => callback.apply(handler, args as unknown[]));
}
