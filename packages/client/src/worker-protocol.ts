import type { DpopProofRequest } from './dpop-prover.js';
import type { TesseraErrorCode } from './error-codes.js';
import { isSessionEndCode, SessionEndedError, SilentAuthFailedError, TesseraError } from './errors.js';
import type { ClientSessionState } from './session-client.js';
import type { SessionInfo, TokenGrant } from './token-grant.js';

/** What a page asks the session worker; each request gets one `reply` with its `id`. */
export type WorkerRequest =
  | { readonly id: number; readonly op: 'setSession'; readonly grant: TokenGrant }
  | { readonly id: number; readonly op: 'getAccessToken' }
  | { readonly id: number; readonly op: 'fetch'; readonly request: SentRequest }
  | { readonly id: number; readonly op: 'logout' }
  | { readonly id: number; readonly op: 'logoutOthers' }
  | { readonly id: number; readonly op: 'sessions' }
  | { readonly id: number; readonly op: 'endSession'; readonly sessionId: string }
  | { readonly id: number; readonly op: 'dpopThumbprint' }
  | { readonly id: number; readonly op: 'dpopProof'; readonly request: DpopProofRequest }
  | { readonly id: number; readonly op: 'disconnect' };

/** Where the worker's client session stands, as every page mirrors it. */
export interface WorkerSnapshot {
  readonly state: ClientSessionState;
  readonly clockSkew: number;
  readonly sessionId: string | null;
  readonly session: SessionInfo | null;
  /** Epoch milliseconds on the server's clock, or null. */
  readonly accessTokenExpiresAt: number | null;
  readonly endError: SentError | null;
}

/** The handler callbacks a page hears from the worker (`onTokenRequired` stays in the worker). */
export type ForwardedCallback = 'onSessionRefreshed' | 'onSessionExpired' | 'onSessionRevoked' | 'onSessionError' | 'onSessionClosed';

/** What the session worker tells a page. */
export type WorkerMessage =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: SentError }
  | { readonly type: 'snapshot'; readonly snapshot: WorkerSnapshot }
  | { readonly type: 'callback'; readonly name: ForwardedCallback; readonly args: readonly unknown[] };

/** A page posts this (with a `MessagePort`) to a Service Worker to connect to its session. */
export const connectMessageType = 'tessera:connect';

/** The part of `MessagePort` both sides use. */
export interface MessagePortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start?(): void;
  close?(): void;
}

/** A `Request` as structured data: the body read into bytes, so it can cross to the worker. */
export interface SentRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: [string, string][];
  readonly body: ArrayBuffer | null;
  readonly credentials: RequestCredentials;
  readonly mode: RequestMode;
  readonly cache: RequestCache;
  readonly redirect: RequestRedirect;
}

/** A `Response` as structured data. */
export interface SentResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: [string, string][];
  readonly body: ArrayBuffer | null;
}

/** An error as structured data: structured cloning keeps only an `Error`'s name and message. */
export type SentError =
  | {
      readonly kind: 'tessera';
      readonly code: TesseraErrorCode;
      readonly message: string;
      readonly status: number;
      readonly details: Record<string, unknown>[];
      readonly retryAfter: number | null;
      readonly requestId: string | null;
      readonly docUrl: string | null;
    }
  | { readonly kind: 'other'; readonly name: string; readonly message: string };

export function sendError(error: unknown): SentError {
  if (error instanceof TesseraError) {
    const { code, message, status, details, retryAfter, requestId, docUrl } = error;
    return { kind: 'tessera', code, message, status, details, retryAfter, requestId, docUrl };
  }
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return { kind: 'other', name, message };
}

/** The error a `SentError` stands for, with its class: `SessionEndedError`, `SilentAuthFailedError`, … */
export function receiveError(sent: SentError): Error {
  if (sent.kind === 'other') {
    const error = sent.name === 'TypeError' ? new TypeError(sent.message) : new Error(sent.message);
    if (sent.name !== 'TypeError') error.name = sent.name;
    return error;
  }
  const { code, ...options } = sent;
  if (code === 'silent_auth_failed') return new SilentAuthFailedError(options);
  if (isSessionEndCode(code)) return new SessionEndedError(code, options);
  return new TesseraError(code, options);
}

/** Handler arguments with their errors made structured. */
export function sendArgs(args: readonly unknown[]): unknown[] {
  return args.map((arg) => (arg instanceof Error ? { sentError: sendError(arg) } : arg));
}

export function receiveArgs(args: readonly unknown[]): unknown[] {
  return args.map((arg) => {
    const sent = (arg as { sentError?: SentError } | null)?.sentError;
    return sent ? receiveError(sent) : arg;
  });
}

export async function sendRequest(input: RequestInfo | URL, init?: RequestInit): Promise<SentRequest> {
  const request = new Request(input, init);
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
  return {
    url: request.url,
    method: request.method,
    headers: headerList(request.headers),
    body: body && body.byteLength > 0 ? body : null,
    credentials: request.credentials,
    mode: request.mode === 'navigate' ? 'same-origin' : request.mode,
    cache: request.cache,
    redirect: request.redirect,
  };
}

export function receiveRequest(sent: SentRequest): Request {
  const { url, body, ...init } = sent;
  return new Request(url, { ...init, body });
}

export async function sendResponse(response: Response): Promise<SentResponse> {
  const body = await response.arrayBuffer();
  return { status: response.status, statusText: response.statusText, headers: headerList(response.headers), body: body.byteLength > 0 ? body : null };
}

export function receiveResponse(sent: SentResponse): Response {
  // 101, 204, 205 and 304 may not have a body.
  const body = [101, 204, 205, 304].includes(sent.status) ? null : sent.body;
  return new Response(body, { status: sent.status, statusText: sent.statusText, headers: sent.headers });
}

function headerList(headers: Headers): [string, string][] {
  const list: [string, string][] = [];
  headers.forEach((value, name) => {
    list.push([name, value]);
  });
  return list;
}
