/** What one piece of work in a batch came to: its value, or the error that failed it alone. */
export type BatchOutcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

/**
 * Group commit: work submitted during one turn of the event loop is run together, on the next
 * turn, by one call of `runBatch` (one transaction, one COMMIT, instead of one per piece). Each
 * submitter's promise settles with its own outcome only once `runBatch` has returned, that is
 * after the COMMIT: durability is as if each piece had committed alone. `runBatch` throwing fails
 * every piece of that batch (nothing was committed).
 */
export class GroupCommit<W, R> {
  readonly #runBatch: (work: readonly W[]) => BatchOutcome<R>[];
  readonly #maxBatch: number;
  #queue: { work: W; resolve: (value: R) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;

  /** At most `maxBatch` pieces per call; the rest wait for the next turn, which bounds a batch's latency. */
  constructor(runBatch: (work: readonly W[]) => BatchOutcome<R>[], maxBatch: number) {
    this.#runBatch = runBatch;
    this.#maxBatch = maxBatch;
  }

  submit(work: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ work, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: requests parsed in this turn (their handlers run as microtasks
    // and I/O callbacks) join the batch before it runs.
    setImmediate(() => this.#flush());
  }

  /** Runs everything still queued now, in as many batches as it takes: before the store closes. */
  drain(): void {
    while (this.#queue.length > 0) this.#flush();
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    if (this.#queue.length > 0) this.#schedule();
    let outcomes: BatchOutcome<R>[];
    try {
      outcomes = this.#runBatch(batch.map((entry) => entry.work));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    batch.forEach((entry, i) => {
      const outcome = outcomes[i];
      if (!outcome) entry.reject(new Error('group commit: no outcome for a piece of work'));
      else if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
  }
}

/**
 * Group commit for a store whose commits are round trips (PostgreSQL): work submitted while
 * `concurrency` batches are being committed waits, and goes into the next batch, which starts as
 * soon as one of them ends. Under light load a piece runs at once, alone; under heavy load pieces
 * share one transaction and one WAL flush. Each promise settles after its batch committed (or
 * failed): durability is as if each piece had committed alone.
 */
export class PipelinedGroupCommit<W, R> {
  readonly #runBatch: (work: readonly W[]) => Promise<BatchOutcome<R>[]>;
  readonly #maxBatch: number;
  readonly #concurrency: number;
  #queue: { work: W; resolve: (value: R) => void; reject: (error: unknown) => void }[] = [];
  #running = 0;
  #scheduled = false;

  constructor(runBatch: (work: readonly W[]) => Promise<BatchOutcome<R>[]>, options: { maxBatch: number; concurrency: number }) {
    this.#runBatch = runBatch;
    this.#maxBatch = options.maxBatch;
    this.#concurrency = options.concurrency;
  }

  submit(work: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ work, resolve, reject });
      if (this.#scheduled || this.#running >= this.#concurrency) return;
      // On the next turn, as GroupCommit does, so the requests of this turn share the batch.
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#next();
      });
    });
  }

  async #next(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.#running++;
    let outcomes: BatchOutcome<R>[] | undefined;
    let failure: unknown;
    try {
      outcomes = await this.#runBatch(batch.map((entry) => entry.work));
    } catch (error) {
      failure = error;
    }
    this.#running--;
    batch.forEach((entry, i) => {
      const outcome = outcomes?.[i];
      if (!outcomes) entry.reject(failure);
      else if (!outcome) entry.reject(new Error('group commit: no outcome for a piece of work'));
      else if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
    if (this.#queue.length > 0 && !this.#scheduled) void this.#next();
  }
}
