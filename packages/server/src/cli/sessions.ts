import { Command } from 'commander';
import { sessionJson } from '../http/representation.js';
import { cliActor, configOption, databaseOption, dataOption, openTessera, redisOption, redisPrefixOption, type StoreOptions } from './options.js';
import { sessionsListCommand } from './sessions-list.js';

export function sessionsCommand(): Command {
  const sessions = new Command('sessions').description('inspect and revoke sessions');
  sessions.addCommand(sessionsListCommand());
  sessions
    .command('revoke')
    .description('revoke one session by id, or every session of --user (reason: admin)')
    .argument('[id]', 'session id')
    .option('--user <user_id>', 'revoke all of this user’s sessions')
    .addOption(dataOption())
    .addOption(configOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .action(async (id: string | undefined, options: StoreOptions & { user?: string }) => {
      if (!id === !options.user) {
        console.error('tessera: give a session id or --user, not both');
        process.exitCode = 2;
        return;
      }
      const tessera = await openTessera(options);
      try {
        if (options.user) {
          const revoked = await tessera.sessions.revokeUserSessions(options.user, 'admin', cliActor());
          console.log(`Revoked ${revoked.length} session(s) of ${options.user}.`);
          return;
        }
        const revoked = await tessera.sessions.revokeSession(id!, 'admin', cliActor());
        if (revoked) {
          console.log(`Revoked ${revoked.id}.`);
          return;
        }
        const session = await tessera.sessions.getSession(id!);
        if (!session) {
          console.error(`tessera: no session ${id}`);
          process.exitCode = 1;
          return;
        }
        console.log(`${session.id} had already ended (${sessionJson(session, tessera.clock.now()).status}).`);
      } finally {
        await tessera.close();
      }
    });
  return sessions;
}
