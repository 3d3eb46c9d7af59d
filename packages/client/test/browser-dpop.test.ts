// The DPoP key in a real browser (Debian chromium via playwright-core): kept in IndexedDB, one per
// baseUrl for the whole origin, across reloads, tabs, a SharedWorker and two tabs making it at once;
// and no page script can export its private half. Proofs made in the page pass the verifier's check.
import { checkDpopProof } from '@tessera/verifier/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/chromium.js';
import { bundleForBrowser } from './browser-bundle.js';
import { type ListeningOrigin, listenOrigin } from './same-origin-proxy.js';

/** The Tessera the clients would talk to; never reached: the key is all these tests are about. */
const baseUrl = 'https://auth.example.test';

let bundle: string;
let browser: Browser;
let origin: ListeningOrigin;
let context: BrowserContext | null = null;

beforeAll(async () => {
  bundle = await bundleForBrowser(new URL('../src/index.ts', import.meta.url));
  browser = await launchChromium();
  origin = await listenOrigin((path, _request, response) => {
    if (path === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
      return;
    }
    if (path === '/dpop-worker.js') {
      const worker = `import { serveSessionWorker } from '/client.js';
serveSessionWorker({ baseUrl: ${JSON.stringify(baseUrl)}, dpop: true });`;
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(worker);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>dpop</title>');
  });
});

afterAll(async () => {
  await origin?.close();
  await browser?.close();
});

afterEach(async () => {
  await context?.close();
  context = null;
});

type Lib = typeof import('../src/index.js');

/** A page of the origin with the SDK loaded as `tesseraLib`. */
async function openPage(): Promise<Page> {
  context ??= await browser.newContext();
  const page = await context.newPage();
  await loadSdk(page);
  return page;
}

async function loadSdk(page: Page): Promise<void> {
  await page.goto(`${origin.url}/`);
  // A module script, not `import()` inside evaluate: vitest rewrites dynamic imports in test code.
  await page.addScriptTag({ type: 'module', content: "import * as lib from '/client.js'; globalThis.tesseraLib = lib;" });
  await page.waitForFunction(() => 'tesseraLib' in globalThis);
}

/** In the page: the thumbprint of a DPoP client for `url`. */
function thumbprintIn(page: Page, url = baseUrl): Promise<string | null> {
  return page.evaluate((url) => {
    const lib = (globalThis as unknown as { tesseraLib: Lib }).tesseraLib;
    return lib.createSessionClient({ baseUrl: url, dpop: true }).dpopThumbprint();
  }, url);
}

describe('the DPoP key in chromium', () => {
  it('is made once per baseUrl: the same after a reload and in a second tab, another for another baseUrl', async () => {
    const first = await openPage();
    const thumbprint = await thumbprintIn(first);
    expect(thumbprint).toMatch(/^[\w-]{43}$/);
    await first.reload();
    await loadSdk(first);
    expect(await thumbprintIn(first)).toBe(thumbprint);
    const second = await openPage();
    expect(await thumbprintIn(second)).toBe(thumbprint);
    const other = await thumbprintIn(second, 'https://other.example.test');
    expect(other).not.toBe(thumbprint);
    // A new profile (another browser, or site data cleared) is another device.
    const elsewhere = await browser.newContext();
    try {
      const page = await elsewhere.newPage();
      await loadSdk(page);
      expect(await thumbprintIn(page)).not.toBe(thumbprint);
    } finally {
      await elsewhere.close();
    }
  });

  it('two tabs making the first key at once end with one key, stored once', async () => {
    const tabs = [await openPage(), await openPage()];
    const starter = await openPage();
    // Each round a new baseUrl, so each is a first key; the tabs start on one BroadcastChannel message.
    const rounds = 5;
    const generated: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const url = `https://race-${round}.example.test`;
      const answers = tabs.map((tab) =>
        tab.evaluate(
          (url) =>
            new Promise<{ thumbprint: string | null; generated: number }>((resolve, reject) => {
              const scope = globalThis as unknown as { tesseraLib: Lib };
              // Counts the key pairs this tab generates: both making one shows the race was run.
              const subtle = crypto.subtle;
              const generateKey = subtle.generateKey.bind(subtle);
              let made = 0;
              subtle.generateKey = ((...args: Parameters<SubtleCrypto['generateKey']>) => {
                made += 1;
                return generateKey(...args);
              }) as SubtleCrypto['generateKey'];
              const go = new BroadcastChannel('go');
              go.onmessage = () => {
                go.close();
                scope.tesseraLib
                  .createSessionClient({ baseUrl: url, dpop: true, tabs: false })
                  .dpopThumbprint()
                  .then((thumbprint) => {
                    subtle.generateKey = generateKey;
                    resolve({ thumbprint, generated: made });
                  }, reject);
              };
              (globalThis as Record<string, unknown>).ready = true;
            }),
          url,
        ),
      );
      for (const tab of tabs) await tab.waitForFunction(() => (globalThis as Record<string, unknown>).ready === true);
      await starter.evaluate(() => new BroadcastChannel('go').postMessage('go'));
      const [a, b] = await Promise.all(answers);
      expect(a!.thumbprint).toBe(b!.thumbprint);
      generated.push(a!.generated + b!.generated);
      for (const tab of tabs) await tab.evaluate(() => delete (globalThis as Record<string, unknown>).ready);
    }
    // Both tabs found no key and made a candidate in at least one round: the race happened, and one key won it.
    expect(generated.some((count) => count === 2)).toBe(true);
    const stored = await starter.evaluate(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const opening = indexedDB.open('tessera-dpop');
          opening.onsuccess = () => {
            const reading = opening.result.transaction('keys').objectStore('keys').getAllKeys();
            reading.onsuccess = () => resolve((reading.result as string[]).filter((key) => key.startsWith('https://race-')));
            reading.onerror = () => reject(reading.error);
          };
          opening.onerror = () => reject(opening.error);
        }),
    );
    expect(stored.sort()).toEqual(Array.from({ length: rounds }, (_, round) => `https://race-${round}.example.test`));
  });

  it('no page script can export the private key, though it can reach it in IndexedDB', async () => {
    const page = await openPage();
    const thumbprint = await thumbprintIn(page);
    const attempt = await page.evaluate(
      () =>
        new Promise<{ extractable: boolean; exports: string[]; usages: string[] }>((resolve, reject) => {
          const opening = indexedDB.open('tessera-dpop');
          opening.onerror = () => reject(opening.error);
          opening.onsuccess = () => {
            const reading = opening.result.transaction('keys').objectStore('keys').get('https://auth.example.test');
            reading.onerror = () => reject(reading.error);
            reading.onsuccess = async () => {
              const { privateKey } = reading.result as CryptoKeyPair;
              const exports: string[] = [];
              for (const format of ['jwk', 'pkcs8'] as const) {
                exports.push(
                  await crypto.subtle.exportKey(format, privateKey).then(
                    () => `${format}: exported`,
                    (error: unknown) => `${format}: ${(error as Error).name}`,
                  ),
                );
              }
              resolve({ extractable: privateKey.extractable, exports, usages: privateKey.usages });
            };
          };
        }),
    );
    expect(attempt).toEqual({ extractable: false, exports: ['jwk: InvalidAccessError', 'pkcs8: InvalidAccessError'], usages: ['sign'] });
    expect(thumbprint).not.toBeNull();
  });

  it("a proof made in the page passes the verifier's check, with the key's thumbprint", async () => {
    const page = await openPage();
    const url = `${baseUrl}/v1/token/refresh`;
    const made = await page.evaluate(async (url) => {
      const lib = (globalThis as unknown as { tesseraLib: Lib }).tesseraLib;
      const client = lib.createSessionClient({ baseUrl: 'https://auth.example.test', dpop: true });
      return { proof: await client.dpopProof({ method: 'POST', url }), thumbprint: await client.dpopThumbprint(), now: Date.now() };
    }, url);
    const checked = await checkDpopProof(made.proof!, { method: 'POST', url, now: made.now });
    expect(checked.jkt).toBe(made.thumbprint);
  });

  it('a SharedWorker session (worker mode) proves with the key the pages of the origin share', async () => {
    const page = await openPage();
    const inPage = await thumbprintIn(page);
    const inWorker = await page.evaluate(() => {
      const lib = (globalThis as unknown as { tesseraLib: Lib }).tesseraLib;
      const worker = new SharedWorker('/dpop-worker.js', { type: 'module' });
      return lib.connectSessionWorker(worker.port).dpopThumbprint();
    });
    expect(inWorker).toBe(inPage);
  });
});
