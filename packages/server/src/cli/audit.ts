import { Command, InvalidArgumentError } from 'commander';
import { type AuditEventJson, auditPageLimits, readAuditPage } from '../core/audit-trail.js';
import { type AuditEventType, auditEventTypes } from '../core/journal.js';
import { configOption, databaseOption, dataOption, openTessera, type StoreOptions } from './options.js';

interface AuditOptions extends StoreOptions {
  user?: string;
  session?: string;
  type?: AuditEventType;
  limit?: number;
  cursor?: string;
  json?: boolean;
}

/** `tessera audit`: a page of the audit trail, newest first, as `GET /v1/audit` answers it. */
export function auditCommand(): Command {
  return new Command('audit')
    .description('read the audit trail, newest first: who created, revoked or changed what, and why')
    .option('--user <user_id>', 'events of this user')
    .option('--session <session_id>', 'events of this session')
    .option('--type <type>', `events of this type (${auditEventTypes.join(', ')})`, parseType)
    .option('--limit <n>', `events per page, 1-${auditPageLimits.max} (default ${auditPageLimits.default})`, parseLimit)
    .option('--cursor <cursor>', 'the next cursor a previous page printed')
    .option('--json', 'print the page as the API answers it')
    .addOption(dataOption())
    .addOption(configOption())
    .addOption(databaseOption())
    .action(async (options: AuditOptions) => {
      const tessera = await openTessera(options);
      try {
        const page = await readAuditPage(tessera.store, {
          ...(options.user !== undefined ? { userId: options.user } : {}),
          ...(options.session !== undefined ? { sessionId: options.session } : {}),
          ...(options.type !== undefined ? { type: options.type } : {}),
          ...(options.limit !== undefined ? { limit: options.limit } : {}),
          ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
        });
        if (options.json) {
          console.log(JSON.stringify(page, null, 2));
          return;
        }
        for (const event of page.events) console.log(eventLine(event));
        if (page.events.length === 0) console.log('No events.');
        console.log(page.next_cursor === null ? '(end)' : `next: --cursor ${page.next_cursor}`);
      } finally {
        await tessera.close();
      }
    });
}

/** One event on one line: time, type, user, session, actor, reason (`-` where there is none). */
export function eventLine(event: AuditEventJson): string {
  return [event.at, event.type.padEnd(22), event.user_id ?? '-', event.session_id ?? '-', `${event.actor.type}:${event.actor.id}`, event.reason ?? '-'].join(
    '  ',
  );
}

function parseType(value: string): AuditEventType {
  if (!(auditEventTypes as readonly string[]).includes(value)) throw usage(`not an event type: ${value} (one of ${auditEventTypes.join(', ')})`);
  return value as AuditEventType;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^[0-9]+$/.test(value) || limit < 1 || limit > auditPageLimits.max) throw usage(`--limit is a whole number from 1 to ${auditPageLimits.max}: ${value}`);
  return limit;
}

function usage(message: string): InvalidArgumentError {
  const error = new InvalidArgumentError(message);
  error.exitCode = 2;
  return error;
}
