import { Command } from 'commander';
import { StorePurge, type StorePurgeCounts } from '../core/store-purge.js';
import { configOption, databaseOption, dataOption, openTessera, type StoreOptions } from './options.js';

interface PurgeOptions extends StoreOptions {
  dryRun?: boolean;
  json?: boolean;
}

/** `tessera purge`: what the serving nodes' store purge does, at once, with what it removed. */
export function purgeCommand(): Command {
  return new Command('purge')
    .description('remove what the session rules no longer need: spent tokens’ sealed successors, sessions ended past retention')
    .option('--dry-run', 'count what would be removed, and remove nothing')
    .option('--json', 'print the counts and cutoffs as JSON')
    .addOption(dataOption())
    .addOption(configOption())
    .addOption(databaseOption())
    .action(async (options: PurgeOptions) => {
      const tessera = await openTessera(options);
      try {
        const { config, store, clock } = tessera;
        const purge = new StorePurge({
          store,
          clock,
          flows: config.flows,
          retentionDays: config.retention.endedSessionsDays,
          intervalMs: config.retention.purgeInterval * 1000,
        });
        const cutoffs = purge.cutoffs();
        const counts = options.dryRun ? await purge.countPurgeable() : await purge.purge();
        if (options.json) {
          console.log(
            JSON.stringify(
              {
                dry_run: options.dryRun === true,
                spent_before: new Date(cutoffs.spentBefore).toISOString(),
                ended_before: new Date(cutoffs.endedBefore).toISOString(),
                sealed_successors: counts.sealedSuccessors,
                ended_session_tokens: counts.endedSessionTokens,
                ended_sessions: counts.endedSessions,
                stale_dpop_proofs: counts.staleDpopProofs,
              },
              null,
              2,
            ),
          );
          return;
        }
        for (const line of purgeLines(counts, options.dryRun === true, cutoffs)) console.log(line);
      } finally {
        await tessera.close();
      }
    });
}

function purgeLines(counts: StorePurgeCounts, dryRun: boolean, cutoffs: { spentBefore: number; endedBefore: number }): string[] {
  const [clear, remove] = dryRun ? ['Would clear', 'Would delete'] : ['Cleared', 'Deleted'];
  return [
    `${clear} ${counts.sealedSuccessors} sealed successor(s) of tokens spent before ${new Date(cutoffs.spentBefore).toISOString()}.`,
    `${remove} ${counts.endedSessions} session(s) and ${counts.endedSessionTokens} refresh token(s) ended before ${new Date(cutoffs.endedBefore).toISOString()}.`,
    `${remove} ${counts.staleDpopProofs} remembered DPoP proof(s) too old to be presented again.`,
  ];
}
