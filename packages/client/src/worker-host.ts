import { createSessionClient, type SessionClient, type SessionClientOptions } from './session-client.js';
import type { SessionHandler } from './session-handler.js';
import {
  connectMessageType,
  type ForwardedCallback,
  type MessagePortLike,
  receiveRequest,
  sendArgs,
  sendError,
  sendResponse,
  type WorkerMessage,
  type WorkerRequest,
  type WorkerSnapshot,
} from './worker-protocol.js';

/** What `serveSessionWorker` takes: a client's options, less what belongs to the pages. */
export type SessionWorkerOptions = Omit<SessionClientOptions, 'handler' | 'environment' | 'keepAliveWhileHidden'> & {
  /** For apps whose own backend mints tokens (see `SessionHandler.onTokenRequired`); runs in the worker. */
  readonly onTokenRequired?: SessionHandler['onTokenRequired'];
};

/** One client session in a worker, serving any number of pages over message ports. */
export interface SessionWorkerHost {
  /** The worker's client: the one that refreshes. */
  readonly client: SessionClient;
  /** Serves one page over `port` (a `SharedWorker` connection, or the port a page sent a Service Worker). */
  connect(port: MessagePortLike): void;
  dispose(): void;
}

const forwarded: readonly ForwardedCallback[] = ['onSessionRefreshed', 'onSessionExpired', 'onSessionRevoked', 'onSessionError', 'onSessionClosed'];

/**
 * The refresh loop in a worker: one client session for every page of the origin, refreshing on
 * schedule even while the pages are hidden or throttled. Pages connect with `connectSessionWorker`.
 */
export function createSessionWorkerHost(options: SessionWorkerOptions): SessionWorkerHost {
  const ports = new Set<MessagePortLike>();
  const broadcast = (message: WorkerMessage) => {
    for (const port of ports) port.postMessage(message);
  };
  const handler: SessionHandler = {};
  for (const name of forwarded) {
    handler[name] = (...args: unknown[]) => broadcast({ type: 'callback', name, args: sendArgs(args) });
  }
  if (options.onTokenRequired) handler.onTokenRequired = options.onTokenRequired;
  // No page events in a worker: it refreshes on schedule, which is what it is for.
  const client = createSessionClient({ ...options, handler, keepAliveWhileHidden: true, environment: { target: null, document: null } });
  const snapshot = (): WorkerSnapshot => ({
    state: client.state,
    clockSkew: client.clockSkew,
    sessionId: client.sessionId,
    session: client.session,
    accessTokenExpiresAt: client.accessTokenExpiresAt?.getTime() ?? null,
    endError: client.endError ? sendError(client.endError) : null,
  });
  const stopWatching = client.subscribe(() => broadcast({ type: 'snapshot', snapshot: snapshot() }));

  const answer = async (request: WorkerRequest): Promise<{ value: unknown; transfer?: Transferable[] }> => {
    switch (request.op) {
      case 'setSession':
        await client.setSession(request.grant);
        return { value: null };
      case 'getAccessToken':
        return { value: await client.getAccessToken() };
      case 'fetch': {
        const response = await sendResponse(await client.fetch(receiveRequest(request.request)));
        return { value: response, transfer: response.body ? [response.body] : [] };
      }
      case 'logout':
        await client.logout();
        return { value: null };
      case 'logoutOthers':
        return { value: await client.logoutOthers() };
      case 'sessions':
        return { value: await client.sessions() };
      case 'endSession':
        await client.endSession(request.sessionId);
        return { value: null };
      case 'dpopThumbprint':
        return { value: await client.dpopThumbprint() };
      case 'dpopProof':
        return { value: await client.dpopProof(request.request) };
      case 'disconnect':
        return { value: null };
    }
  };

  return {
    client,
    connect(port) {
      ports.add(port);
      const onMessage = (event: { data: unknown }) => {
        const request = event.data as WorkerRequest;
        if (typeof request !== 'object' || request === null || typeof request.id !== 'number') return;
        if (request.op === 'disconnect') {
          ports.delete(port);
          port.removeEventListener('message', onMessage);
        }
        answer(request).then(
          ({ value, transfer }) => port.postMessage({ type: 'reply', id: request.id, ok: true, value } satisfies WorkerMessage, transfer ?? []),
          (error: unknown) => port.postMessage({ type: 'reply', id: request.id, ok: false, error: sendError(error) } satisfies WorkerMessage),
        );
      };
      port.addEventListener('message', onMessage);
      port.start?.();
      void client.ready.then(() => port.postMessage({ type: 'snapshot', snapshot: snapshot() } satisfies WorkerMessage));
    },
    dispose() {
      stopWatching();
      client.dispose();
      ports.clear();
    },
  };
}

/**
 * Runs the session in this `SharedWorker` or Service Worker: pages connect with
 * `connectSessionWorker(new SharedWorker(url).port)` or `connectSessionWorker(registration.active)`.
 *
 * @example
 * ```ts
 * // session-worker.ts, loaded with new SharedWorker('/session-worker.js', { type: 'module' })
 * import { serveSessionWorker } from '@tessera/client';
 * serveSessionWorker({ baseUrl: 'https://auth.example.com' });
 * ```
 */
export function serveSessionWorker(options: SessionWorkerOptions): SessionWorkerHost {
  const host = createSessionWorkerHost(options);
  const scope = globalThis as unknown as {
    addEventListener(type: string, listener: (event: { data?: unknown; ports?: readonly MessagePortLike[] }) => void): void;
    onconnect?: unknown;
  };
  if ('onconnect' in scope) {
    // A SharedWorker: each page's `new SharedWorker(…)` arrives as a `connect` event with its port.
    scope.addEventListener('connect', (event) => {
      const port = event.ports?.[0];
      if (port) host.connect(port);
    });
  } else {
    // A Service Worker: a page posts `{ type: 'tessera:connect' }` with a `MessagePort`.
    scope.addEventListener('message', (event) => {
      const port = event.ports?.[0];
      if ((event.data as { type?: unknown } | null)?.type === connectMessageType && port) host.connect(port);
    });
  }
  return host;
}
