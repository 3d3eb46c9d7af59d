import { join } from 'node:path';
import type { SessionStore } from '../core/store.js';
import { SqliteSessionStore } from './sqlite.js';

export interface StoreLocation {
  /** Folder of the embedded store. */
  readonly dataDir: string;
}

/** The store a node runs on: the embedded SQLite file under `dataDir`. */
export function openStore(location: StoreLocation): SessionStore {
  return new SqliteSessionStore(join(location.dataDir, 'tessera.db'));
}
