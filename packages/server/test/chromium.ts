// Chromium for the browser tests, launched the one way this machine allows.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian, Ubuntu and Google put the full browser. */
export const fullChromiumPaths: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * Where the tests look, in order; `CHROMIUM_PATH` names any other. First Chromium's headless shell
 * (Debian's `chromium-headless-shell`): the same Blink and V8 without the desktop browser around
 * them, and what Playwright itself runs for headless tests. On this 2-core machine it halves the
 * browser suites' time (the whole suite: 620 s → 439 s). Then the full browser.
 */
export const defaultChromiumPaths: readonly string[] = ['/usr/bin/chromium-headless-shell', ...fullChromiumPaths];

/**
 * Without the background-networking flags Chromium dials Google's hosts at every start, which a
 * closed network refuses.
 */
export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--headless',
  '--disable-background-networking',
  '--disable-gpu',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The Chromium executable: `CHROMIUM_PATH` when set, else the first of the usual places that exists.
 * Throws when there is none: the browser tests fail, not skip (`.ci/run` installs Debian's chromium).
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = defaultChromiumPaths): string {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) {
    if (!existsSync(chosen)) throw new Error(`CHROMIUM_PATH is ${chosen}, which does not exist.`);
    return chosen;
  }
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(`No Chromium at ${candidates.join(', ')}: set CHROMIUM_PATH to its executable (or apt-get install -y chromium).`);
  }
  return found;
}

/**
 * Headless Chromium through playwright-core: the headless shell when there is one, or with `full`
 * the desktop browser that people run (a few journeys use it, so both are covered).
 */
export async function launchChromium({ full = false }: { full?: boolean } = {}): Promise<Browser> {
  const executablePath = full ? findChromium(process.env, fullChromiumPaths) : findChromium();
  return chromium.launch({ executablePath, args: [...chromiumArgs] });
}
