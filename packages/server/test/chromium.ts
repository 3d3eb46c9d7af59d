// Debian's Chromium for the browser tests, launched the one way this machine allows.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const chromiumPath = '/usr/bin/chromium';

/**
 * Headless Chromium through playwright-core. Without the background-networking flags it dials
 * Google's hosts at every start, which this closed network refuses. Fails, not skips, when it is
 * missing: CI installs it (`.ci/run`).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--headless', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
