// A key's hourly usage as a stacked bar chart: plain SVG built with createElementNS, coloured by
// CSS classes (the CSP allows no inline style), every label set as text. Screen readers get the
// totals as the chart's label and the hours in a visually hidden table.
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 190;
const PAD = { top: 10, right: 8, bottom: 24, left: 44 };
const HOUR_MS = 3_600_000;

/** The three outcomes, bottom to top, with their CSS class and words. */
export const SERIES = [
  { field: 'success', css: 'success', label: 'Succeeded' },
  { field: 'denied', css: 'denied', label: 'Denied' },
  { field: 'rate_limited', css: 'limited', label: 'Rate-limited' },
];

function svg(tag, attrs = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (/^on/i.test(name) || name === 'style') throw new Error(`refusing attribute ${name}`);
    element.setAttribute(name, String(value));
  }
  if (text !== undefined) element.textContent = String(text);
  return element;
}

const count = (value) => (Number.isFinite(Number(value)) && Number(value) > 0 ? Math.floor(Number(value)) : 0);
const pad = (n) => String(n).padStart(2, '0');
const hourText = (date) => `${pad(date.getHours())}:00`;
const dayText = (date) => `${date.toLocaleDateString(undefined, { weekday: 'short' })} ${date.getDate()}`;
const fullHour = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:00`;

/** 1, 2, 5, 10, 20, 50 … at or above n. */
function niceCeiling(n) {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

export function totalsOf(hours) {
  const totals = { success: 0, denied: 0, rate_limited: 0, all: 0 };
  for (const hour of hours) {
    for (const { field } of SERIES) totals[field] += count(hour[field]);
  }
  totals.all = totals.success + totals.denied + totals.rate_limited;
  return totals;
}

export function periodText(days) {
  return days === 1 ? 'the last 24 hours' : `the last ${days} days`;
}

/** "In the last 24 hours: 12 requests — 9 succeeded, 2 denied, 1 rate-limited." */
export function summaryText(totals, days) {
  const requests = `${totals.all} request${totals.all === 1 ? '' : 's'}`;
  return `In ${periodText(days)}: ${requests} — ${totals.success} succeeded, ${totals.denied} denied, ${totals.rate_limited} rate-limited.`;
}

/** The chart, its legend and its text equivalent for one usage answer. */
export function usageChart(usage, days) {
  const hours = Array.isArray(usage?.hours) ? usage.hours : [];
  const totals = totalsOf(hours);
  const summary = summaryText(totals, days);
  const largest = Math.max(0, ...hours.map((hour) => count(hour.success) + count(hour.denied) + count(hour.rate_limited)));
  const top = niceCeiling(largest);
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const baseline = PAD.top + plotHeight;
  const slot = hours.length ? plotWidth / hours.length : plotWidth;
  const barWidth = Math.max(1, slot * (hours.length > 48 ? 0.8 : 0.68));
  const y = (value) => baseline - (value / top) * plotHeight;

  const chart = svg('svg', {
    class: 'usage-chart',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-label': `Requests per hour. ${summary}`,
    focusable: 'false',
  });

  // Grid lines and the count axis: 0, half (when whole) and the top.
  const ticks = top >= 2 ? [0, top / 2, top] : [0, top];
  const grid = svg('g', { class: 'chart-grid', 'aria-hidden': 'true' });
  for (const tick of ticks) {
    if (!Number.isInteger(tick)) continue;
    grid.append(
      svg('line', { class: tick === 0 ? 'chart-axis' : 'chart-gridline', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick) }),
      svg('text', { class: 'chart-label', x: PAD.left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, tick.toLocaleString()),
    );
  }
  chart.append(grid);

  // Time labels: every 6 hours over a day, at each local midnight over several days.
  const labels = svg('g', { class: 'chart-times', 'aria-hidden': 'true' });
  const every = days === 1 ? 6 : 24;
  let labelled = 0;
  hours.forEach((hour, index) => {
    const start = new Date(hour.start);
    if (Number.isNaN(start.getTime()) || start.getHours() % every !== 0 || start.getMinutes() !== 0) return;
    const x = PAD.left + index * slot;
    labels.append(
      svg('line', { class: 'chart-tick', x1: x, x2: x, y1: baseline, y2: baseline + 4 }),
      svg('text', { class: 'chart-label', x, y: HEIGHT - 6, 'text-anchor': index === 0 ? 'start' : 'middle' }, days === 1 ? hourText(start) : dayText(start)),
    );
    labelled += 1;
  });
  if (labelled === 0 && hours.length) {
    // A time zone whose hours are not whole: label the first hour only.
    labels.append(svg('text', { class: 'chart-label', x: PAD.left, y: HEIGHT - 6 }, fullHour(new Date(hours[0].start))));
  }
  chart.append(labels);

  // The bars: one group per hour, the outcomes stacked, a tooltip with the counts.
  const bars = svg('g', { class: 'chart-bars' });
  hours.forEach((hour, index) => {
    const total = count(hour.success) + count(hour.denied) + count(hour.rate_limited);
    if (total === 0) return;
    const start = new Date(hour.start);
    const x = PAD.left + index * slot + (slot - barWidth) / 2;
    const group = svg('g', { class: 'chart-hour', 'data-start': hour.start });
    group.append(
      svg('title', {}, `${fullHour(start)}: ${count(hour.success)} succeeded, ${count(hour.denied)} denied, ${count(hour.rate_limited)} rate-limited`),
    );
    let stacked = 0;
    for (const { field, css } of SERIES) {
      const value = count(hour[field]);
      if (value === 0) continue;
      const height = Math.max(1, y(stacked) - y(stacked + value));
      group.append(
        svg('rect', {
          class: `bar bar-${css}`,
          x: x.toFixed(2),
          y: (y(stacked) - height).toFixed(2),
          width: barWidth.toFixed(2),
          height: height.toFixed(2),
          'data-count': value,
        }),
      );
      stacked += value;
    }
    bars.append(group);
  });
  chart.append(bars);

  const legend = h(
    'ul',
    { class: 'chart-legend', 'aria-hidden': 'true' },
    ...SERIES.map(({ field, css, label }) =>
      h(
        'li',
        { class: `legend-${css}` },
        h('span', { class: ['swatch', `swatch-${css}`] }),
        `${label} `,
        h('strong', { text: totals[field].toLocaleString() }),
      ),
    ),
  );

  return {
    totals,
    summary,
    element: h('figure', { class: 'usage-figure' }, legend, chart, h('figcaption', { class: 'usage-summary', text: summary }), hourTable(hours, totals, days)),
  };
}

/** The hours with any request, and the totals: what the bars show, for screen readers. */
function hourTable(hours, totals, days) {
  const body = h('tbody');
  for (const hour of hours) {
    const all = count(hour.success) + count(hour.denied) + count(hour.rate_limited);
    if (all === 0) continue;
    const start = new Date(hour.start);
    const end = new Date(start.getTime() + HOUR_MS);
    body.append(
      h(
        'tr',
        {},
        h('th', { scope: 'row', text: `${fullHour(start)}–${hourText(end)}` }),
        ...SERIES.map(({ field }) => h('td', { text: String(count(hour[field])) })),
      ),
    );
  }
  if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: '4', text: 'No requests.' })));
  return h(
    'table',
    { class: ['visually-hidden', 'usage-table'] },
    h('caption', { text: `Requests per hour in ${periodText(days)} (hours with requests only)` }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Hour' }), ...SERIES.map(({ label }) => h('th', { scope: 'col', text: label })))),
    body,
    h(
      'tfoot',
      {},
      h(
        'tr',
        { class: 'usage-totals' },
        h('th', { scope: 'row', text: 'Total' }),
        ...SERIES.map(({ field }) => h('td', { dataset: { field }, text: String(totals[field]) })),
      ),
    ),
  );
}
