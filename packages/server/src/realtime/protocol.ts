import type { RawData } from 'ws';
import { realtimeError } from './close-codes.js';

/**
 * The frames of `/v1/realtime`, as the contract fixes them, plus the app's own `message` frames.
 * Client → server: `auth` (first, and again at any time), `message`.
 * Server → client: `ready`, `token_expiring`, `session_ended`, `error` (before a close), `message`.
 */
export type ClientFrame =
  /** `dpop`: a DPoP proof for `GET` and the socket's URL (as http or https), for a token bound to a key. */
  { readonly type: 'auth'; readonly accessToken: string; readonly dpop?: string } | { readonly type: 'message'; readonly data: unknown };

export type ServerFrame =
  | { readonly type: 'ready'; readonly session_id: string; readonly access_token_expires_at: string }
  | { readonly type: 'token_expiring'; readonly access_token_expires_at: string }
  | { readonly type: 'session_ended'; readonly error: unknown }
  | { readonly type: 'error'; readonly error: unknown }
  | { readonly type: 'message'; readonly data: unknown };

/** Reads one client frame; anything that is not one is `invalid_request` (close 4400). */
export function parseClientFrame(raw: RawData, isBinary: boolean): ClientFrame {
  if (isBinary) throw invalid('Frames are JSON text, not binary.');
  let value: unknown;
  try {
    value = JSON.parse(rawText(raw));
  } catch {
    throw invalid('The frame is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('A frame is a JSON object with a "type".');
  const frame = value as Record<string, unknown>;
  switch (frame['type']) {
    case 'auth': {
      const accessToken = frame['access_token'];
      if (typeof accessToken !== 'string' || accessToken === '') {
        throw invalid('"auth" needs an "access_token" string.', [{ field: 'access_token', message: 'must be a non-empty string' }]);
      }
      const dpop = frame['dpop'];
      if (dpop !== undefined && (typeof dpop !== 'string' || dpop === '')) {
        throw invalid('"dpop" is a DPoP proof (a compact JWS) when it is given.', [{ field: 'dpop', message: 'must be a non-empty string' }]);
      }
      return dpop === undefined ? { type: 'auth', accessToken } : { type: 'auth', accessToken, dpop };
    }
    case 'message':
      return { type: 'message', data: frame['data'] };
    default:
      throw invalid('Unknown frame type: send "auth" or "message".', [{ field: 'type', message: 'must be "auth" or "message"' }]);
  }
}

/** The JSON text of a server frame. */
export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

function rawText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

function invalid(message: string, details: Record<string, unknown>[] = []) {
  return realtimeError('invalid_request', { message, details });
}
