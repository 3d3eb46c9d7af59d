import { element } from './dom.js';
import type { SessionView } from './management-api.js';
import { localTime, relativeTime } from './times.js';

/** The time columns, in the order of the table head. */
const timeColumns = ['created_at', 'last_refreshed_at', 'expires_at', 'idle_expires_at', 'revoked_at'] as const;

/** A time as the viewer reads it (local, and how long ago or ahead), the exact UTC instant on hover. */
function timeCell(field: string, iso: string | null, now: number): HTMLTableCellElement {
  if (iso === null) return element('td', { 'data-field': field, class: 'none' }, '—');
  const time = element('time', { datetime: iso, title: iso }, localTime(iso));
  return element('td', { 'data-field': field }, time, element('span', { class: 'relative' }, relativeTime(iso, now)));
}

/** Rows for `sessions`; an active one gets a Revoke button that calls `onRevoke` with its id. */
export function sessionRows(sessions: readonly SessionView[], now: number, onRevoke: (id: string, button: HTMLButtonElement) => void): HTMLTableRowElement[] {
  return sessions.map((session) => {
    const action = element('td', { class: 'action' });
    if (session.status === 'active') {
      const button = element('button', { type: 'button', class: 'danger', 'data-testid': 'revoke-session' }, 'Revoke');
      button.addEventListener('click', () => onRevoke(session.id, button));
      action.append(button);
    }
    return element(
      'tr',
      { 'data-testid': 'session-row', 'data-session-id': session.id, 'data-status': session.status },
      element('td', { 'data-field': 'id', class: 'id' }, session.id),
      element('td', { 'data-field': 'flow' }, session.flow),
      element('td', { 'data-field': 'status' }, element('span', { class: `status status-${session.status}` }, session.status)),
      element('td', { 'data-field': 'revoked_reason', class: session.revoked_reason ? '' : 'none' }, session.revoked_reason ?? '—'),
      ...timeColumns.map((field) => timeCell(field, session[field], now)),
      action,
    );
  });
}
