// The verifier's in-memory DPoP replay cache on a ManualClock: each proof once within its window,
// forgotten after it, and never more than `maxEntries` kept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { MemoryDpopReplayCache } from '../src/dpop-replay-cache.js';

const start = Date.UTC(2026, 5, 1, 12, 0, 0);

describe('MemoryDpopReplayCache', () => {
  it('takes a proof once until its window ends, then forgets it', async () => {
    const clock = new ManualClock(start);
    const cache = new MemoryDpopReplayCache({ clock });
    expect(await cache.remember('a', start + 61_000)).toBe(true);
    expect(await cache.remember('a', start + 61_000)).toBe(false);
    expect(await cache.remember('b', start + 61_000)).toBe(true);
    clock.advance(61);
    // At expiresAt the window is over: the proof's iat refuses it from then on, the cache need not.
    expect(await cache.remember('a', start + 122_000)).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('keeps nothing for a window already over', async () => {
    const clock = new ManualClock(start);
    const cache = new MemoryDpopReplayCache({ clock });
    expect(await cache.remember('a', start)).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('when full, forgets the proofs whose window ends soonest', async () => {
    const clock = new ManualClock(start);
    const cache = new MemoryDpopReplayCache({ clock, maxEntries: 3 });
    await cache.remember('late', start + 60_000);
    await cache.remember('soon', start + 10_000);
    await cache.remember('middle', start + 30_000);
    await cache.remember('new', start + 61_000);
    expect(cache.size).toBe(3);
    expect(await cache.remember('soon', start + 10_000)).toBe(true); // forgotten, so taken again (and evicts 'middle')
    expect(await cache.remember('late', start + 60_000)).toBe(false);
    expect(await cache.remember('new', start + 61_000)).toBe(false);
  });

  it('any run of proofs and clock moves: a replay within the window is refused, size stays bounded, expired proofs are dropped', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('remember' as const), id: fc.integer({ min: 0, max: 30 }), window: fc.integer({ min: 1, max: 70_000 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 120 }), fc.integer({ min: 1, max: 40 }), async (steps, maxEntries) => {
        const clock = new ManualClock(start);
        const cache = new MemoryDpopReplayCache({ clock, maxEntries });
        // The model: what a cache with no bound would hold.
        const model = new Map<number, number>();
        let everFull = false;
        for (const action of steps) {
          if (action.kind === 'advance') {
            clock.set(clock.now() + action.ms);
            continue;
          }
          const now = clock.now();
          for (const [id, until] of model) if (until <= now) model.delete(id);
          const live = model.has(action.id);
          if (!live && model.size >= maxEntries) everFull = true;
          const first = await cache.remember(`proof-${action.id}`, now + action.window);
          // Never refuses a proof it was not given in its window; forgets a live one only once the live ones overflowed it.
          if (!live) expect(first).toBe(true);
          if (live && !everFull) expect(first).toBe(false);
          if (first) model.set(action.id, now + action.window);
          expect(cache.size).toBeLessThanOrEqual(maxEntries);
          // Expired proofs leave at the next call: until it overflowed, it holds exactly the live ones.
          if (!everFull) expect(cache.size).toBe(model.size);
        }
        // Past every window, one more call leaves nothing of the old proofs.
        clock.advance(71);
        await cache.remember('last', clock.now() + 1000);
        expect(cache.size).toBe(1);
      }),
      { numRuns: 300 },
    );
  });
});
