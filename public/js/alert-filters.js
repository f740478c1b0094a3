// The filter controls of the alert list (#alerts-filters) ↔ the list's state (alert-state.js).
import { $, clear, h } from './dom.js';
import { fromLocalInput, toLocalInput } from './alert-state.js';

function showCustomRange(visible) {
  $('alerts-since-label').hidden = !visible;
  $('alerts-until-label').hidden = !visible;
}

/** A datetime-local input has minutes only: an exact time from the URL stays while it shows it. */
function fromInput(value, exact) {
  return exact && value === toLocalInput(exact) ? exact : fromLocalInput(value);
}

/**
 * The assignee filter (anyone, unassigned, me, the users who can take alerts, the URL's) and the
 * datalist the assign fields offer.
 */
export function renderAssigneeOptions(state, me, users) {
  const select = $('alerts-filter-assignee');
  const names = new Set([me, ...users.map((user) => user.username), state.assignee].filter((name) => name && name !== 'none'));
  const options = [h('option', { value: '', text: 'anyone' }), h('option', { value: 'none', text: 'unassigned' })];
  if (me) options.push(h('option', { value: me, text: 'me' }));
  for (const name of [...names].filter((name) => name !== me).sort()) options.push(h('option', { value: name, text: name }));
  clear(select).append(...options);
  select.value = state.assignee;
  clear($('alert-assignees')).append(...[...names].sort().map((name) => h('option', { value: name })));
}

/** The controls show a state (from the URL). */
export function showState(state, me, users) {
  $('alerts-filter-status').value = state.status;
  $('alerts-filter-severity').value = state.severity;
  renderAssigneeOptions(state, me, users);
  $('alerts-search').value = state.q;
  $('alerts-range').value = state.range;
  $('alerts-sort').value = state.sort;
  showCustomRange(state.range === 'custom');
  $('alerts-since').value = toLocalInput(state.since);
  $('alerts-until').value = toLocalInput(state.until);
  updateFiltersToggle(state);
}

/** The state the controls say, from the current one (which keeps what they do not show). */
export function readState(state) {
  const range = $('alerts-range').value;
  const next = {
    ...state,
    status: $('alerts-filter-status').value,
    severity: $('alerts-filter-severity').value,
    assignee: $('alerts-filter-assignee').value,
    q: $('alerts-search').value.trim().slice(0, 200),
    range,
    since: range === 'custom' ? fromInput($('alerts-since').value, state.since) : '',
    until: range === 'custom' ? fromInput($('alerts-until').value, state.until) : '',
    sort: $('alerts-sort').value || 'newest',
  };
  if (next.range === 'custom' && !next.since && !next.until) next.range = '';
  updateFiltersToggle(next);
  return next;
}

/** "Custom" range chosen: show From/To, starting from the last 24 hours rather than nothing. */
export function rangeChosen() {
  const custom = $('alerts-range').value === 'custom';
  showCustomRange(custom);
  if (custom && !$('alerts-since').value && !$('alerts-until').value) {
    $('alerts-since').value = toLocalInput(new Date(Date.now() - 86_400_000).toISOString());
  }
}

/** On phones the filters fold behind a button that says how many are set. */
function updateFiltersToggle(state) {
  const set = ['status', 'severity', 'assignee', 'range'].filter((key) => state[key]).length + (state.sort !== 'newest' ? 1 : 0);
  $('alerts-filters-toggle').textContent = set ? `Filters (${set})` : 'Filters';
}

export function initFiltersToggle() {
  const toggle = $('alerts-filters-toggle');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    $('alerts-filters').classList.toggle('filters-open', open);
  });
}
