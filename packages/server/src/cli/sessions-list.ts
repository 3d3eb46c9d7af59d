import { Command, InvalidArgumentError } from 'commander';
import type { SessionJson } from '../core/session-json.js';
import {
  defaultSessionPageSize,
  maxSessionPageSize,
  sessionStatusFilters,
  type UserSessionsPage,
  type UserSessionsParameters,
  userSessionsPageJson,
} from '../http/user-sessions.js';
import { configOption, databaseOption, dataOption, openTessera, redisOption, redisPrefixOption, type StoreOptions } from './options.js';
import { formatTable } from './table.js';

interface ListOptions extends StoreOptions {
  user: string;
  status?: string;
  all?: boolean;
  flow?: string;
  createdAfter?: string;
  createdBefore?: string;
  limit?: string;
  cursor?: string;
  allPages?: boolean;
  json?: boolean;
}

/**
 * `tessera sessions list`: a page of a user's sessions, as `GET /v1/users/:user_id/sessions` answers
 * it (the same parameters, checked by the same code), printed as a table with the total and the
 * command for the next page, or as the API's JSON. `--all-pages` follows the cursor to the end.
 */
export function sessionsListCommand(): Command {
  return new Command('list')
    .description("list a user's sessions a page at a time, newest first, with the total (a table, or --json)")
    .requiredOption('--user <user_id>', 'the user')
    .option('--status <status>', `${sessionStatusFilters.join(', ')} (default active)`)
    .option('--all', 'the same as --status all')
    .option('--flow <flow>', 'only sessions of this flow')
    .option('--created-after <time>', 'only sessions created strictly after this RFC 3339 time')
    .option('--created-before <time>', 'only sessions created strictly before this RFC 3339 time')
    .option('--limit <n>', `sessions per page, 1 to ${maxSessionPageSize} (default ${defaultSessionPageSize}; with --all-pages ${maxSessionPageSize})`)
    .option('--cursor <cursor>', 'go on from an earlier page (its next_cursor), with the same filters')
    .option('--all-pages', 'follow the cursor to the last page and print every session')
    .option('--json', 'print the answer of GET /v1/users/:user_id/sessions instead of a table')
    .addOption(dataOption())
    .addOption(configOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .action(async (options: ListOptions) => {
      const parameters = listingParameters(options);
      const tessera = await openTessera(options);
      try {
        const read = (cursor: string | undefined) => userSessionsPageJson(tessera.sessions, options.user, { ...parameters, cursor }, () => tessera.clock.now());
        const page = options.allPages ? await readAllPages(read, parameters.cursor) : await read(parameters.cursor);
        console.log(options.json ? JSON.stringify(page, null, 2) : formatPage(page, options, parameters));
      } finally {
        await tessera.close();
      }
    });
}

function listingParameters(options: ListOptions): UserSessionsParameters {
  if (options.all && options.status !== undefined && options.status !== 'all') {
    throw usageError(`--all means --status all, not --status ${options.status}`);
  }
  return {
    status: options.all ? 'all' : options.status,
    flow: options.flow,
    created_after: options.createdAfter,
    created_before: options.createdBefore,
    limit: options.limit ?? (options.allPages ? String(maxSessionPageSize) : undefined),
    cursor: options.cursor,
  };
}

/** Every page from `cursor` on, as one answer: all the sessions, no next cursor, the total. */
async function readAllPages(read: (cursor: string | undefined) => Promise<UserSessionsPage>, cursor: string | undefined): Promise<UserSessionsPage> {
  const sessions: SessionJson[] = [];
  let page = await read(cursor);
  sessions.push(...page.sessions);
  while (page.next_cursor !== null) {
    page = await read(page.next_cursor);
    sessions.push(...page.sessions);
  }
  return { sessions, next_cursor: null, total: page.total };
}

function formatPage(page: UserSessionsPage, options: ListOptions, parameters: UserSessionsParameters): string {
  const status = parameters.status ?? 'active';
  const whose = `of ${options.user} (${describeFilters(status, parameters)})`;
  if (page.total === 0) return `No sessions ${whose}.`;
  const lines = [sessionTable(page.sessions), ''];
  if (page.sessions.length === page.total) lines.push(`${page.total} session${page.total === 1 ? '' : 's'} ${whose}, newest first.`);
  else lines.push(`${page.sessions.length} of ${page.total} sessions ${whose}, newest first.`);
  if (page.next_cursor !== null) {
    lines.push(`next_cursor: ${page.next_cursor}`);
    lines.push(`Next page: ${nextPageCommand(options.user, parameters, page.next_cursor)}`);
  }
  return lines.join('\n');
}

function describeFilters(status: string, parameters: UserSessionsParameters): string {
  const parts = [status];
  if (parameters.flow !== undefined) parts.push(`flow ${parameters.flow}`);
  if (parameters.created_after !== undefined) parts.push(`created after ${parameters.created_after}`);
  if (parameters.created_before !== undefined) parts.push(`created before ${parameters.created_before}`);
  return parts.join(', ');
}

/** The same listing's next page, as a command line to paste (store options as they were given). */
function nextPageCommand(user: string, parameters: UserSessionsParameters, cursor: string): string {
  const words = ['tessera', 'sessions', 'list', '--user', user, '--status', parameters.status ?? 'active'];
  if (parameters.flow !== undefined) words.push('--flow', parameters.flow);
  if (parameters.created_after !== undefined) words.push('--created-after', parameters.created_after);
  if (parameters.created_before !== undefined) words.push('--created-before', parameters.created_before);
  if (parameters.limit !== undefined) words.push('--limit', parameters.limit);
  words.push('--cursor', cursor);
  return words.map(shellWord).join(' ');
}

/** A word as a POSIX shell reads it back unchanged. */
function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function sessionTable(sessions: readonly SessionJson[]): string {
  const header = ['ID', 'STATUS', 'FLOW', 'CREATED', 'LAST REFRESHED', 'REVOKED'];
  const rows = sessions.map((session) => [
    session.id,
    session.status,
    session.flow,
    session.created_at,
    session.last_refreshed_at ?? '-',
    session.revoked_at === null ? '-' : `${session.revoked_at} (${session.revoked_reason})`,
  ]);
  return formatTable(header, rows);
}

function usageError(message: string): InvalidArgumentError {
  const error = new InvalidArgumentError(message);
  error.exitCode = 2;
  return error;
}
