/**
 * How the SQLite store grows under refreshes, with and without the store purge (core/store-purge.ts):
 * bytes of file per refresh and per session, and what the purge costs the refreshes beside it.
 *
 *   npm run bench -- --growth [--quick]
 *
 * The store directly (no HTTP, no signing) on manual time: a fixed number of session slots, each
 * refreshed once per round; a session is revoked after a day of refreshes and a new one takes its
 * slot, so sessions end at a steady rate. The purge runs every `purgeIntervalS` of manual time, with a
 * retention of one day. The same workload runs twice on fresh files: without the purge (today's
 * behaviour) and with it. File sizes are taken after a WAL checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { ManualClock } from '../packages/server/src/core/clock.js';
import { defaultFlowPolicies } from '../packages/server/src/core/flows.js';
import { newId } from '../packages/server/src/core/ids.js';
import type { SessionRecord } from '../packages/server/src/core/session.js';
import type { RefreshTokenRecord } from '../packages/server/src/core/store.js';
import { StorePurge } from '../packages/server/src/core/store-purge.js';
import { SqliteSessionStore } from '../packages/server/src/stores/sqlite.js';

const day = 86_400_000;

export interface GrowthSettings {
  /** Live sessions at any time. */
  readonly slots: number;
  /** Refreshes of each session per (manual) day; a session is revoked after one day of them. */
  readonly refreshesPerDay: number;
  /** Manual days to run: day 1 fills, retention (1 day) starts deleting in day 3, the last day is steady. */
  readonly days: number;
  /** Seconds of manual time between purges. */
  readonly purgeIntervalS: number;
}

export interface GrowthRun {
  readonly purge: boolean;
  readonly refreshes: number;
  /** Wall time of the rotations alone, and of the purges alone (ms). */
  readonly rotateMs: number;
  readonly purgeMs: number;
  readonly purgeRuns: number;
  /** Refreshes per second of wall time, purges included. */
  readonly refreshPerSec: number;
  /** File bytes after each day (WAL checkpointed), and refreshes done by then. */
  readonly days: { readonly fileBytes: number; readonly usedBytes: number; readonly refreshes: number; readonly sessions: number; readonly tokens: number }[];
  readonly removed: { sealedSuccessors: number; endedSessionTokens: number; endedSessions: number };
}

/** A sealed successor as the server writes it: about 840 base64url characters. */
const sealed = randomBytes(630).toString('base64url');
const tokenHash = () => randomBytes(32).toString('base64url');

export function growthSettings(quick: boolean): GrowthSettings {
  return quick ? { slots: 1_000, refreshesPerDay: 24, days: 4, purgeIntervalS: 600 } : { slots: 5_000, refreshesPerDay: 48, days: 4, purgeIntervalS: 600 };
}

