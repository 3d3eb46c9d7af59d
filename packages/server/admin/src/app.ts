// The admin console: find users by the start of their id, page through a user's sessions, open one
// (device, times, metadata, audit timeline), revoke one or all after a confirmation that says what
// ends, and watch the live counters. Everything shown comes from the management API and /metrics
// with the operator's key; the key lives in sessionStorage only (gone with the tab).
import { activityChart, activityTotals } from './activity-chart.js';
import { confirmAction } from './confirm.js';
import { byTestId, element } from './dom.js';
import {
  ConsoleError,
  ManagementApi,
  type SessionStatusFilter,
  type SessionView,
  type UserPage,
  type WebhookEndpoint,
  type WebhookMessage,
} from './management-api.js';
import { type CounterSnapshot, counterSnapshot, refreshesPerSecond } from './node-counters.js';
import { metadataBlock, sessionFacts, type Timeline, timelineBlock } from './session-detail.js';
import { deviceSummary } from './session-state.js';
import { sessionRows } from './sessions-table.js';
import { relativeTime } from './times.js';
import { webhookRows } from './webhooks-table.js';

const keyStorageName = 'tessera.admin.key';
const pollIntervalMs = 1_000;
/** The activity (a count in the store) is read every this many polls. */
const activityEveryPolls = 5;
const chartMinutes = 30;
/** Always shown, so an operator sees a zero rather than a missing line. */
const knownReasons = ['logout', 'admin', 'reuse_detected', 'signed_out_elsewhere'];

const view = {
  keyPanel: byTestId('key-panel'),
  keyForm: byTestId<HTMLFormElement>('key-form'),
  keyInput: byTestId<HTMLInputElement>('key-input'),
  keyError: byTestId('key-error'),
  console: byTestId('console'),
  forgetKey: byTestId<HTMLButtonElement>('forget-key'),
  searchForm: byTestId<HTMLFormElement>('search-form'),
  searchInput: byTestId<HTMLInputElement>('search-input'),
  searchSubmit: byTestId<HTMLButtonElement>('search-submit'),
  searchStatus: byTestId('search-status'),
  error: byTestId('error'),
  userResults: byTestId('user-results'),
  userResultsSummary: byTestId('user-results-summary'),
  userList: byTestId<HTMLUListElement>('user-list'),
  moreUsers: byTestId<HTMLButtonElement>('more-users'),
  results: byTestId('results'),
  resultsTitle: byTestId('results-title'),
  resultsSummary: byTestId('results-summary'),
  statusFilter: byTestId<HTMLSelectElement>('status-filter'),
  revokeAll: byTestId<HTMLButtonElement>('revoke-all'),
  notice: byTestId('notice'),
  sessionsLoading: byTestId('sessions-loading'),
  sessionsEmpty: byTestId('sessions-empty'),
  sessionsBox: byTestId('sessions-box'),
  rows: byTestId<HTMLTableSectionElement>('session-rows'),
  sessionsShown: byTestId('sessions-shown'),
  moreSessions: byTestId<HTMLButtonElement>('more-sessions'),
  detail: byTestId('detail'),
  detailTitle: byTestId('detail-title'),
  detailRevoke: byTestId<HTMLButtonElement>('detail-revoke'),
  detailClose: byTestId<HTMLButtonElement>('detail-close'),
  detailBody: byTestId('detail-body'),
  detailMetadata: byTestId('detail-metadata-box'),
  timeline: byTestId('timeline-box'),
  activeSessions: byTestId('counter-active-sessions'),
  refreshRate: byTestId('counter-refresh-rate'),
  refreshesTotal: byTestId('counter-refreshes-total'),
  sessionsCreated: byTestId('counter-sessions-created'),
  liveSockets: byTestId('counter-live-sockets'),
  listeningVerifiers: byTestId('counter-listening-verifiers'),
  activityRefreshes: byTestId('activity-refreshes'),
  activityRevocations: byTestId('activity-revocations'),
  activityChart: byTestId('activity-chart-box'),
  activityPeak: byTestId('activity-peak'),
  revocations: byTestId<HTMLDListElement>('counter-revocations'),
  webhooksSummary: byTestId('webhooks-summary'),
  webhooksReload: byTestId<HTMLButtonElement>('webhooks-reload'),
  webhooksError: byTestId('webhooks-error'),
  webhooksBox: byTestId('webhooks-box'),
  webhookRows: byTestId<HTMLTableSectionElement>('webhook-rows'),
  moreWebhooks: byTestId<HTMLButtonElement>('more-webhooks'),
  countersStatus: byTestId('counters-status'),
};

