// One row of the alert list. Text only (titles are attacker-controlled); every cell carries its
// column header as data-label (the shared CSS shows rows as labelled cards below 700 px); every
// control is named after its alert ("Acknowledge alert: <title>").
import { h, time } from './dom.js';
import { SEVERITIES, STATUSES } from './alert-state.js';

/** The source of the alerts AuroraSOC raises from its own audit trail. */
const DETECTION_SOURCE = 'aurorasoc-auth';
/** The column headers, in order, as in index.html's #alerts-table. */
const COLUMNS = {
  select: 'Select',
  severity: 'Severity',
  title: 'Title',
  source: 'Source',
  status: 'Status',
  assignee: 'Assignee',
  created: 'Created',
  actions: 'Actions',
};
const STATUS_ACTIONS = [
  ['acknowledged', 'Acknowledge', (status) => status === 'open'],
  ['resolved', 'Resolve', (status) => status !== 'resolved'],
  ['open', 'Reopen', (status) => status === 'resolved'],
];

export const severityClass = (severity) => (SEVERITIES.includes(severity) ? `sev-${severity}` : 'sev-unknown');
export const statusClass = (status) => (STATUSES.includes(status) ? `status-${status}` : 'status-unknown');

const cell = (column, attrs, ...children) => h('td', { ...attrs, dataset: { label: COLUMNS[column] } }, ...children);

/**
 * @param {object} alert
 * @param {{ fits: boolean, writable: boolean, selected: boolean, detailsHref: string,
 *   onDetails(id: string): void, onSelect(id: string, on: boolean): void,
 *   onStatus(alert: object, status: string, button: HTMLButtonElement): void }} options
 *   fits: false marks a row that no longer matches the filters (it stays, shaded).
 */
export function renderRow(alert, options) {
  const title = alert.title ?? '';
  const actions = cell('actions', { class: 'actions' }, detailsLink(alert, options));
  if (options.writable) {
    for (const [status, label, shown] of STATUS_ACTIONS) {
      if (!shown(alert.status)) continue;
      const button = h('button', {
        type: 'button',
        class: ['small', `action-${status}`],
        dataset: { action: status },
        'aria-label': `${label} alert: ${title}`,
        text: label,
      });
      button.addEventListener('click', () => options.onStatus(alert, status, button));
      actions.append(button);
    }
  }
  const titleCell = cell('title', { class: 'title' }, h('span', { class: 'alert-title', text: title }));
  if (alert.description) titleCell.append(h('span', { class: 'alert-description', text: alert.description }));
  const select = options.writable
    ? cell(
        'select',
        { class: 'select' },
        h('input', {
          type: 'checkbox',
          class: 'row-select',
          dataset: { id: alert.id },
          'aria-label': `Select alert: ${title}`,
          checked: options.selected,
          on: { change: (event) => options.onSelect(alert.id, event.currentTarget.checked) },
        }),
      )
    : null;
  return h(
    'tr',
    {
      class: ['alert-row', severityClass(alert.severity), statusClass(alert.status), options.fits ? null : 'off-filter'],
      dataset: { id: alert.id, status: String(alert.status), severity: String(alert.severity) },
    },
    select,
    cell('severity', { class: 'severity' }, h('span', { class: ['badge', severityClass(alert.severity)], text: alert.severity ?? '?' })),
    titleCell,
    cell(
      'source',
      { class: 'source', text: alert.source ?? '' },
      // Raised by AuroraSOC itself from its audit trail (README, "Detections").
      alert.source === DETECTION_SOURCE
        ? h('span', { class: ['pill', 'pill-warn', 'detected'], text: 'detected', title: 'Raised by AuroraSOC from its own audit trail' })
        : null,
    ),
    cell('status', {}, h('span', { class: ['pill', 'alert-status', statusClass(alert.status)], text: alert.status ?? '?' })),
    cell('assignee', { class: ['assignee', alert.assignee ? null : 'muted'], text: alert.assignee ?? '—' }),
    cell('created', { class: 'when' }, time(alert.created_at)),
    actions,
  );
}

/** A link (the flyout's address, so it opens in a new tab too) that opens the flyout in place. */
function detailsLink(alert, options) {
  return h('a', {
    href: options.detailsHref,
    class: ['details', 'button-link', 'small'],
    'aria-label': `Details of alert: ${alert.title ?? ''}`,
    text: 'Details',
    on: {
      click: (event) => {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        options.onDetails(alert.id);
      },
    },
  });
}
