import { join } from 'node:path';
import { ConfigError } from '../core/config-error.js';
import type { Log } from '../core/log.js';
import type { SessionStore } from '../core/store.js';
import { PostgresSessionStore } from './postgres.js';
import { SqliteSessionStore } from './sqlite.js';

export interface StoreLocation {
  /** Folder of the embedded store. */
  readonly dataDir: string;
  /** `postgres://…` (`DATABASE_URL`): PostgreSQL, shared by every node, instead of the embedded store. */
  readonly databaseUrl?: string;
  readonly log?: Log;
}

/** The embedded store's file in a `--data` folder. */
export function sqliteFileIn(dataDir: string): string {
  return join(dataDir, 'tessera.db');
}

/** The store a node runs on: PostgreSQL when a database URL is given, else the SQLite file under `dataDir`. */
export async function openStore(location: StoreLocation): Promise<SessionStore> {
  const url = location.databaseUrl;
  if (!url) return new SqliteSessionStore(sqliteFileIn(location.dataDir));
  if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL.');
  return PostgresSessionStore.open({ connectionString: url, ...(location.log ? { log: location.log } : {}) });
}