let api: ManagementApi | undefined;
let pollTimer: ReturnType<typeof setInterval> | undefined;
let polls = 0;
let lastSnapshot: CounterSnapshot | undefined;

/** The user whose sessions are shown, and what of them. */
interface ShownUser {
  readonly userId: string;
  readonly filter: SessionStatusFilter;
  sessions: SessionView[];
  nextCursor: string | null;
  total: number;
  active: number;
}
let shown: ShownUser | undefined;
/** The search whose users are listed, and where its next page starts. */
let searched: { readonly prefix: string; nextCursor: string | null } | undefined;
/** The session open in the detail view. */
let detailed: SessionView | undefined;
/**
 * Bumped by every new search or user: an answer that comes back after the operator has moved on
 * is dropped rather than drawn over what they asked for since.
 */
let generation = 0;

function show(target: HTMLElement, message: string | null): void {
  target.textContent = message ?? '';
  target.hidden = message === null;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function messageOf(error: unknown): string {
  return error instanceof ConsoleError ? error.message : 'Something went wrong in the console.';
}

/**
 * A failed call: a key refused (rotated, mistyped) locks the console; anything else is shown, and
 * what was on screen goes, so no old result stands under a new error.
 */
function fail(error: unknown): void {
  if (error instanceof ConsoleError && error.code === 'api_key_invalid') {
    lock(error.message);
    return;
  }
  clearResults();
  show(view.error, messageOf(error));
}

function clearResults(): void {
  generation += 1;
  shown = undefined;
  searched = undefined;
  view.userResults.hidden = true;
  view.userList.replaceChildren();
  view.results.hidden = true;
  view.rows.replaceChildren();
  closeDetail();
  show(view.searchStatus, null);
  view.searchSubmit.disabled = false;
}

function lock(message: string | null): void {
  sessionStorage.removeItem(keyStorageName);
  api = undefined;
  if (pollTimer !== undefined) clearInterval(pollTimer);
  pollTimer = undefined;
  lastSnapshot = undefined;
  webhooks = undefined;
  view.webhookRows.replaceChildren();
  clearResults();
  show(view.error, null);
  view.console.hidden = true;
  view.keyPanel.hidden = false;
  show(view.keyError, message);
  view.keyInput.value = '';
  view.keyInput.focus();
}

function unlock(key: string): void {
  api = new ManagementApi(key);
  sessionStorage.setItem(keyStorageName, key);
  view.keyPanel.hidden = true;
  view.console.hidden = false;
  show(view.keyError, null);
  view.searchInput.focus();
  polls = 0;
  void pollCounters();
  pollTimer = setInterval(() => void pollCounters(), pollIntervalMs);
  void loadWebhooks(true);
}

async function tryKey(key: string): Promise<void> {
  const candidate = new ManagementApi(key);
  try {
    await candidate.checkKey();
  } catch (error) {
    lock(messageOf(error));
    return;
  }
  unlock(key);
}

// ——— Users ———

/**
 * Lists the users whose id starts with `prefix`. A user whose id is exactly that opens at once, as
 * does an id no user has (to say so): a prefix of several ids waits for the operator's pick.
 */
async function search(prefix: string): Promise<void> {
  if (!api) return;
  clearResults();
  show(view.error, null);
  const mine = generation;
  view.searchSubmit.disabled = true;
  show(view.searchStatus, 'Searching…');
  let page: UserPage;
  try {
    page = await api.searchUsers(prefix);
  } catch (error) {
    if (mine === generation) fail(error);
    return;
  }
  if (mine !== generation) return;
  view.searchSubmit.disabled = false;
  show(view.searchStatus, null);
  searched = { prefix, nextCursor: page.next_cursor };
  view.userList.replaceChildren();
  appendUsers(page);
  const exact = page.users.some((user) => user.user_id === prefix);
  // The empty prefix lists every user: nobody's sessions to open.
  if (prefix !== '' && (exact || page.users.length === 0)) await openUser(prefix);
}

function appendUsers(page: UserPage): void {
  if (!searched) return;
  const now = Date.now();
  for (const user of page.users) {
    const open = element(
      'button',
      { type: 'button', class: 'user', 'data-testid': 'user-result', 'data-user-id': user.user_id },
      element('span', { class: 'id' }, user.user_id),
      element('span', { class: 'hint' }, `${plural(user.active_sessions, 'active session')} · last sign-in ${relativeTime(user.last_created_at, now)}`),
    );
    open.addEventListener('click', () => void openUser(user.user_id));
    view.userList.append(element('li', {}, open));
  }
  searched.nextCursor = page.next_cursor;
  const count = view.userList.childElementCount;
  view.userResults.hidden = false;
  view.userResultsSummary.textContent =
    count === 0
      ? `No user id starts with “${searched.prefix}”.`
      : `${plural(count, 'user')}${page.next_cursor ? ' so far' : ''} whose id starts with “${searched.prefix}”.`;
  view.moreUsers.hidden = page.next_cursor === null;
}

async function moreUsers(): Promise<void> {
  if (!api || !searched?.nextCursor) return;
  const mine = generation;
  view.moreUsers.disabled = true;
  try {
    const page = await api.searchUsers(searched.prefix, searched.nextCursor);
    if (mine === generation) appendUsers(page);
  } catch (error) {
    if (mine === generation) fail(error);
  } finally {
    view.moreUsers.disabled = false;
  }
}

// ——— A user's sessions ———

async function openUser(userId: string): Promise<void> {
  closeDetail();
  for (const button of view.userList.querySelectorAll<HTMLButtonElement>('[data-testid="user-result"]')) {
    button.setAttribute('aria-current', String(button.dataset['userId'] === userId));
  }
  shown = { userId, filter: view.statusFilter.value as SessionStatusFilter, sessions: [], nextCursor: null, total: 0, active: 0 };
  show(view.notice, null);
  await loadSessions(true);
}

/** Reads the first page (`fresh`) or the next one of the shown user's sessions, and the active count. */
async function loadSessions(fresh: boolean): Promise<void> {
  if (!api || !shown) return;
  const target = shown;
  const mine = ++generation;
  view.results.hidden = false;
  view.resultsTitle.textContent = `Sessions of ${target.userId}`;
  view.sessionsLoading.hidden = false;
  view.moreSessions.disabled = true;
  if (fresh) {
    view.rows.replaceChildren();
    view.sessionsBox.hidden = true;
    view.sessionsEmpty.hidden = true;
    view.resultsSummary.textContent = '';
    view.revokeAll.disabled = true;
  }
  try {
    const cursor = fresh ? null : target.nextCursor;
    const [page, active] = await Promise.all([
      api.listUserSessions(target.userId, target.filter, cursor),
      // The confirmation of "Revoke all" says how many end: the count of active ones, whatever is listed.
      target.filter === 'active' ? null : api.listUserSessions(target.userId, 'active', null, 1),
    ]);
    if (mine !== generation) return;
    target.sessions = fresh ? page.sessions : [...target.sessions, ...page.sessions];
    target.nextCursor = page.next_cursor;
    target.total = page.total;
    target.active = active ? active.total : page.total;
  } catch (error) {
    if (mine === generation) fail(error);
    return;
  }
  view.sessionsLoading.hidden = true;
  view.moreSessions.disabled = false;
  renderSessions(target);
}

function renderSessions(target: ShownUser): void {
  const now = Date.now();
  const which = target.filter === 'all' ? '' : `${target.filter} `;
  view.resultsSummary.textContent =
    target.filter === 'active' ? `${plural(target.total, 'active session')}.` : `${plural(target.total, `${which}session`)}, ${target.active} active.`;
  view.revokeAll.disabled = target.active === 0;
  view.revokeAll.textContent = target.active === 0 ? 'Revoke all' : `Revoke all ${target.active} active`;
  const empty = target.sessions.length === 0;
  view.sessionsBox.hidden = empty;
  show(view.sessionsEmpty, !empty ? null : target.filter === 'all' ? 'No sessions for this user.' : `No ${target.filter} sessions for this user.`);
  view.rows.replaceChildren(
    ...sessionRows(target.sessions, now, { onDetails: (session) => void openDetail(session), onRevoke: (session, button) => void revokeOne(session, button) }),
  );
  view.sessionsShown.textContent = empty ? '' : `Showing ${target.sessions.length} of ${target.total}.`;
  view.moreSessions.hidden = target.nextCursor === null;
}

/** Puts a changed session in place in the list (and the detail view), so a revoke shows where it was made. */
function replaceSession(updated: SessionView): void {
  if (shown) {
    const index = shown.sessions.findIndex((session) => session.id === updated.id);
    if (index >= 0) shown.sessions[index] = updated;
  }
  if (detailed?.id === updated.id) renderDetail(updated);
}

async function revokeOne(session: SessionView, button?: HTMLButtonElement): Promise<void> {
  if (!api) return;
  const device = deviceSummary(session.device) ?? 'device not recorded';
  const confirmed = await confirmAction(
    `Revoke session ${session.id} of ${session.user_id}?`,
    `${device}. The device is signed out on its next request; the reason recorded is “admin” (revoked by an admin).`,
    'Revoke session',
  );
  if (!confirmed || !api) return;
  if (button) button.disabled = true;
  view.detailRevoke.disabled = true;
  show(view.notice, null);
  let updated: SessionView;
  try {
    updated = await api.revokeSession(session.id);
  } catch (error) {
    if (button) button.disabled = false;
    view.detailRevoke.disabled = false;
    fail(error);
    return;
  }
  replaceSession(updated);
  show(view.notice, `Revoked session ${updated.id}.`);
  if (shown && shown.userId === updated.user_id) {
    // The row changes in place; the counts come from the server again.
    renderSessions(shown);
    await refreshCounts(shown);
  }
  if (detailed?.id === updated.id) void loadTimeline(updated);
}

/** The totals again (after a revoke), without reloading the rows the operator is looking at. */
async function refreshCounts(target: ShownUser): Promise<void> {
  if (!api) return;
  try {
    const [page, active] = await Promise.all([
      api.listUserSessions(target.userId, target.filter, null, 1),
      api.listUserSessions(target.userId, 'active', null, 1),
    ]);
    if (shown !== target) return;
    target.total = page.total;
    target.active = active.total;
    renderSessions(target);
  } catch (error) {
    fail(error);
  }
}

async function revokeAll(): Promise<void> {
  if (!api || !shown) return;
  const target = shown;
  const count = target.active;
  const confirmed = await confirmAction(
    `Revoke all ${plural(count, 'active session')} of ${target.userId}?`,
    'Every device of this user is signed out on its next request; the reason recorded is “admin” (revoked by an admin).',
    `Revoke ${plural(count, 'session')}`,
  );
  if (!confirmed || !api || shown !== target) return;
  view.revokeAll.disabled = true;
  show(view.notice, null);
  let revoked: number;
  try {
    revoked = (await api.revokeUserSessions(target.userId)).revoked;
  } catch (error) {
    fail(error);
    return;
  }
  await loadSessions(true);
  show(view.notice, `Revoked ${plural(revoked, 'session')} of ${target.userId}.`);
}

// ——— One session ———

async function openDetail(session: SessionView): Promise<void> {
  renderDetail(session);
  view.detail.hidden = false;
  view.detail.scrollIntoView({ block: 'start' });
  await loadTimeline(session);
}

function renderDetail(session: SessionView): void {
  detailed = session;
  const now = Date.now();
  view.detailTitle.textContent = `Session of ${session.user_id}`;
  view.detailBody.replaceChildren(sessionFacts(session, now));
  view.detailMetadata.replaceChildren(metadataBlock(session));
  view.detailRevoke.hidden = session.status !== 'active';
  view.detailRevoke.disabled = false;
}

async function loadTimeline(session: SessionView): Promise<void> {
  if (!api) return;
  view.timeline.replaceChildren(element('p', { class: 'hint' }, 'Loading…'));
  let timeline: Timeline;
  try {
    const page = await api.sessionEvents(session.id);
    timeline = { events: page.events, more: page.next_cursor !== null };
  } catch (error) {
    if (error instanceof ConsoleError && error.code === 'api_key_invalid') return lock(error.message);
    const missing = error instanceof ConsoleError && error.status === 404;
    timeline = { unavailable: missing ? 'This server has no audit trail to read (GET /v1/audit).' : `The timeline could not be read: ${messageOf(error)}` };
  }
  if (detailed?.id !== session.id) return;
  view.timeline.replaceChildren(timelineBlock(timeline, Date.now()));
}

function closeDetail(): void {
  detailed = undefined;
  view.detail.hidden = true;
  view.detailBody.replaceChildren();
  view.detailMetadata.replaceChildren();
}

// ——— Webhooks ———

/** The outbox as shown: endpoints (for their URLs), the messages read so far, where the next page starts. */
let webhooks: { endpoints: WebhookEndpoint[]; messages: WebhookMessage[]; nextCursor: string | null } | undefined;

async function loadWebhooks(fresh: boolean): Promise<void> {
  if (!api) return;
  view.webhooksReload.disabled = true;
  view.moreWebhooks.disabled = true;
  show(view.webhooksError, null);
  try {
    const endpoints = fresh || !webhooks ? await api.webhookEndpoints() : webhooks.endpoints;
    const page = await api.webhookMessages(fresh ? null : (webhooks?.nextCursor ?? null));
    const messages = fresh || !webhooks ? page.messages : [...webhooks.messages, ...page.messages];
    webhooks = { endpoints, messages, nextCursor: page.next_cursor };
    renderWebhooks();
  } catch (error) {
    if (error instanceof ConsoleError && error.code === 'api_key_invalid') return lock(error.message);
    show(view.webhooksError, `Webhook deliveries could not be read: ${messageOf(error)}`);
  } finally {
    view.webhooksReload.disabled = false;
    view.moreWebhooks.disabled = false;
  }
}

function renderWebhooks(): void {
  if (!webhooks) return;
  const { endpoints, messages, nextCursor } = webhooks;
  const pending = messages.filter((message) => message.status === 'pending').length;
  const failed = messages.filter((message) => message.status === 'failed').length;
  view.webhooksSummary.textContent =
    endpoints.length === 0
      ? 'No webhook endpoints are configured (`webhooks` in the config file).'
      : messages.length === 0
        ? `${plural(endpoints.length, 'endpoint')}; no messages yet.`
        : `${plural(endpoints.length, 'endpoint')}. The ${plural(messages.length, 'latest message')}: ${pending} pending, ${failed} failed.`;
  view.webhooksBox.hidden = messages.length === 0;
  view.webhookRows.replaceChildren(...webhookRows(messages, endpoints, Date.now(), (message, button) => void retryWebhook(message, button)));
  view.moreWebhooks.hidden = nextCursor === null;
}

async function retryWebhook(message: WebhookMessage, button: HTMLButtonElement): Promise<void> {
  if (!api) return;
  button.disabled = true;
  try {
    const updated = await api.retryWebhookMessage(message.id);
    if (webhooks) webhooks.messages = webhooks.messages.map((shown) => (shown.id === updated.id ? updated : shown));
    renderWebhooks();
  } catch (error) {
    button.disabled = false;
    if (error instanceof ConsoleError && error.code === 'api_key_invalid') return lock(error.message);
    show(view.webhooksError, messageOf(error));
  }
}

// ——— Counters ———

async function pollCounters(): Promise<void> {
  if (!api) return;
  const readActivity = polls % activityEveryPolls === 0;
  polls += 1;
  if (readActivity) void pollActivity();
  let snapshot: CounterSnapshot;
  try {
    snapshot = counterSnapshot(await api.metricsText(), performance.now());
  } catch (error) {
    if (error instanceof ConsoleError && error.code === 'api_key_invalid') return lock(error.message);
    view.countersStatus.textContent = `Counters unavailable: ${messageOf(error)}`;
    return;
  }
  const rate = refreshesPerSecond(lastSnapshot, snapshot);
  lastSnapshot = snapshot;
  view.refreshRate.textContent = rate === null ? '…' : rate.toFixed(rate < 10 ? 1 : 0);
  view.refreshesTotal.textContent = String(snapshot.refreshes);
  view.sessionsCreated.textContent = String(snapshot.sessionsCreated);
  view.liveSockets.textContent = snapshot.liveSockets === null ? '—' : String(snapshot.liveSockets);
  view.listeningVerifiers.textContent = snapshot.listeningVerifiers === null ? '—' : String(snapshot.listeningVerifiers);
  renderRevocations(snapshot.revocationsByReason);
  view.countersStatus.textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function pollActivity(): Promise<void> {
  if (!api) return;
  try {
    const activity = await api.activity(chartMinutes);
    const totals = activityTotals(activity);
    view.activeSessions.textContent = String(activity.active_sessions);
    view.activityRefreshes.textContent = String(totals.refreshes);
    view.activityRevocations.textContent = String(totals.revocations);
    view.activityChart.replaceChildren(activityChart(activity));
    view.activityPeak.textContent = `tallest bar: ${totals.peak} a minute`;
  } catch (error) {
    if (error instanceof ConsoleError && error.code === 'api_key_invalid') return lock(error.message);
    view.activityChart.replaceChildren(element('p', { class: 'hint' }, `Activity unavailable: ${messageOf(error)}`));
  }
}

function renderRevocations(byReason: ReadonlyMap<string, number>): void {
  const reasons = [...new Set([...knownReasons, ...byReason.keys()])];
  const entries = reasons.flatMap((reason) => [
    element('dt', {}, reason),
    element('dd', { 'data-testid': `counter-revocations-${reason}` }, String(byReason.get(reason) ?? 0)),
  ]);
  view.revocations.replaceChildren(...entries);
}

// ——— Wiring ———

view.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = view.keyInput.value.trim();
  if (key === '') return show(view.keyError, 'Enter the management API key.');
  void tryKey(key);
});

view.searchForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void search(view.searchInput.value.trim());
});

view.moreUsers.addEventListener('click', () => void moreUsers());
view.moreSessions.addEventListener('click', () => void loadSessions(false));
view.statusFilter.addEventListener('change', () => {
  if (shown) void openUser(shown.userId);
});
view.revokeAll.addEventListener('click', () => void revokeAll());
view.detailRevoke.addEventListener('click', () => {
  if (detailed) void revokeOne(detailed);
});
view.detailClose.addEventListener('click', () => closeDetail());
view.webhooksReload.addEventListener('click', () => void loadWebhooks(true));
view.moreWebhooks.addEventListener('click', () => void loadWebhooks(false));
view.forgetKey.addEventListener('click', () => lock(null));

const storedKey = sessionStorage.getItem(keyStorageName);
if (storedKey) void tryKey(storedKey);
else lock(null);
