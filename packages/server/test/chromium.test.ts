import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultChromiumPaths, findChromium } from './chromium.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
const present = join(dir, 'chromium');
const alsoPresent = join(dir, 'google-chrome');
writeFileSync(present, '');
writeFileSync(alsoPresent, '');
const absent = join(dir, 'not-here');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finding Chromium for the browser tests', () => {
  it('takes CHROMIUM_PATH when it is set', () => {
    expect(findChromium({ CHROMIUM_PATH: alsoPresent }, [present])).toBe(alsoPresent);
  });

  it('a CHROMIUM_PATH that names nothing is an error that says so, never a silent fallback', () => {
    expect(() => findChromium({ CHROMIUM_PATH: absent }, [present])).toThrow(`CHROMIUM_PATH is ${absent}, which does not exist`);
  });

  it('without it, the first of the usual places that exists', () => {
    expect(findChromium({}, [absent, present, alsoPresent])).toBe(present);
    expect(defaultChromiumPaths).toEqual(['/usr/bin/chromium-headless-shell', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']);
  });

  it('none found: one error naming the variable and the places tried', () => {
    expect(() => findChromium({}, [absent])).toThrow(`No Chromium at ${absent}: set CHROMIUM_PATH to its executable`);
  });
});
