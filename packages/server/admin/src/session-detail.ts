import { element } from './dom.js';
import type { AuditEvent, SessionView } from './management-api.js';
import { deviceSummary, sessionStateText } from './session-state.js';
import { localTime, relativeTime } from './times.js';

/** What the timeline shows: the session's events, or why it cannot. */
export type Timeline = { readonly events: readonly AuditEvent[]; readonly more: boolean } | { readonly unavailable: string };

const eventWords: Record<string, string> = {
  'session.created': 'Signed in',
  'session.refreshed': 'Refreshed',
  'session.revoked': 'Revoked',
  'session.expired': 'Expired',
  'session.reuse_detected': 'Refresh token reused',
  'session.signed_out_elsewhere': 'Signed out elsewhere',
};

/** Who did it, as the operator reads it: the user, an API key by name, someone at the CLI, Tessera itself. */
export function actorWords(actor: AuditEvent['actor']): string {
  if (actor.type === 'user') return 'by the user';
  if (actor.type === 'api_key') return `by API key “${actor.id}”`;
  if (actor.type === 'cli') return `by ${actor.id} at the CLI`;
  if (actor.type === 'system') return 'by Tessera';
  return `by ${actor.type} ${actor.id}`;
}

function field(name: string, label: string, ...value: (Node | string)[]): HTMLElement[] {
  return [element('dt', {}, label), element('dd', { 'data-field': name }, ...value)];
}

function time(iso: string | null, now: number): (Node | string)[] {
  if (iso === null) return ['—'];
  return [element('time', { datetime: iso, title: iso }, localTime(iso)), ` (${relativeTime(iso, now)})`];
}

/** The facts of one session: who, which device, when, how it stands, and what the app stored with it. */
export function sessionFacts(session: SessionView, now: number): HTMLElement {
  const state = sessionStateText(session, now);
  const device = session.device;
  const facts = element(
    'dl',
    { class: 'facts', 'data-testid': 'detail-facts' },
    ...field('id', 'Session', element('span', { class: 'id' }, session.id)),
    ...field('user_id', 'User', session.user_id),
    ...field('flow', 'Flow', session.flow),
    ...field(
      'status',
      'Status',
      element('span', { class: `status status-${session.status}` }, session.status),
      ...(state.reason ? [' ', element('span', { class: 'reason' }, state.reason)] : []),
      element('span', { class: 'relative' }, state.when),
    ),
    ...field('device', 'Device', deviceSummary(device) ?? 'Not recorded'),
    ...field('browser', 'Browser', device?.browser ?? '—'),
    ...field('os', 'Operating system', device?.os ?? '—'),
    ...field('ip', 'Address', device?.ip ?? '—'),
    ...field('user_agent', 'User agent', element('span', { class: 'raw' }, device?.user_agent ?? '—')),
    ...field('created_at', 'Created', ...time(session.created_at, now)),
    ...field('last_seen_at', 'Last seen', ...time(session.last_seen_at, now)),
    ...field('last_refreshed_at', 'Last refreshed', ...time(session.last_refreshed_at, now)),
    ...field('refresh_count', 'Refreshes', String(session.refresh_count)),
    // Ends ahead only for a session that can still reach them.
    ...(session.status === 'active'
      ? [...field('expires_at', 'Ends', ...time(session.expires_at, now)), ...field('idle_expires_at', 'Idle expires', ...time(session.idle_expires_at, now))]
      : []),
    ...(session.revoked_at ? field('revoked_at', 'Revoked', ...time(session.revoked_at, now)) : []),
  );
  return facts;
}

/** The metadata as indented JSON, set as text: whatever the app stored shows as characters, never markup. */
export function metadataBlock(session: SessionView): HTMLElement {
  const keys = Object.keys(session.metadata ?? {});
  if (keys.length === 0) return element('p', { class: 'hint', 'data-testid': 'detail-metadata-empty' }, 'No metadata stored with this session.');
  return element('pre', { class: 'metadata', 'data-testid': 'detail-metadata' }, JSON.stringify(session.metadata, null, 2));
}

/** The audit trail of the session, oldest first, so it reads as a story. */
export function timelineBlock(timeline: Timeline, now: number): HTMLElement {
  if ('unavailable' in timeline) return element('p', { class: 'hint', 'data-testid': 'timeline-unavailable' }, timeline.unavailable);
  if (timeline.events.length === 0) return element('p', { class: 'hint', 'data-testid': 'timeline-empty' }, 'No events recorded for this session.');
  const items = [...timeline.events]
    .reverse()
    .map((event) =>
      element(
        'li',
        { 'data-testid': 'timeline-event', 'data-type': event.type },
        element('time', { datetime: event.at, title: event.at }, localTime(event.at)),
        element('span', { class: 'relative' }, relativeTime(event.at, now)),
        element('strong', {}, eventWords[event.type] ?? event.type),
        element('span', { class: 'actor' }, actorWords(event.actor)),
        ...(event.reason ? [element('span', { class: 'reason' }, `reason: ${event.reason}`)] : []),
      ),
    );
  const list = element('ol', { class: 'timeline', 'data-testid': 'timeline' }, ...items);
  if (!timeline.more) return list;
  return element('div', {}, element('p', { class: 'hint' }, `The ${timeline.events.length} most recent events:`), list);
}
