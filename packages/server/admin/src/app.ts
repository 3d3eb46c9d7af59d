// The admin console: find a user's sessions, revoke one or all, watch this node's counters.
// Everything shown comes from the management API and /metrics with the operator's key; the key
// lives in sessionStorage only (gone with the tab) and is sent as a bearer credential.
import { byTestId, element } from './dom.js';
import { ConsoleError, ManagementApi, type UserSessions } from './management-api.js';
import { type CounterSnapshot, counterSnapshot, refreshesPerSecond } from './node-counters.js';
import { sessionRows } from './sessions-table.js';

const keyStorageName = 'tessera.admin.key';
const pollIntervalMs = 1_000;
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
  error: byTestId('error'),
  results: byTestId('results'),
  resultsTitle: byTestId('results-title'),
  resultsSummary: byTestId('results-summary'),
  revokeAll: byTestId<HTMLButtonElement>('revoke-all'),
  rows: byTestId<HTMLTableSectionElement>('session-rows'),
  refreshRate: byTestId('counter-refresh-rate'),
  refreshesTotal: byTestId('counter-refreshes-total'),
  sessionsCreated: byTestId('counter-sessions-created'),
  liveSockets: byTestId('counter-live-sockets'),
  listeningVerifiers: byTestId('counter-listening-verifiers'),
  revocations: byTestId<HTMLDListElement>('counter-revocations'),
  countersStatus: byTestId('counters-status'),
};

let api: ManagementApi | undefined;
let shownUser: string | undefined;
let pollTimer: ReturnType<typeof setInterval> | undefined;
let lastSnapshot: CounterSnapshot | undefined;

function showError(target: HTMLElement, message: string | null): void {
  target.textContent = message ?? '';
  target.hidden = message === null;
}

function messageOf(error: unknown): string {
  return error instanceof ConsoleError ? error.message : 'Something went wrong in the console.';
}

/** A call refused for its key (rotated, mistyped): forget the key and ask again. */
function handleFailure(error: unknown, target: HTMLElement): void {
  if (error instanceof ConsoleError && error.code === 'api_key_invalid') {
    lock(error.message);
    return;
  }
  showError(target, messageOf(error));
}

function lock(message: string | null): void {
  sessionStorage.removeItem(keyStorageName);
  api = undefined;
  if (pollTimer !== undefined) clearInterval(pollTimer);
  pollTimer = undefined;
  lastSnapshot = undefined;
  view.console.hidden = true;
  view.keyPanel.hidden = false;
  showError(view.keyError, message);
  view.keyInput.value = '';
  view.keyInput.focus();
}

function unlock(key: string): void {
  api = new ManagementApi(key);
  sessionStorage.setItem(keyStorageName, key);
  view.keyPanel.hidden = true;
  view.console.hidden = false;
  showError(view.keyError, null);
  view.searchInput.focus();
  void pollCounters();
  pollTimer = setInterval(() => void pollCounters(), pollIntervalMs);
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

async function search(userId: string): Promise<void> {
  if (!api) return;
  showError(view.error, null);
  let found: UserSessions;
  try {
    found = await api.listUserSessions(userId);
  } catch (error) {
    handleFailure(error, view.error);
    return;
  }
  shownUser = userId;
  renderResults(userId, found);
}

function renderResults(userId: string, found: UserSessions): void {
  const active = found.sessions.filter((session) => session.status === 'active').length;
  view.results.hidden = false;
  view.resultsTitle.textContent = `Sessions of ${userId}`;
  const capped = found.has_more ? ` Showing the ${found.limit} most recent; older ones are not listed.` : '';
  view.resultsSummary.textContent = `${found.sessions.length} session${found.sessions.length === 1 ? '' : 's'}, ${active} active.${capped}`;
  view.revokeAll.disabled = active === 0;
  view.rows.replaceChildren(...sessionRows(found.sessions, Date.now(), (id, button) => void revokeOne(id, button)));
}

async function revokeOne(id: string, button: HTMLButtonElement): Promise<void> {
  if (!api || shownUser === undefined) return;
  button.disabled = true;
  showError(view.error, null);
  try {
    await api.revokeSession(id);
  } catch (error) {
    button.disabled = false;
    handleFailure(error, view.error);
    return;
  }
  await search(shownUser);
}

async function revokeAll(): Promise<void> {
  if (!api || shownUser === undefined) return;
  const userId = shownUser;
  if (!window.confirm(`Revoke every active session of ${userId}? They will have to sign in again.`)) return;
  view.revokeAll.disabled = true;
  showError(view.error, null);
  try {
    await api.revokeUserSessions(userId);
  } catch (error) {
    view.revokeAll.disabled = false;
    handleFailure(error, view.error);
    return;
  }
  await search(userId);
}

async function pollCounters(): Promise<void> {
  if (!api) return;
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

function renderRevocations(byReason: ReadonlyMap<string, number>): void {
  const reasons = [...new Set([...knownReasons, ...byReason.keys()])];
  const entries = reasons.flatMap((reason) => [
    element('dt', {}, reason),
    element('dd', { 'data-testid': `counter-revocations-${reason}` }, String(byReason.get(reason) ?? 0)),
  ]);
  view.revocations.replaceChildren(...entries);
}

view.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = view.keyInput.value.trim();
  if (key === '') return showError(view.keyError, 'Enter the management API key.');
  void tryKey(key);
});

view.searchForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const userId = view.searchInput.value.trim();
  if (userId === '') return showError(view.error, 'Enter a user id.');
  void search(userId);
});

view.revokeAll.addEventListener('click', () => void revokeAll());
view.forgetKey.addEventListener('click', () => lock(null));

const storedKey = sessionStorage.getItem(keyStorageName);
if (storedKey) void tryKey(storedKey);
else lock(null);
