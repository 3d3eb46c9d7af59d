// The console's reading of /metrics, against what prom-client really writes.
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { counterSnapshot, parsePrometheusText, refreshesPerSecond } from '../../admin/src/node-counters.js';
import { localTime, relativeTime } from '../../admin/src/times.js';

function registryText(fill: (counters: { refreshes: Counter<'replayed'>; revocations: Counter<'reason'>; created: Counter<'flow'> }) => void) {
  const registry = new Registry();
  const refreshes = new Counter({ name: 'tessera_refreshes_total', help: 'r', labelNames: ['replayed'] as const, registers: [registry] });
  const revocations = new Counter({ name: 'tessera_revocations_total', help: 'v', labelNames: ['reason'] as const, registers: [registry] });
  const created = new Counter({ name: 'tessera_sessions_created_total', help: 'c', labelNames: ['flow'] as const, registers: [registry] });
  // Look-alikes the console must not count.
  new Counter({ name: 'tessera_revocations_heard_total', help: 'h', labelNames: ['reason'] as const, registers: [registry] }).inc({ reason: 'admin' }, 50);
  new Counter({ name: 'tessera_refreshes_total_other', help: 'o', registers: [registry] }).inc(70);
  fill({ refreshes, revocations, created });
  return registry.metrics();
}

describe('counterSnapshot', () => {
  it('sums refreshes over their labels and breaks revocations down by reason', async () => {
    const text = await registryText(({ refreshes, revocations, created }) => {
      refreshes.inc({ replayed: 'false' }, 7);
      refreshes.inc({ replayed: 'true' }, 2);
      revocations.inc({ reason: 'admin' }, 3);
      revocations.inc({ reason: 'logout' });
      revocations.inc({ reason: 'we"ird\\new\nline' });
      created.inc({ flow: 'default' }, 4);
      created.inc({ flow: 'verification' }, 1);
    });
    const snapshot = counterSnapshot(text, 1_000);
    expect(snapshot.refreshes).toBe(9);
    expect(snapshot.sessionsCreated).toBe(5);
    expect(Object.fromEntries(snapshot.revocationsByReason)).toEqual({ admin: 3, logout: 1, 'we"ird\\new\nline': 1 });
    // A node that does not serve sockets does not report them: unknown, not zero.
    expect(snapshot.liveSockets).toBeNull();
    expect(snapshot.listeningVerifiers).toBeNull();
  });

  it('reads the live sockets gauge, not its unauthenticated sibling', async () => {
    const registry = new Registry();
    new Gauge({ name: 'tessera_realtime_sockets', help: 's', registers: [registry] }).set(9);
    new Gauge({ name: 'tessera_realtime_authenticated_sockets', help: 'a', registers: [registry] }).set(4);
    new Gauge({ name: 'tessera_revocation_feed_waiting_reads', help: 'r', registers: [registry] }).set(2);
    expect(counterSnapshot(await registry.metrics(), 0).liveSockets).toBe(4);
    expect(counterSnapshot(await registry.metrics(), 0).listeningVerifiers).toBe(2);
  });

  it('reads zero for counters that have no samples yet', async () => {
    const snapshot = counterSnapshot(await registryText(() => {}), 0);
    expect(snapshot).toMatchObject({ refreshes: 0, sessionsCreated: 0 });
    expect(snapshot.revocationsByReason.size).toBe(0);
  });

  it('skips what it cannot read instead of failing', () => {
    const text = [
      '# HELP x',
      'garbage line',
      'tessera_refreshes_total{replayed="false"} NaN',
      'tessera_refreshes_total{replayed="true"} 4 1700000000000',
      '',
      '{} 3',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([{ name: 'tessera_refreshes_total', labels: { replayed: 'true' }, value: 4 }]);
    expect(counterSnapshot('<html>not metrics</html>', 0).refreshes).toBe(0);
  });
});

describe('refreshesPerSecond', () => {
  const at = (time: number, refreshes: number) => ({
    at: time,
    refreshes,
    sessionsCreated: 0,
    revocationsByReason: new Map(),
    liveSockets: null,
    listeningVerifiers: null,
  });

  it('is the delta over the elapsed time', () => {
    expect(refreshesPerSecond(at(1_000, 10), at(3_000, 16))).toBe(3);
    expect(refreshesPerSecond(at(1_000, 10), at(2_000, 10))).toBe(0);
  });

  it('is unknown on the first reading, after a restart (the counter went down), or without elapsed time', () => {
    expect(refreshesPerSecond(undefined, at(1_000, 10))).toBeNull();
    expect(refreshesPerSecond(at(1_000, 10), at(2_000, 3))).toBeNull();
    expect(refreshesPerSecond(at(1_000, 10), at(1_000, 12))).toBeNull();
  });
});

describe('times', () => {
  const now = Date.UTC(2026, 4, 25, 12, 0, 0);
  it('says how far a time is, in the largest unit that fits', () => {
    expect(relativeTime(new Date(now).toISOString(), now)).toBe('now');
    expect(relativeTime(new Date(now - 5_000).toISOString(), now)).toBe('5 seconds ago');
    expect(relativeTime(new Date(now + 14 * 86_400_000 - 2_000).toISOString(), now)).toBe('in 14 days');
    expect(relativeTime(new Date(now - 3 * 3_600_000).toISOString(), now)).toBe('3 hours ago');
    expect(relativeTime('not a time', now)).toBe('');
  });

  it('writes local time without the zone noise, and leaves what it cannot read alone', () => {
    expect(localTime(new Date(now).toISOString())).toMatch(/^2026-05-2[45] \d{2}:00:00$/);
    expect(localTime('nonsense')).toBe('nonsense');
  });
});
