import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * How often the thread checkpoints. At 3,000 refreshes a second a store appends ~20,000 WAL pages a
 * second (each rotation of a session spread over a big store dirties half a dozen pages), so a pass
 * copies about a thousand: what SQLite's own automatic checkpoint copies at a time.
 */
const checkpointIntervalMs = 50;

/**
 * WAL pages after which the thread restarts the log. Its passes are PASSIVE: they copy what is
 * committed and wait for no one, so under steady writes the log is never all copied at the moment a
 * writer starts, and never goes back to its beginning. A RESTART pass waits for the writer of the
 * moment, copies the rest and has the next writer start the log afresh: the node's writes wait for
 * it too, once per this many pages (16 MiB of log), for the few pages the last pass left.
 */
const restartAfterPages = 4096;

/**
 * The main connection's own automatic checkpoint while the thread runs: a backstop that keeps the
 * log bounded (64 MiB) should the thread fall behind. SQLite's default, restored if the thread stops
 * on its own, is 1,000 pages.
 */
const backstopPages = 16_384;
const defaultAutocheckpointPages = 1000;

/** The checkpointer thread's code: CommonJS, run with `eval`, so it needs no file of its own in a bundle. */
const checkpointerSource = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
setInterval(() => {
  const [{ log }] = passive.all();
  if (log >= workerData.restartAfterPages) restart.all();
}, workerData.intervalMs);
`;

/**
 * Copies a SQLite store's write-ahead log into its database file from a thread of its own, instead
 * of inside the commit that crosses SQLite's threshold. That copy and its fsync ran on the event
 * loop: with refreshes spread over a store of 200,000 sessions a commit cost 227 µs a refresh, most
 * of it the checkpoint, and 72 µs with the copy on this thread (`npm run bench:profile-refresh --
 * --seeded 200000`). Durability is unchanged: a commit is in the log before its answer either way.
 *
 * An error in the thread (it cannot open the file, the disk fails) ends it, and the main connection
 * checkpoints by itself again, as SQLite does by default.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  #stopped = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts checkpointing the store at `path`, which `db` (its main connection) writes in WAL mode. */
  static start(path: string, db: Database.Database): WalCheckpointer {
    db.pragma(`wal_autocheckpoint = ${backstopPages}`);
    const worker = new Worker(checkpointerSource, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        intervalMs: checkpointIntervalMs,
        restartAfterPages,
      },
    });
    const checkpointer = new WalCheckpointer(worker);
    // It keeps no process alive: a node that is done exits without stopping it.
    worker.unref();
    const fallBack = () => {
      if (!checkpointer.#stopped && db.open) db.pragma(`wal_autocheckpoint = ${defaultAutocheckpointPages}`);
      checkpointer.#stopped = true;
    };
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
    return checkpointer;
  }

  /** Whether the thread is still checkpointing. */
  get running(): boolean {
    return !this.#stopped;
  }

  /** Stops the thread; the connection is being closed (closing it checkpoints what is left). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#worker.terminate();
  }
}
