import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { signatureOf, signingInputOf } from './jws-sign.js';

/**
 * Signatures made on the calling thread before the signing thread starts: a node in service (sign-ins,
 * refreshes), not a test or a CLI command that signs a few tokens (a thread costs ~30 ms to start).
 */
const defaultThreadAfterSignatures = 256;

/** Fewer signatures than this, asked for in one turn of the event loop, are made on the calling thread. */
const threadBatchMin = 2;

/**
 * The thread's code: CommonJS, run with `eval`, so the bundled CLI needs no file of its own. Keys come
 * once each (`KeyObject`s clone across threads); a batch is `[keyId, alg, signingInput][]`, and the
 * answer holds each signature in base64url, or the batch's error.
 */
const signerSource = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (message) => {
  if (message.type === 'key') {
    keys.set(message.keyId, message.key);
    return;
  }
  try {
    const signatures = message.inputs.map(([keyId, alg, input]) => {
      const key = keys.get(keyId);
      const data = Buffer.from(input, 'utf8');
      if (alg === 'ES256') return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      if (alg === 'EdDSA') return sign(null, data, key).toString('base64url');
      throw new Error('unsupported alg ' + alg);
    });
    parentPort.postMessage({ id: message.id, signatures });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: String(error) });
  }
});
`;

interface PendingSignature {
  readonly alg: string;
  readonly input: string;
  readonly key: KeyObject;
  readonly resolve: (token: string) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Signs compact JWSs (ES256 or EdDSA), on a thread of its own once the node is in service. A refresh
 * signs one access token: ~45 µs of the event loop's ~500 µs on this project's 2-core bench machine,
 * where the event loop is what limits refreshes and the other core is a third busy. The signatures
 * asked for in one turn of the event loop go to the thread together, one message each way, so the
 * event loop spends ~4 µs a signature instead (batches of 16; `npm run bench:profile-refresh`).
 *
 * Before the thread starts, and for a turn that asks for a single signature, signing stays on the
 * calling thread. If the thread fails, what it held is signed on the calling thread, and so is
 * everything after: no token is lost and none is signed twice.
 */
export class JwsSigner {
  readonly #threadAfterSignatures: number;
  #signatures = 0;
  #worker: Worker | undefined;
  #failed = false;
  #queue: PendingSignature[] = [];
  #scheduled = false;
  readonly #inFlight = new Map<number, PendingSignature[]>();
  #nextBatchId = 0;
  /** The id under which the thread holds each key it was sent. */
  readonly #keyIds = new WeakMap<KeyObject, number>();
  #nextKeyId = 0;

  /** `threadAfterSignatures`: signatures made here before the thread starts (256). */
  constructor(options: { readonly threadAfterSignatures?: number } = {}) {
    this.#threadAfterSignatures = options.threadAfterSignatures ?? defaultThreadAfterSignatures;
  }

  /** Where signatures are made from now on: here until the thread starts, here again if it failed or was closed. */
  get thread(): 'not started' | 'running' | 'stopped' {
    if (this.#worker) return 'running';
    return this.#failed ? 'stopped' : 'not started';
  }

  /** The token: `header.payload.signature`, each part base64url (RFC 7515 §7.1). */
  async sign(header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>, key: KeyObject): Promise<string> {
    const alg = String(header['alg']);
    const input = signingInputOf(header, payload);
    if (!this.#threadReady()) return `${input}.${signatureOf(alg, input, key).toString('base64url')}`;
    return new Promise<string>((resolve, reject) => {
      this.#queue.push({ alg, input, key, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // On the next turn, as the store's group commit does: the requests parsed in this one join the batch.
      setImmediate(() => this.#flush());
    });
  }

  /** Stops the thread (the node is closing); what it holds is signed here. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#failed = true;
    this.#worker = undefined;
    this.#flush();
    if (worker) {
      this.#signInFlightHere();
      await worker.terminate();
    }
  }

  #threadReady(): boolean {
    if (this.#worker) return true;
    if (this.#failed || this.#signatures++ < this.#threadAfterSignatures) return false;
    try {
      this.#worker = this.#startWorker();
      return true;
    } catch {
      this.#failed = true;
      return false;
    }
  }

  #startWorker(): Worker {
    const worker = new Worker(signerSource, { eval: true });
    // It keeps no process alive: a node that is done exits without closing it.
    worker.unref();
    worker.on('message', (message: { id: number; signatures?: string[]; error?: string }) => {
      const batch = this.#inFlight.get(message.id);
      if (!batch) return;
      this.#inFlight.delete(message.id);
      const { signatures } = message;
      for (const [i, pending] of batch.entries()) {
        const signature = signatures?.[i];
        // The thread refused the batch (a key or algorithm it could not use): each is signed, or refused, here.
        if (signature === undefined) this.#signHere(pending);
        else pending.resolve(`${pending.input}.${signature}`);
      }
    });
    const fallBack = () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failed = true;
      this.#signInFlightHere();
    };
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
    return worker;
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    const worker = this.#worker;
    if (!worker || batch.length < threadBatchMin) {
      for (const pending of batch) this.#signHere(pending);
      return;
    }
    try {
      const inputs = batch.map((pending) => [this.#keyIdOn(worker, pending.key), pending.alg, pending.input]);
      const id = this.#nextBatchId++;
      worker.postMessage({ id, inputs });
      this.#inFlight.set(id, batch);
    } catch {
      // The thread cannot be sent work (a key that does not clone, a thread gone): stop using it.
      this.#failed = true;
      this.#worker = undefined;
      void worker.terminate();
      this.#signInFlightHere();
      for (const pending of batch) this.#signHere(pending);
    }
  }

  #keyIdOn(worker: Worker, key: KeyObject): number {
    let keyId = this.#keyIds.get(key);
    if (keyId === undefined) {
      keyId = this.#nextKeyId++;
      this.#keyIds.set(key, keyId);
      worker.postMessage({ type: 'key', keyId, key });
    }
    return keyId;
  }

  #signInFlightHere(): void {
    const batches = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const batch of batches) for (const pending of batch) this.#signHere(pending);
  }

  #signHere(pending: PendingSignature): void {
    try {
      pending.resolve(`${pending.input}.${signatureOf(pending.alg, pending.input, pending.key).toString('base64url')}`);
    } catch (error) {
      pending.reject(error);
    }
  }
}
