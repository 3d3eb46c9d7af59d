// Journeys of issue 12, reloads: at sign-in, at mid-life, during a refresh, after the token ran
// out, in each storage mode of the example page. Each ends within a bounded time in the outcome
// journeys/outcomes.ts gives (the client README's "What survives" table), never in silence.
import type { Page } from 'playwright-core';
import { describe, it } from 'vitest';
import { journeyTimeout, refreshesSeen, secondsLeft, signIn, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys();

describe('reload right after sign-in', () => {
  it.each(casesOf('reload right after sign-in'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const page = await world.openTab(mode);
      // The page reloads itself the moment it shows "Signed in": as early as any user could.
      const sessionId = await signInAndReloadAtOnce(page);
      const reloadedAt = world.now();
      await world.expectOutcome(page, outcome, { sessionId, since: reloadedAt, name: `reload-at-sign-in-${mode}` });
    },
    journeyTimeout,
  );
});

/**
 * Signs in, and reloads from inside the page in the same task in which the dashboard first shows
 * the session id (kept in sessionStorage across the reload); returns that id once reloaded.
 */
async function signInAndReloadAtOnce(page: Page): Promise<string> {
  await page.evaluate(() => {
    const observer = new MutationObserver(() => {
      const shown = document.querySelector('[data-testid="dashboard"] [data-testid="session-id"]')?.textContent ?? '';
      if (!shown.startsWith('ses_')) return;
      observer.disconnect();
      sessionStorage.setItem('journey:session-id', shown);
      location.reload();
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const reloaded = page.waitForEvent('framenavigated');
  await page.getByTestId('user-name').fill('alice');
  await page.getByTestId('sign-in-button').click();
  await reloaded;
  return (await page.evaluate(() => sessionStorage.getItem('journey:session-id')))!;
}

describe('reload at mid-life of the token', () => {
  it.each(casesOf('reload at mid-life of the token'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const page = await world.openTab(mode);
      const sessionId = await signIn(page);
      // After a refresh (the token has been rotated), half-way to the next one: a quarter into the token's life.
      await world.poll(() => refreshesSeen(page)).toBeGreaterThanOrEqual(1);
      await world.poll(() => secondsLeft(page)).toBeLessThanOrEqual(world.tokenTtl * 0.75);
      const reloadedAt = world.now();
      await page.reload();
      await world.expectOutcome(page, outcome, { sessionId, since: reloadedAt, name: `reload-at-mid-life-${mode}` });
    },
    journeyTimeout,
  );
});

describe('reload while a refresh is in flight', () => {
  it.each(casesOf('reload while a refresh is in flight'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const page = await world.openTab(mode);
      const sessionId = await signIn(page);
      // The next refresh reaches Tessera, which rotates the token; its answer is held in the
      // browser, and the page reloads before reading it.
      const held = await world.holdRefreshAnswers(page);
      try {
        await world.poll(() => held.arrived()).toBeGreaterThanOrEqual(1);
        const reloadedAt = world.now();
        await page.reload();
        await held.stop();
        await world.expectOutcome(page, outcome, { sessionId, since: reloadedAt, name: `reload-during-refresh-${mode}` });
      } finally {
        await held.stop();
      }
    },
    journeyTimeout,
  );
});

describe('reload after the access token expired', () => {
  it.each(casesOf('reload after the access token expired'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const first = await world.openTab(mode);
      const sessionId = await signIn(first);
      // The only tab closes; the token runs out with no page open; a new tab opens the app.
      await first.close();
      await world.passTime(world.tokenTtl + 2);
      const reopenedAt = world.now();
      const page = await world.openTab(mode);
      await world.expectOutcome(page, outcome, { sessionId, since: reopenedAt, name: `reload-after-expiry-${mode}` });
    },
    journeyTimeout,
  );
});
