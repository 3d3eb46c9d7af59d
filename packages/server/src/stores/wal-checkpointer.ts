import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * How often the thread checkpoints. At 2,000 refreshes a second over a big store the log grows by
 * ~12,000 pages a second (each rotation dirties half a dozen scattered pages): a pass copies a few
 * hundred.
 */
const checkpointIntervalMs = 20;

/**
 * The main connection's own automatic checkpoint while the thread runs, in log pages (8 MiB). The
 * thread's passes are PASSIVE: they copy what is committed and wait for no one, so under steady
 * writes the log is never all copied when a writer starts, and never goes back to its beginning.
 * The main connection's checkpoint, run right after its commit, copies what the last pass left (a
 * pass's worth at most) and lets the next write start the log afresh: the log stays near this size
 * (14.6 MiB at 5,000 rotations a second here). SQLite's default, 1,000 pages, is restored if the
 * thread stops on its own.
 */
const mainCheckpointPages = 2048;
const defaultAutocheckpointPages = 1000;

/** The checkpointer thread's code: CommonJS, run with `eval`, so it needs no file of its own in a bundle. */
const checkpointerSource = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
setInterval(() => passive.all(), workerData.intervalMs);
`;

/**
 * Copies a SQLite store's write-ahead log into its database file from a thread of its own, instead
 * of inside the commit that crosses SQLite's threshold. That copy and its fsync ran on the event
 * loop: with refreshes spread over a store of 200,000 sessions a commit cost 227 µs a refresh, most
 * of it the checkpoint, and 72 µs with most of the copy on this thread (`npm run
 * bench:profile-refresh -- --seeded 200000`). Durability is unchanged: a commit is in the log before
 * its answer either way.
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
    const worker = new Worker(checkpointerSource, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        intervalMs: checkpointIntervalMs,
      },
    });
    const checkpointer = new WalCheckpointer(worker);
    db.pragma(`wal_autocheckpoint = ${mainCheckpointPages}`);
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

  /** Stops the thread; the connection is being closed (closing it checkpoints what is left). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#worker.terminate();
  }
}
