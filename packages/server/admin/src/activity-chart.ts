import { svgElement } from './dom.js';
import type { Activity } from './management-api.js';
import { localTime } from './times.js';

const width = 600;
const height = 120;

/**
 * Refreshes and revocations per minute as paired bars (one scale, so their sizes compare), with each
 * minute's numbers on hover. The axis labels are the page's text: a stretched SVG would distort them. Plain SVG: no chart library, and no inline style under the page's policy.
 */
export function activityChart(activity: Activity): SVGSVGElement {
  const minutes = activity.minutes;
  const highest = Math.max(1, ...minutes.map((minute) => Math.max(minute.refreshes, minute.revocations)));
  const slot = width / Math.max(1, minutes.length);
  const bar = Math.max(1, slot / 2 - 1);
  const plot = height;
  const barHeight = (count: number) => (count === 0 ? 0 : Math.max(1, (count / highest) * (plot - 4)));
  const svg = svgElement('svg', {
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `Refreshes and revocations per minute, the last ${minutes.length} minutes`,
    'data-testid': 'activity-chart',
  });
  svg.append(svgElement('line', { x1: 0, y1: plot, x2: width, y2: plot, stroke: '#e4e7ec' }));
  minutes.forEach((minute, index) => {
    const x = index * slot;
    const group = svgElement(
      'g',
      { 'data-minute': minute.start, 'data-refreshes': minute.refreshes, 'data-revocations': minute.revocations },
      svgElement(
        'title',
        {},
        `${localTime(minute.start)}: ${minute.refreshes} refreshes, ${minute.revocations} revocations, ${minute.sessions_created} sessions created`,
      ),
      svgElement('rect', { x, y: 0, width: slot, height: plot, fill: 'transparent' }),
      svgElement('rect', {
        class: 'bar-refreshes',
        x: x + 0.5,
        y: plot - barHeight(minute.refreshes),
        width: bar,
        height: barHeight(minute.refreshes),
        fill: '#3b5bdb',
      }),
      svgElement('rect', {
        class: 'bar-revocations',
        x: x + 0.5 + bar + 1,
        y: plot - barHeight(minute.revocations),
        width: bar,
        height: barHeight(minute.revocations),
        fill: '#c92a2a',
      }),
    );
    svg.append(group);
  });
  return svg;
}

/** The sums the chart's legend states over the minutes it shows, and its tallest bar. */
export function activityTotals(activity: Activity): { refreshes: number; revocations: number; created: number; peak: number } {
  let refreshes = 0;
  let revocations = 0;
  let created = 0;
  for (const minute of activity.minutes) {
    refreshes += minute.refreshes;
    revocations += minute.revocations;
    created += minute.sessions_created;
  }
  const peak = Math.max(0, ...activity.minutes.map((minute) => Math.max(minute.refreshes, minute.revocations)));
  return { refreshes, revocations, created, peak };
}
