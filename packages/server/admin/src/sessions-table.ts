import { element } from './dom.js';
import type { SessionView } from './management-api.js';
import { deviceSummary, sessionStateText } from './session-state.js';
import { localTime, relativeTime } from './times.js';

export interface RowActions {
  readonly onDetails: (session: SessionView) => void;
  readonly onRevoke: (session: SessionView, button: HTMLButtonElement) => void;
}

/**
 * A cell; `label` names it where the table turns into cards (a phone: see console.css), since the
 * table head is hidden there.
 */
function cell(field: string, label: string, ...children: (Node | string)[]): HTMLTableCellElement {
  return element('td', { 'data-field': field, 'data-label': label }, ...children);
}

/** A time as the viewer reads it (local, and how long ago or ahead), the exact UTC instant on hover. */
function timeCell(field: string, label: string, iso: string | null, now: number): HTMLTableCellElement {
  if (iso === null) return element('td', { 'data-field': field, 'data-label': label, class: 'none' }, '—');
  const time = element('time', { datetime: iso, title: iso }, localTime(iso));
  return cell(field, label, time, element('span', { class: 'relative' }, relativeTime(iso, now)));
}

/** Rows for `sessions`: each opens its details; an active one has a Revoke button too. */
export function sessionRows(sessions: readonly SessionView[], now: number, actions: RowActions): HTMLTableRowElement[] {
  return sessions.map((session) => {
    const state = sessionStateText(session, now);
    const buttons = element('td', { class: 'action', 'data-field': 'actions' });
    const details = element('button', { type: 'button', class: 'quiet', 'data-testid': 'session-details' }, 'Details');
    details.addEventListener('click', () => actions.onDetails(session));
    buttons.append(details);
    if (session.status === 'active') {
      const revoke = element('button', { type: 'button', class: 'danger', 'data-testid': 'revoke-session' }, 'Revoke');
      revoke.addEventListener('click', () => actions.onRevoke(session, revoke));
      buttons.append(revoke);
    }
    const device = deviceSummary(session.device);
    return element(
      'tr',
      { 'data-testid': 'session-row', 'data-session-id': session.id, 'data-status': session.status },
      cell(
        'id',
        'Session',
        element('span', { class: 'id' }, session.id),
        element('span', { class: device ? 'device' : 'device none', 'data-field': 'device' }, device ?? 'Device not recorded'),
      ),
      cell('flow', 'Flow', session.flow),
      cell(
        'status',
        'Status',
        element('span', { class: `status status-${session.status}`, 'data-field': 'status-label' }, session.status),
        ...(state.reason ? [element('span', { class: 'reason', 'data-field': 'reason' }, state.reason)] : []),
        element('span', { class: 'relative', 'data-field': 'state-when' }, state.when),
      ),
      timeCell('created_at', 'Created', session.created_at, now),
      timeCell('last_seen_at', 'Last seen', session.last_seen_at, now),
      buttons,
    );
  });
}
