/**
 * The server side of `npm run bench:realtime`: a real Tessera node (createTessera + buildApp +
 * attachRealtime, SQLite file, system clock) in a child process of its own, so its memory is
 * measured alone. Run with --expose-gc. Takes commands over IPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../packages/server/src/core/clock.js';
import { buildApp } from '../packages/server/src/http/app.js';
import { attachRealtime } from '../packages/server/src/realtime/gateway.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';
import { createTessera } from '../packages/server/src/tessera.js';
import type { RealtimeServerCommand, RealtimeServerReply } from './realtime-protocol.js';

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-realtime-'));
const store = new SqliteSessionStore(join(dir, 'tessera.db'));
const apiKey = 'tsk_bench_fixed_key_not_a_secret';
const tessera = await createTessera({ store, clock: systemClock, apiKey, issuer: 'http://127.0.0.1' });
const app = await buildApp(tessera);
// Listeners run in the order they were added: these two bracket the gateway's, timing what it does
// inside the revoking call. Since issue 17 that is queueing the change only: the sockets are told on
// later turns of the event loop, after the HTTP answer, and that time shows in the latencies.
let fanoutStartedAt = 0;
const fanout = { events: 0, ms: 0 };
tessera.sessions.onSessionEvent((event) => {
  if (event.type === 'revoked') fanoutStartedAt = performance.now();
});
// Every bench socket comes from 127.0.0.1: the per-address cap is off.
const realtime = attachRealtime(app.server, { tessera, maxSocketsPerClient: null });
tessera.sessions.onSessionEvent((event) => {
  if (event.type !== 'revoked') return;
  fanout.events++;
  fanout.ms += performance.now() - fanoutStartedAt;
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;

const gc = (globalThis as { gc?: () => void }).gc;

function reply(message: RealtimeServerReply): void {
  process.send!(message);
}

async function settledMemory() {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers };
}

process.on('message', (command: RealtimeServerCommand) => {
  void (async () => {
    switch (command.type) {
      case 'sessions': {
        const tokens: string[] = [];
        for (let done = 0; done < command.count; done += 200) {
          const size = Math.min(200, command.count - done);
          const grants = await Promise.all(Array.from({ length: size }, () => tessera.sessions.createSession({ userId: command.userId })));
          tokens.push(...grants.map((grant) => grant.accessToken));
        }
        reply({ type: 'sessions', id: command.id, tokens });
        return;
      }
      case 'cpu': {
        const usage = process.cpuUsage();
        reply({ type: 'cpu', id: command.id, cpuMs: (usage.user + usage.system) / 1000 });
        return;
      }
      case 'fanout':
        reply({ type: 'fanout', id: command.id, events: fanout.events, ms: fanout.ms });
        fanout.events = 0;
        fanout.ms = 0;
        return;
      case 'memory':
        reply({ type: 'memory', id: command.id, memory: await settledMemory(), sockets: realtime.size });
        return;
      case 'stop':
        await realtime.close();
        await app.close();
        await tessera.close();
        rmSync(dir, { recursive: true, force: true });
        reply({ type: 'stopped', id: command.id });
        process.exit(0);
    }
  })().catch((error: unknown) => reply({ type: 'error', id: command.id, message: String(error) }));
});

reply({ type: 'listening', id: 0, url: `http://127.0.0.1:${port}`, apiKey, gc: gc !== undefined });
