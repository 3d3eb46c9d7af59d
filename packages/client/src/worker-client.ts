import type { DpopProofRequest } from './dpop-prover.js';
import type { SessionEndedError } from './errors.js';
import { callHandler, Listeners } from './listeners.js';
import { openRealtime, publicClientHost, type RealtimeOptions, type RealtimeSocket } from './realtime.js';
import type { ClientSessionState, LogoutOthersResult, SessionClient } from './session-client.js';
import type { DeviceSession } from './session-endpoints.js';
import type { SessionHandler } from './session-handler.js';
import { assertTokenGrant, dateOrNull, type SessionInfo, type TokenGrant } from './token-grant.js';
import {
  connectMessageType,
  type MessagePortLike,
  receiveArgs,
  receiveError,
  receiveResponse,
  type SentResponse,
  sendRequest,
  type WorkerMessage,
  type WorkerRequest,
  type WorkerSnapshot,
} from './worker-protocol.js';

/** The part of a `ServiceWorker` used to connect to it. */
export interface ServiceWorkerLike {
  readonly scriptURL: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

export interface ConnectSessionWorkerOptions {
  /** This page's callbacks: each transition of the worker's session is told to every page once. */
  readonly handler?: Omit<SessionHandler, 'onTokenRequired'>;
}

/** Distributes `Omit` over the union, so each request keeps its own fields. */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/**
 * A page's view of the session a worker keeps (see `serveSessionWorker`): the same `SessionClient`
 * API, with every refresh done once, in the worker, for all pages.
 *
 * @example
 * ```ts
 * const client = connectSessionWorker(new SharedWorker('/session-worker.js', { type: 'module' }).port, {
 *   handler: { onSessionRevoked: (reason) => showSignIn(reason) },
 * });
 * const res = await client.fetch('/api/orders');
 * ```
 */
export function connectSessionWorker(target: MessagePortLike | ServiceWorkerLike, options: ConnectSessionWorkerOptions = {}): SessionClient {
  return new WorkerSessionClient(openPort(target), options.handler ?? {});
}

function openPort(target: MessagePortLike | ServiceWorkerLike): MessagePortLike {
  if (!('scriptURL' in target)) return target;
  const channel = new MessageChannel();
  target.postMessage({ type: connectMessageType }, [channel.port2]);
  return channel.port1 as unknown as MessagePortLike;
}

class WorkerSessionClient implements SessionClient {
  readonly ready: Promise<void>;
  readonly #port: MessagePortLike;
  readonly #handler: Omit<SessionHandler, 'onTokenRequired'>;
  readonly #listeners = new Listeners<ClientSessionState>();
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #snapshot: WorkerSnapshot = { state: 'loading', clockSkew: 0, sessionId: null, session: null, accessTokenExpiresAt: null, endError: null };
  /** `endError` of the snapshot, made an error once per snapshot. */
  #endError: SessionEndedError | null = null;
  #nextId = 1;
  #markReady: () => void = () => {};
  readonly #onMessage = (event: { data: unknown }) => this.#receive(event.data as WorkerMessage);

  constructor(port: MessagePortLike, handler: Omit<SessionHandler, 'onTokenRequired'>) {
    this.#port = port;
    this.#handler = handler;
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
    port.addEventListener('message', this.#onMessage);
    port.start?.();
  }

  get state(): ClientSessionState {
    return this.#snapshot.state;
  }

  get clockSkew(): number {
    return this.#snapshot.clockSkew;
  }

  get sessionId(): string | null {
    return this.#snapshot.sessionId;
  }

  get session(): SessionInfo | null {
    return this.#snapshot.session;
  }

  get accessTokenExpiresAt(): Date | null {
    return dateOrNull(this.#snapshot.accessTokenExpiresAt);
  }

  get endError(): SessionEndedError | null {
    return this.#endError;
  }

  subscribe(listener: (state: ClientSessionState) => void): () => void {
    return this.#listeners.add(listener);
  }

  setSession(grant: TokenGrant): Promise<void> {
    assertTokenGrant(grant);
    // Requests are answered in order: a getAccessToken() right after this sees the new session.
    return this.#ask({ op: 'setSession', grant }).then(() => undefined);
  }

  async getAccessToken(): Promise<string> {
    return (await this.#ask({ op: 'getAccessToken' })) as string;
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = await sendRequest(input, init);
    const answer = (await this.#ask({ op: 'fetch', request }, request.body ? [request.body] : [])) as SentResponse;
    return receiveResponse(answer);
  }

  async logout(): Promise<void> {
    await this.#ask({ op: 'logout' });
  }

  async logoutOthers(): Promise<LogoutOthersResult> {
    return (await this.#ask({ op: 'logoutOthers' })) as LogoutOthersResult;
  }

  /** Dates cross to the page as `Date`: structured cloning keeps them. */
  async sessions(): Promise<DeviceSession[]> {
    return (await this.#ask({ op: 'sessions' })) as DeviceSession[];
  }

  async endSession(id: string): Promise<void> {
    await this.#ask({ op: 'endSession', sessionId: id });
  }

  /** The worker's key: DPoP is set on `serveSessionWorker({ dpop })`, and the key lives in the worker. */
  async dpopThumbprint(): Promise<string | null> {
    return (await this.#ask({ op: 'dpopThumbprint' })) as string | null;
  }

  /** Signed in the worker, with its key and nonces. */
  async dpopProof(request: DpopProofRequest): Promise<string | null> {
    const { method, url, accessToken } = request;
    return (await this.#ask({ op: 'dpopProof', request: { method, url, ...(accessToken === undefined ? {} : { accessToken }) } })) as string | null;
  }

  /** Needs `{ url }`: the page does not know the worker's `baseUrl`. */
  realtime(options: RealtimeOptions = {}): RealtimeSocket {
    return openRealtime(publicClientHost(this, options.url), options);
  }

  dispose(): void {
    this.#port.postMessage({ id: this.#nextId++, op: 'disconnect' } satisfies WorkerRequest);
    this.#port.removeEventListener('message', this.#onMessage);
    this.#listeners.clear();
  }

  #ask(body: RequestBody, transfer: Transferable[] = []): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#port.postMessage({ ...body, id }, transfer);
    });
  }

  #receive(message: WorkerMessage): void {
    switch (message.type) {
      case 'reply': {
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(receiveError(message.error));
        return;
      }
      case 'snapshot': {
        this.#snapshot = message.snapshot;
        this.#endError = message.snapshot.endError ? (receiveError(message.snapshot.endError) as SessionEndedError) : null;
        this.#markReady();
        // The worker sends a snapshot on every change of state or tokens, and once on connecting.
        this.#listeners.emit(message.snapshot.state);
        return;
      }
      case 'callback':
        callHandler(this.#handler, message.name, receiveArgs(message.args));
        return;
    }
  }
}
