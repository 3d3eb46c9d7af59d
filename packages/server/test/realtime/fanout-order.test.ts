// A revocation answers HTTP once the store has committed it; the sockets are told after, a chunk per turn of
// the event loop. The gateway's turns are held here (its `deferTurn` is one the test runs by hand), so
// "answered before told" and "so many sockets a turn" are checked without timing anything. The server
// runs on manual time: no auth timeout or heartbeat fires while a thousand sockets connect on a busy machine.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SocketConnection } from '../../src/realtime/connection.js';
import type { RealtimeOptions } from '../../src/realtime/gateway.js';
import { socketsPerTurn } from '../../src/realtime/session-changes.js';
import { call, testApiKey } from '../helpers.js';
import { openSocket, type RealtimeServer, startRealtimeServer, type TestSocket } from './sockets.js';

const turns = { held: [] as (() => void)[], hold: false };
/** The gateway's turns: held while `turns.hold`, else the event loop's own. */
const heldTurns: Pick<RealtimeOptions, 'deferTurn'> = {
  deferTurn: (turn) => void (turns.hold ? turns.held.push(turn) : setImmediate(turn)),
};

let server: RealtimeServer | null = null;

afterEach(async () => {
  turns.hold = false;
  for (const turn of turns.held.splice(0)) turn();
  vi.restoreAllMocks();
  await server?.close();
  server = null;
});

/** Opens `accessTokens.length` sockets, 100 at a time, and waits for every `ready`. */
async function readySockets(socketUrl: string, accessTokens: readonly string[]): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  for (let i = 0; i < accessTokens.length; i += 100) {
    const batch = await Promise.all(accessTokens.slice(i, i + 100).map(() => openSocket(socketUrl)));
    for (const [j, socket] of batch.entries()) socket.auth(accessTokens[i + j]!);
    await Promise.all(batch.map((socket) => socket.next('ready', 30_000)));
    sockets.push(...batch);
  }
  return sockets;
}

/** Runs the held turns one at a time (each may hold the next), returning how many ran. */
function runHeldTurns(): number {
  let ran = 0;
  for (let turn = turns.held.shift(); turn; turn = turns.held.shift()) {
    turn();
    ran++;
  }
  return ran;
}

describe('revocation fan-out after the answer', () => {
  it("answers a revoke-all of a user's 20 sessions before any socket is told, then tells every one", async () => {
    server = await startRealtimeServer({ time: 'manual', realtime: heldTurns });
    const grants = await Promise.all(Array.from({ length: 20 }, () => server!.tessera.sessions.createSession({ userId: 'dana' })));
    const sockets = await readySockets(
      server.socketUrl,
      grants.map((grant) => grant.accessToken),
    );
    const told = vi.spyOn(SocketConnection.prototype, 'end');

    turns.hold = true;
    const answer = await call(`${server.url}/v1/users/dana/sessions`, { method: 'DELETE', token: testApiKey });
    expect(answer.status).toBe(200);
    expect(answer.body.revoked).toBe(20);
    // The answer is out; the sockets' turn has not run yet.
    expect(turns.held).toHaveLength(1);
    expect(told).not.toHaveBeenCalled();
    expect(server.realtime.authenticatedSize).toBe(20);
    expect(sockets.every((socket) => socket.frames.every((frame) => frame.type === 'ready'))).toBe(true);

    expect(runHeldTurns()).toBe(1);
    expect(told).toHaveBeenCalledTimes(20);
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    expect(closes.map((closed) => closed.code)).toEqual(sockets.map(() => 4003));
    for (const socket of sockets) {
      const ended = await socket.next('session_ended');
      // One serialised frame for all, with each socket's own request id in its envelope.
      expect(ended.error).toMatchObject({ error: 'session_revoked', details: [{ reason: 'admin' }], request_id: socket.upgradeHeaders['x-request-id'] });
    }
  });

  it("tells one session's 300 sockets 128 a turn when asked to, and reads none of their closing handshakes before the last", async () => {
    const perTurn = 128;
    server = await startRealtimeServer({ time: 'manual', realtime: { ...heldTurns, socketsPerTurn: perTurn, maxSocketsPerClient: null } });
    const grant = await server.tessera.sessions.createSession({ userId: 'erin' });
    const sockets = await readySockets(
      server.socketUrl,
      Array.from({ length: 300 }, () => grant.accessToken),
    );
    const told = vi.spyOn(SocketConnection.prototype, 'end');

    turns.hold = true;
    const answer = await call(`${server.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: testApiKey });
    expect(answer.status).toBe(200);
    expect(told).not.toHaveBeenCalled();
    const counts: number[] = [];
    turns.held.shift()?.();
    counts.push(told.mock.calls.length);
    // The told sockets hear of it and answer with their closing handshake, which the server does not
    // read until every socket is told: no handshake runs between the turns. (Each would take
    // milliseconds; the wait is a margin.)
    await Promise.all(sockets.slice(0, perTurn).map((socket) => socket.next('session_ended')));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(server.realtime.connectionsOfSession(grant.session.id)).toHaveLength(300);
    for (let turn = turns.held.shift(); turn; turn = turns.held.shift()) {
      turn();
      counts.push(told.mock.calls.length);
    }
    expect(counts).toEqual([128, 256, 300]);
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    expect(new Set(closes.map((closed) => closed.code))).toEqual(new Set([4003]));
    // Read again after the last turn: every handshake completes and the server lets the sockets go.
    await vi.waitFor(() => expect(server!.realtime.connectionsOfSession(grant.session.id)).toHaveLength(0), { timeout: 10_000 });
  });

  it(`reaches all 1,000 sockets of one session on one node when it is revoked, in one turn of ${socketsPerTurn} (real sockets)`, async () => {
    server = await startRealtimeServer({ time: 'manual', realtime: { ...heldTurns, maxSocketsPerClient: null } });
    const grant = await server.tessera.sessions.createSession({ userId: 'frank' });
    const sockets = await readySockets(
      server.socketUrl,
      Array.from({ length: 1000 }, () => grant.accessToken),
    );
    expect(server.realtime.connectionsOfSession(grant.session.id)).toHaveLength(1000);
    const told = vi.spyOn(SocketConnection.prototype, 'end');

    turns.hold = true;
    const answer = await call(`${server.url}/v1/sessions/${grant.session.id}`, { method: 'DELETE', token: testApiKey });
    expect(answer.status).toBe(200);
    // Not one turn per 256 sockets, with the told sockets' close handshakes running between them.
    const first = turns.held.shift();
    first?.();
    expect(told).toHaveBeenCalledTimes(1000);
    expect(turns.held).toEqual([]);
    turns.hold = false;
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    expect(closes.filter((closed) => closed.code !== 4003)).toEqual([]);
    const ended = sockets.map((socket) => socket.frames.find((frame) => frame.type === 'session_ended'));
    expect(ended.filter((frame) => frame?.error?.error !== 'session_revoked')).toEqual([]);
    // Every envelope names its own socket.
    expect(new Set(ended.map((frame) => frame!.error.request_id)).size).toBe(1000);
  }, 60_000);
});
