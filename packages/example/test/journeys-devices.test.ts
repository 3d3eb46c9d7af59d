// Journey of issue 16, devices: a user signed in on two devices sees both in "Your sessions", by the
// browser and OS Tessera read from each one's User-Agent, signs the other one out from there, and
// that device's page is told at once that its session was ended elsewhere.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { journeyTimeout, observe, signIn, useJourneys } from './journeys/harness.js';

// In the desktop Chromium, not the headless shell the other journeys use: one journey proves the
// page in the browser people run.
const world = useJourneys({ fullBrowser: true });
const artifacts = fileURLToPath(new URL('../../../test-artifacts/journeys/', import.meta.url));

const linuxChrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const iphoneSafari = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
/** How the card shows an address of this machine, over IPv4 or IPv6. */
const loopback = '(127\\.0\\.0\\.1|::1)';

it(
  'lists both devices with their browser and OS, signs the other one out, and that device learns it was revoked',
  async () => {
    const laptop = await world.openTab('cookie', await world.newContext({ userAgent: linuxChrome }));
    const laptopSession = await signIn(laptop, 'dana');
    const phone = await world.openTab('cookie', await world.newContext({ userAgent: iphoneSafari, viewport: { width: 420, height: 900 } }));
    const phoneSession = await signIn(phone, 'dana');

    // The list is read again every 5 s: the laptop's card comes to show the phone too.
    const rows = laptop.locator('[data-testid="other-sessions"] li');
    await world.poll(() => rows.count(), { message: 'both sessions listed' }).toBe(2);
    const row = (page: typeof laptop, sessionId: string) => page.locator(`[data-testid="other-sessions"] li[data-session-id="${sessionId}"]`);
    const device = (page: typeof laptop, sessionId: string) => row(page, sessionId).getByTestId('device').textContent();
    expect(await device(laptop, laptopSession)).toMatch(new RegExp(`^Chrome 131 on Linux · This device · ${loopback} · last seen \\S`));
    expect(await device(laptop, phoneSession)).toMatch(new RegExp(`^Mobile Safari 17 on iOS · ${loopback} · last seen \\S`));
    expect(await row(laptop, phoneSession).getAttribute('data-current')).toBe('false');
    // This device is signed out with "Sign out" at the top, not from the list.
    expect(await row(laptop, laptopSession).getByTestId('end-session').count()).toBe(0);
    // The phone marks itself, not the laptop.
    await world.poll(() => phone.locator('[data-testid="other-sessions"] li').count()).toBe(2);
    expect(await device(phone, phoneSession)).toMatch(/^Mobile Safari 17 on iOS · This device · /);
    await laptop.screenshot({ path: join(artifacts, 'devices-both-listed.png'), fullPage: true });

    await row(laptop, phoneSession).getByTestId('end-session').click();
    // The phone's socket hears the end: the notice shows without waiting for its token to run out.
    await expect.poll(() => observe(phone), { timeout: 5000, interval: 100 }).toEqual({ kind: 'notice', code: 'session_revoked' });
    expect(await phone.locator('[data-tessera-end-reason]').getAttribute('data-tessera-end-reason')).toBe('signed_out_elsewhere');
    await phone.screenshot({ path: join(artifacts, 'devices-signed-out-phone.png'), fullPage: true });
    expect(await world.sessionOnServer(phoneSession)).toMatchObject({ status: 'revoked', revoked_reason: 'signed_out_elsewhere' });

    await world.poll(() => rows.count(), { message: 'only this device left' }).toBe(1);
    expect(await laptop.getByTestId('sessions-note').textContent()).toBe('Signed out Mobile Safari 17 on iOS.');
    await world.expectLives(laptop, { sessionId: laptopSession, since: world.now() });
  },
  journeyTimeout,
);
