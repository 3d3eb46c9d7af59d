// Journeys of issue 12, the device clock set 10 minutes ahead or behind for the whole journey, in
// each storage mode of the example page: the session lives for three token lifetimes and more,
// refreshed on the server's clock, with no refresh loop.
import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { journeyTimeout, signIn, sleep, tokenTtl, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys();

/** At most this many refreshes per token lifetime: the page refreshes at half-life (2 per life); a loop makes hundreds. */
const maxRefreshesPerTokenLife = 3;

describe.each([
  ['device clock 10 minutes ahead', 10],
  ['device clock 10 minutes behind', -10],
] as const)('%s', (journey, minutes) => {
  it.each(casesOf(journey))(
    '%s: %s',
    async (mode, _, outcome) => {
      const shiftMs = minutes * 60_000;
      await shiftDeviceClock(world.context, shiftMs);
      const page = await world.openTab(mode);
      // biome-ignore lint/complexity/useDateNow: compares the Date constructor with Date.now() under the shifted clock
      const shift = await page.evaluate(() => ({ now: Date.now() - performance.timeOrigin - performance.now(), date: new Date().getTime() - Date.now() }));
      expect(Math.abs(shift.now - shiftMs)).toBeLessThan(5000);
      expect(Math.abs(shift.date)).toBeLessThan(1000);

      const sessionId = await signIn(page);
      expect(await page.getByTestId('clock-skew').textContent()).toMatch(minutes > 0 ? /ahead of the server/ : /behind the server/);
      const signedInAt = Date.now();
      // Three token lifetimes and a bit: every token this session started with has run out.
      await sleep((3 * tokenTtl + 1) * 1000);
      const window = Date.now() - signedInAt;
      const refreshes = world.refreshes.filter((record) => record.sentAt >= signedInAt).length;
      expect(refreshes, 'refreshes in three token lifetimes: no loop').toBeLessThanOrEqual(Math.ceil((window / 1000 / tokenTtl) * maxRefreshesPerTokenLife));
      await world.expectOutcome(page, outcome, {
        sessionId,
        since: signedInAt + 2 * tokenTtl * 1000,
        name: `clock-${minutes > 0 ? 'ahead' : 'behind'}-${mode}`,
      });
    },
    journeyTimeout,
  );
});

/** Every page of `context` reads the device clock `shiftMs` off: `Date.now()` and `new Date()`. */
async function shiftDeviceClock(context: BrowserContext, shiftMs: number): Promise<void> {
  await context.addInitScript((shift) => {
    const RealDate = Date;
    const realNow = RealDate.now.bind(RealDate);
    const ShiftedDate = new Proxy(RealDate, {
      construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [realNow() + shift] : args, newTarget),
      apply: () => new RealDate(realNow() + shift).toString(),
    });
    RealDate.now = () => realNow() + shift;
    globalThis.Date = ShiftedDate;
  }, shiftMs);
}
