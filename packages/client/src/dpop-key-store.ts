/**
 * Where the DPoP key pair lives: in browsers and workers, IndexedDB (a `CryptoKey` is stored by
 * structured clone and stays non-extractable), one pair per Tessera `baseUrl`, shared by every tab
 * and worker of the origin; elsewhere (Node), memory.
 */
import { generateDpopKeyPair } from './dpop-key.js';

const databaseName = 'tessera-dpop';
const storeName = 'keys';

/** Where the pair comes from. Asked once per client; the answer is the same pair every time. */
export type DpopKeyPairSource = () => Promise<CryptoKeyPair>;

/** IndexedDB when the environment has it, else a pair kept in memory by this source. */
export function defaultDpopKeyPairSource(baseUrl: string): DpopKeyPairSource {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (idb === undefined) return memoryDpopKeyPairSource();
  const fallback = memoryDpopKeyPairSource();
  // Storage refused (a private window, site data blocked): a key for this page's life. A session
  // bound to it cannot be refreshed after a reload; it ends then, as one kept in memory would.
  return () => storedDpopKeyPair(idb, baseUrl).catch(() => fallback());
}

/** A pair made on first use and kept in memory. */
export function memoryDpopKeyPairSource(): DpopKeyPairSource {
  let pair: Promise<CryptoKeyPair> | null = null;
  return () => {
    pair ??= generateDpopKeyPair();
    return pair;
  };
}

/**
 * The pair stored for `baseUrl`, made and stored on first use. Two tabs making the first pair at
 * once end with one: each generates a candidate, then one `readwrite` transaction reads and writes
 * only when nothing is there. IndexedDB runs `readwrite` transactions on one store one after the
 * other, so the second finds the first's pair and drops its own. (The candidate is made before the
 * transaction: awaiting Web Crypto inside it would let it commit.)
 */
export async function storedDpopKeyPair(idb: IDBFactory, baseUrl: string, generate: DpopKeyPairSource = generateDpopKeyPair): Promise<CryptoKeyPair> {
  const database = await openDatabase(idb);
  try {
    const found = await readPair(database, baseUrl);
    if (found) return found;
    return await storeUnlessPresent(database, baseUrl, await generate());
  } finally {
    database.close();
  }
}

function openDatabase(idb: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const opening = idb.open(databaseName, 1);
    opening.onupgradeneeded = () => {
      if (!opening.result.objectStoreNames.contains(storeName)) opening.result.createObjectStore(storeName);
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
    opening.onblocked = () => reject(new Error('The DPoP key database is blocked by an older version open in another tab.'));
  });
}

function readPair(database: IDBDatabase, baseUrl: string): Promise<CryptoKeyPair | null> {
  return new Promise((resolve, reject) => {
    const reading = database.transaction(storeName, 'readonly').objectStore(storeName).get(baseUrl);
    reading.onsuccess = () => resolve(asKeyPair(reading.result));
    reading.onerror = () => reject(reading.error);
  });
}

function storeUnlessPresent(database: IDBDatabase, baseUrl: string, candidate: CryptoKeyPair): Promise<CryptoKeyPair> {
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(storeName, 'readwrite');
    const store = transaction.objectStore(storeName);
    let kept = candidate;
    const reading = store.get(baseUrl);
    reading.onsuccess = () => {
      const present = asKeyPair(reading.result);
      if (present) kept = present;
      else store.put({ privateKey: candidate.privateKey, publicKey: candidate.publicKey }, baseUrl);
    };
    transaction.oncomplete = () => resolve(kept);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error ?? new Error('The DPoP key was not stored.'));
  });
}

/** A stored record that is a usable pair; anything else (a record from elsewhere) is treated as none and replaced. */
function asKeyPair(record: unknown): CryptoKeyPair | null {
  if (typeof record !== 'object' || record === null) return null;
  const { privateKey, publicKey } = record as Partial<CryptoKeyPair>;
  const isKey = (key: unknown): key is CryptoKey => typeof CryptoKey === 'function' && key instanceof CryptoKey;
  return isKey(privateKey) && isKey(publicKey) ? { privateKey, publicKey } : null;
}