export async function storeGrowthRun(dir: string, settings: GrowthSettings, withPurge: boolean): Promise<GrowthRun> {
  const path = join(dir, `growth-${withPurge ? 'purge' : 'none'}.db`);
  const store = new SqliteSessionStore(path);
  const inspect = new Database(path);
  const t0 = Date.UTC(2026, 0, 1);
  const clock = new ManualClock(t0);
  // The default flows: access tokens of 15 min (the revocation feed's horizon), reuse interval 10 s.
  const purge = new StorePurge({ store, clock, flows: defaultFlowPolicies, retentionDays: 1, intervalMs: settings.purgeIntervalS * 1000 });
  const slots: { session: SessionRecord; live: string; refreshes: number }[] = [];
  const newSession = async (refreshes: number) => {
    const now = clock.now();
    const session: SessionRecord = {
      id: newId('ses_', now),
      userId: `user-${randomBytes(4).toString('hex')}`,
      flow: 'default',
      createdAt: now,
      lastRefreshedAt: null,
      expiresAt: now + 14 * day,
      idleExpiresAt: null,
      revokedAt: null,
      revokedReason: null,
      metadata: {},
      device: null,
      refreshCount: 0,
      dpopJkt: null,
      version: 1,
    };
    const token: RefreshTokenRecord = { hash: tokenHash(), sessionId: session.id, issuedAt: now, spentAt: null, sealedSuccessor: null };
    await store.createSession(session, token);
    return { session, live: token.hash, refreshes };
  };
  // Staggered: the first sessions end at every point of the first day, as in a service that has run a while.
  for (let i = 0; i < settings.slots; i++) slots.push(await newSession(i % settings.refreshesPerDay));

  const roundMs = day / settings.refreshesPerDay;
  const stepMs = roundMs / settings.slots;
  let nextPurge = t0 + settings.purgeIntervalS * 1000;
  let refreshes = 0;
  let rotateMs = 0;
  let purgeMs = 0;
  let purgeRuns = 0;
  const removed = { sealedSuccessors: 0, endedSessionTokens: 0, endedSessions: 0 };
  const days: GrowthRun['days'][number][] = [];
  for (let d = 0; d < settings.days; d++) {
    for (let round = 0; round < settings.refreshesPerDay; round++) {
      const started = performance.now();
      for (let i = 0; i < slots.length; i++) {
        clock.advance(stepMs / 1000);
        const slot = slots[i]!;
        const now = clock.now();
        const successor: RefreshTokenRecord = { hash: tokenHash(), sessionId: slot.session.id, issuedAt: now, spentAt: null, sealedSuccessor: null };
        const renewed = await store.rotateRefreshToken({
          spentHash: slot.live,
          spentAt: now,
          sealedSuccessor: sealed,
          successor,
          sessionId: slot.session.id,
          lastRefreshedAt: now,
          idleExpiresAt: null,
          device: null,
          dpopJkt: null,
        });
        if (!renewed) throw new Error('store growth: a rotation lost a race it cannot lose');
        slot.live = successor.hash;
        slot.refreshes += 1;
        refreshes += 1;
        if (slot.refreshes >= settings.refreshesPerDay) {
          await store.revokeSession(slot.session.id, 'logout', now);
          slots[i] = await newSession(0);
        }
        if (withPurge && now >= nextPurge) {
          nextPurge += settings.purgeIntervalS * 1000;
          const purgeStarted = performance.now();
          const counts = await purge.purge();
          purgeMs += performance.now() - purgeStarted;
          purgeRuns += 1;
          removed.sealedSuccessors += counts.sealedSuccessors;
          removed.endedSessionTokens += counts.endedSessionTokens;
          removed.endedSessions += counts.endedSessions;
        }
      }
      rotateMs += performance.now() - started;
    }
    inspect.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = Number(inspect.pragma('page_size', { simple: true }));
    const pages = Number(inspect.pragma('page_count', { simple: true }));
    const free = Number(inspect.pragma('freelist_count', { simple: true }));
    const count = (table: string) => Number((inspect.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
    days.push({
      fileBytes: statSync(path).size,
      usedBytes: (pages - free) * pageSize,
      refreshes,
      sessions: count('sessions'),
      tokens: count('refresh_tokens'),
    });
  }
  inspect.close();
  await store.close();
  rotateMs -= purgeMs;
  return { purge: withPurge, refreshes, rotateMs, purgeMs, purgeRuns, refreshPerSec: refreshes / ((rotateMs + purgeMs) / 1000), days, removed };
}

/** Runs both, prints the table and the verdict; returns the runs for --json. */
export async function storeGrowthBench(dir: string, quick: boolean, log: (message: string) => void): Promise<{ settings: GrowthSettings; runs: GrowthRun[] }> {
  const settings = growthSettings(quick);
  console.log(
    `Store growth (SQLite, the store directly, manual time): ${settings.slots} live sessions, each refreshed ${settings.refreshesPerDay}×/day ` +
      `and revoked after a day; ${settings.days} days; purge every ${settings.purgeIntervalS} s, retention 1 day, ~${sealed.length}-char sealed successors\n`,
  );
  const runs: GrowthRun[] = [];
  for (const withPurge of [false, true]) {
    log(`store growth: ${withPurge ? 'with' : 'without'} the purge`);
    runs.push(await storeGrowthRun(dir, settings, withPurge));
  }
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const perRefresh = (run: GrowthRun, from: number, to: number) => {
    const start = from < 0 ? { fileBytes: 0, refreshes: 0 } : run.days[from]!;
    const end = run.days[to]!;
    return (end.fileBytes - start.fileBytes) / (end.refreshes - start.refreshes);
  };
  const last = settings.days - 1;
  for (const run of runs) {
    console.log(`${run.purge ? 'With the purge' : 'Without the purge'}:`);
    for (const [d, figures] of run.days.entries()) {
      console.log(
        `  day ${d + 1}: file ${kb(figures.fileBytes)} (in use ${kb(figures.usedBytes)}), ${figures.sessions} sessions, ${figures.tokens} tokens; ` +
          `${perRefresh(run, d - 1, d).toFixed(0)} B of file per refresh that day`,
      );
    }
    const final = run.days[last]!;
    console.log(
      `  per session stored at the end: ${(final.fileBytes / final.sessions).toFixed(0)} B of file; ` +
        `refresh/s ${Math.round(run.refreshPerSec).toLocaleString('en-US')} (rotations ${(run.rotateMs / 1000).toFixed(1)} s` +
        (run.purge ? `, ${run.purgeRuns} purges ${(run.purgeMs / 1000).toFixed(2)} s: ${JSON.stringify(run.removed)}` : '') +
        ')',
    );
  }
  const [without, withIt] = runs as [GrowthRun, GrowthRun];
  const steady = perRefresh(withIt, last - 1, last);
  console.log(
    `\nSteady state (day ${last + 1}): ${steady.toFixed(0)} B of file per refresh with the purge (goal ≤ 150), ` +
      `${perRefresh(without, last - 1, last).toFixed(0)} B without; ` +
      `refresh/s with the purge ${((withIt.refreshPerSec / without.refreshPerSec) * 100).toFixed(0)}% of without (noisy)`,
  );
  return { settings, runs };
}
