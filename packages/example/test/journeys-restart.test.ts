// Journeys of issue 12, restarts: every tab closed and the browser started again on its profile,
// Tessera restarted mid-session, Tessera out of reach while the page loads, in each storage mode of
// the example page. Each ends within a bounded time in the outcome journeys/outcomes.ts gives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { journeyTimeout, observe, refreshesSeen, refreshLead, secondsLeft, signIn, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys();

describe('close every tab and reopen', () => {
  it.each(casesOf('close every tab and reopen'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const profile = mkdtempSync(join(tmpdir(), 'tessera-journey-profile-'));
      const browsers: BrowserContext[] = [];
      try {
        browsers.push(await world.launchPersistent(profile));
        const page = await world.openTab(mode, browsers[0]);
        const sessionId = await signIn(page);
        await world.poll(() => refreshesSeen(page)).toBeGreaterThanOrEqual(1);
        // The browser quits (its last window closed) and is started again on the same profile.
        await browsers[0]!.close();
        const reopenedAt = world.now();
        browsers.push(await world.launchPersistent(profile));
        const reopened = await world.openTab(mode, browsers[1]);
        await world.expectOutcome(reopened, outcome, { sessionId, since: reopenedAt, name: `reopen-browser-${mode}` });
      } finally {
        for (const each of browsers) await each.close();
        rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
      }
    },
    journeyTimeout,
  );
});

describe('Tessera restarted mid-session', () => {
  it.each(casesOf('Tessera restarted mid-session'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const page = await world.openTab(mode);
      const sessionId = await signIn(page);
      await world.poll(() => refreshesSeen(page)).toBeGreaterThanOrEqual(1);
      // A deploy, the same port and data folder, just before the next refresh is due: it fails at
      // least once while Tessera is down. The page stays.
      await world.poll(() => secondsLeft(page)).toBeLessThanOrEqual(refreshLead(world.tokenTtl) + 2.5);
      const stoppedAt = world.now();
      await world.example.stopTessera();
      await world.poll(() => world.refreshes.some((record) => record.sentAt >= stoppedAt && record.status === 'failed')).toBe(true);
      await world.example.startTessera();
      const restartedAt = world.now();
      await world.expectOutcome(page, outcome, { sessionId, since: restartedAt, name: `tessera-restarted-${mode}` });
      await world.poll(() => page.getByTestId('socket-status').getAttribute('data-status')).toBe('open');
    },
    journeyTimeout,
  );
});

describe('Tessera unreachable while the page loads, then back', () => {
  it.each(casesOf('Tessera unreachable while the page loads, then back'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const page = await world.openTab(mode);
      const sessionId = await signIn(page);
      await world.poll(() => refreshesSeen(page)).toBeGreaterThanOrEqual(1);
      await world.example.stopTessera();
      await page.reload();
      // Past the expiry of the token the page was reloaded with, Tessera still down.
      await world.poll(() => tokenRunOutOrGone(page)).toBe(true);
      if (outcome.kind === 'lives') {
        // Not silent: the page says Tessera is out of reach and that it keeps trying.
        await expect
          .poll(() => page.locator('[data-testid="activity"] li[data-kind="problem"]').allTextContents(), { timeout: 5000 })
          .toContainEqual(expect.stringMatching(/unreachable.*retrying/i));
      }
      await world.example.startTessera();
      const backAt = world.now();
      // Back: the next retry (backoff 1 s doubling, up to a minute) refreshes.
      await world.expectOutcome(page, outcome, { sessionId, since: backAt, name: `tessera-unreachable-at-load-${mode}`, timeout: 30_000 });
    },
    journeyTimeout,
  );
});

/** The dashboard's token has run out, or the page no longer shows one (notice, sign-in form). */
async function tokenRunOutOrGone(page: Page): Promise<boolean> {
  const shown = await observe(page);
  if (shown.kind === 'loading') return false;
  if (shown.kind !== 'dashboard') return true;
  return (await secondsLeft(page)) === 0;
}
